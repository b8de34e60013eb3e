package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// specWith wraps containers in a pod spec for PodSpec tables.
func specWith(cs ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{Containers: cs}
}

func TestPodSpecContainers(t *testing.T) {
	httpGet := func() *corev1.HTTPGetAction { return &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)} }
	wantGet := func() *corev1.HTTPGetAction {
		return &corev1.HTTPGetAction{Port: intstr.FromInt32(8080), Path: "/", Scheme: corev1.URISchemeHTTP}
	}
	wantProbe := func(h corev1.ProbeHandler) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: h, TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
	}
	base := container("app", "registry.example.com/app:v1")

	runCases(t, PodSpec, []defaultCase[corev1.PodSpec]{{
		name: "probes get thresholds, httpGet path and scheme, grpc service",
		in: specWith(func() corev1.Container {
			c := base
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: httpGet()}}
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}}
			c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(22)}}}
			return c
		}()),
		want: defaultedSpec(specWith(func() corev1.Container {
			c := defaulted(base, corev1.PullIfNotPresent)
			c.LivenessProbe = wantProbe(corev1.ProbeHandler{HTTPGet: wantGet()})
			c.ReadinessProbe = wantProbe(corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090, Service: new("")}})
			c.StartupProbe = wantProbe(corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(22)}})
			return c
		}())),
	}, {
		name: "probe values that are set are kept",
		in: specWith(func() corev1.Container {
			c := base
			c.LivenessProbe = &corev1.Probe{
				ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Scheme: corev1.URISchemeHTTPS}},
				TimeoutSeconds: 5, PeriodSeconds: 30, SuccessThreshold: 2, FailureThreshold: 7,
			}
			return c
		}()),
		want: defaultedSpec(specWith(func() corev1.Container {
			c := defaulted(base, corev1.PullIfNotPresent)
			c.LivenessProbe = &corev1.Probe{
				ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Scheme: corev1.URISchemeHTTPS}},
				TimeoutSeconds: 5, PeriodSeconds: 30, SuccessThreshold: 2, FailureThreshold: 7,
			}
			return c
		}())),
	}, {
		name: "lifecycle httpGet handlers are defaulted",
		in: specWith(func() corev1.Container {
			c := base
			c.Lifecycle = &corev1.Lifecycle{
				PostStart: &corev1.LifecycleHandler{HTTPGet: httpGet()},
				PreStop:   &corev1.LifecycleHandler{HTTPGet: httpGet()},
			}
			return c
		}()),
		want: defaultedSpec(specWith(func() corev1.Container {
			c := defaulted(base, corev1.PullIfNotPresent)
			c.Lifecycle = &corev1.Lifecycle{
				PostStart: &corev1.LifecycleHandler{HTTPGet: wantGet()},
				PreStop:   &corev1.LifecycleHandler{HTTPGet: wantGet()},
			}
			return c
		}())),
	}, {
		name: "env fieldRef apiVersion and fileKeyRef optional",
		in: specWith(func() corev1.Container {
			c := base
			c.Env = []corev1.EnvVar{
				{Name: "PLAIN", Value: "x"},
				{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
				{Name: "FILE", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}},
			}
			return c
		}()),
		want: defaultedSpec(specWith(func() corev1.Container {
			c := defaulted(base, corev1.PullIfNotPresent)
			c.Env = []corev1.EnvVar{
				{Name: "PLAIN", Value: "x"},
				{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}},
				{Name: "FILE", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k", Optional: new(false)}}},
			}
			return c
		}())),
	}, {
		name: "ports get TCP, set protocols and termination settings are kept",
		in: specWith(func() corev1.Container {
			c := base
			c.Ports = []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 53, Protocol: corev1.ProtocolUDP}}
			c.TerminationMessagePath = "/tmp/msg"
			c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
			return c
		}()),
		want: defaultedSpec(specWith(func() corev1.Container {
			c := base
			c.ImagePullPolicy = corev1.PullIfNotPresent
			c.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}, {ContainerPort: 53, Protocol: corev1.ProtocolUDP}}
			c.TerminationMessagePath = "/tmp/msg"
			c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
			return c
		}())),
	}, {
		name: "ephemeral and init containers get container defaults",
		in: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox", ReadinessProbe: &corev1.Probe{}}},
			EphemeralContainers: []corev1.EphemeralContainer{{TargetContainerName: "app", EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox:1.36",
				Env: []corev1.EnvVar{{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}},
			}}},
		},
		want: defaultedSpec(corev1.PodSpec{
			InitContainers: []corev1.Container{defaulted(corev1.Container{Name: "init", Image: "busybox", ReadinessProbe: wantProbe(corev1.ProbeHandler{})}, corev1.PullAlways)},
			EphemeralContainers: []corev1.EphemeralContainer{{TargetContainerName: "app", EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox:1.36",
				Env:                      []corev1.EnvVar{{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"}}}},
				ImagePullPolicy:          corev1.PullIfNotPresent,
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}}},
		}),
	}})
}
