package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// container is a container as a client sends it: only a name and an image.
func container(name, image string) corev1.Container {
	return corev1.Container{Name: name, Image: image}
}

// defaulted is c with the container defaults that apply to every container.
func defaulted(c corev1.Container, policy corev1.PullPolicy) corev1.Container {
	c.ImagePullPolicy = policy
	c.TerminationMessagePath = "/dev/termination-log"
	c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	return c
}

// defaultedSpec is spec with the PodSpec-level defaults set; containers are
// left to the caller.
func defaultedSpec(spec corev1.PodSpec) corev1.PodSpec {
	spec.DNSPolicy = corev1.DNSClusterFirst
	spec.RestartPolicy = corev1.RestartPolicyAlways
	spec.SchedulerName = "default-scheduler"
	spec.SecurityContext = &corev1.PodSecurityContext{}
	spec.TerminationGracePeriodSeconds = new(int64(30))
	return spec
}

// defaultedPodSpec is defaultedSpec plus the pod-only enableServiceLinks.
func defaultedPodSpec(spec corev1.PodSpec) corev1.PodSpec {
	spec = defaultedSpec(spec)
	spec.EnableServiceLinks = new(true)
	return spec
}

func TestPod(t *testing.T) {
	limits := corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("128Mi")}
	runCases(t, Pod, []defaultCase[corev1.Pod]{{
		name: "minimal pod gets every spec default",
		in:   corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", "nginx")}}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{
			Containers: []corev1.Container{defaulted(container("app", "nginx"), corev1.PullAlways)},
		})},
	}, {
		name: "set fields are kept",
		in: corev1.Pod{Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{defaulted(container("app", "nginx:1.27"), corev1.PullNever)},
			DNSPolicy:                     corev1.DNSDefault,
			RestartPolicy:                 corev1.RestartPolicyNever,
			SchedulerName:                 "custom",
			SecurityContext:               &corev1.PodSecurityContext{RunAsUser: new(int64(1000))},
			TerminationGracePeriodSeconds: new(int64(0)),
			EnableServiceLinks:            new(false),
			ServiceAccountName:            "builder",
		}},
		want: corev1.Pod{Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{defaulted(container("app", "nginx:1.27"), corev1.PullNever)},
			DNSPolicy:                     corev1.DNSDefault,
			RestartPolicy:                 corev1.RestartPolicyNever,
			SchedulerName:                 "custom",
			SecurityContext:               &corev1.PodSecurityContext{RunAsUser: new(int64(1000))},
			TerminationGracePeriodSeconds: new(int64(0)),
			EnableServiceLinks:            new(false),
			ServiceAccountName:            "builder",
			DeprecatedServiceAccount:      "builder",
		}},
	}, {
		name: "negative grace period becomes 1",
		in:   corev1.Pod{Spec: corev1.PodSpec{TerminationGracePeriodSeconds: new(int64(-5))}},
		want: corev1.Pod{Spec: func() corev1.PodSpec {
			s := defaultedPodSpec(corev1.PodSpec{})
			s.TerminationGracePeriodSeconds = new(int64(1))
			return s
		}()},
	}, {
		name: "deprecated serviceAccount fills serviceAccountName",
		in:   corev1.Pod{Spec: corev1.PodSpec{DeprecatedServiceAccount: "old"}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{ServiceAccountName: "old", DeprecatedServiceAccount: "old"})},
	}, {
		name: "serviceAccountName wins over deprecated serviceAccount",
		in:   corev1.Pod{Spec: corev1.PodSpec{ServiceAccountName: "new", DeprecatedServiceAccount: "old"}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{ServiceAccountName: "new", DeprecatedServiceAccount: "new"})},
	}, {
		name: "requests default to limits in containers and init containers",
		in: corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1", Resources: corev1.ResourceRequirements{Limits: limits}}},
			Containers: []corev1.Container{{Name: "app", Image: "busybox:1", Resources: corev1.ResourceRequirements{
				Limits:   limits,
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("100m")},
			}}},
		}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{
			InitContainers: []corev1.Container{defaulted(corev1.Container{Name: "init", Image: "busybox:1", Resources: corev1.ResourceRequirements{
				Limits: limits, Requests: limits,
			}}, corev1.PullIfNotPresent)},
			Containers: []corev1.Container{defaulted(corev1.Container{Name: "app", Image: "busybox:1", Resources: corev1.ResourceRequirements{
				Limits:   limits,
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("100m"), corev1.ResourceMemory: q("128Mi")},
			}}, corev1.PullIfNotPresent)},
		})},
	}, {
		name: "quantities are rounded up to milli precision",
		in: corev1.Pod{Spec: corev1.PodSpec{
			Overhead:   corev1.ResourceList{corev1.ResourceCPU: q("0.0001")},
			Resources:  &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("1.0001")}},
			Containers: []corev1.Container{{Name: "app", Image: "a:1", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("10.5001")}}}},
		}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{
			Overhead:  corev1.ResourceList{corev1.ResourceCPU: q("1m")},
			Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("1001m")}},
			Containers: []corev1.Container{defaulted(corev1.Container{Name: "app", Image: "a:1", Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: q("10501m")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("10501m")},
			}}, corev1.PullIfNotPresent)},
		})},
	}, {
		name: "hostNetwork copies container ports to host ports, not for ephemeral containers",
		in: corev1.Pod{Spec: corev1.PodSpec{
			HostNetwork:    true,
			InitContainers: []corev1.Container{{Name: "init", Image: "a:1", Ports: []corev1.ContainerPort{{ContainerPort: 9000}}}},
			Containers: []corev1.Container{{Name: "app", Image: "a:1", Ports: []corev1.ContainerPort{
				{ContainerPort: 8080},
				{ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP},
			}}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "a:1", Ports: []corev1.ContainerPort{{ContainerPort: 7000}},
			}}},
		}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{
			HostNetwork: true,
			InitContainers: []corev1.Container{defaulted(corev1.Container{Name: "init", Image: "a:1", Ports: []corev1.ContainerPort{
				{ContainerPort: 9000, HostPort: 9000, Protocol: corev1.ProtocolTCP},
			}}, corev1.PullIfNotPresent)},
			Containers: []corev1.Container{defaulted(corev1.Container{Name: "app", Image: "a:1", Ports: []corev1.ContainerPort{
				{ContainerPort: 8080, HostPort: 8080, Protocol: corev1.ProtocolTCP},
				{ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP},
			}}, corev1.PullIfNotPresent)},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "a:1", Ports: []corev1.ContainerPort{{ContainerPort: 7000, Protocol: corev1.ProtocolTCP}},
				ImagePullPolicy:          corev1.PullIfNotPresent,
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}}},
		})},
	}, {
		name: "podIPs defaulted from podIP",
		in:   corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1"}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{}), Status: corev1.PodStatus{
			PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
		}},
	}, {
		name: "podIP defaulted from podIPs",
		in:   corev1.Pod{Status: corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{}), Status: corev1.PodStatus{
			PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}},
		}},
	}, {
		name: "mismatched podIPs replaced by podIP",
		in:   corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.2", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{}), Status: corev1.PodStatus{
			PodIP: "10.0.0.2", PodIPs: []corev1.PodIP{{IP: "10.0.0.2"}},
		}},
	}, {
		name: "status resources are rounded",
		in: corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name:               "app",
			AllocatedResources: corev1.ResourceList{corev1.ResourceCPU: q("0.0001")},
			Resources:          &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("0.0001")}},
		}}}},
		want: corev1.Pod{Spec: defaultedPodSpec(corev1.PodSpec{}), Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name:               "app",
			AllocatedResources: corev1.ResourceList{corev1.ResourceCPU: q("1m")},
			Resources:          &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("1m")}},
		}}}},
	}})
}

// TestPodTemplateSpec checks that templates get the PodSpec defaults but none
// of the pod-only ones.
func TestPodTemplateSpec(t *testing.T) {
	limits := corev1.ResourceList{corev1.ResourceCPU: q("1")}
	runCases(t, PodTemplateSpec, []defaultCase[corev1.PodTemplateSpec]{{
		name: "no enableServiceLinks, request copying or host ports",
		in: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			HostNetwork:                   true,
			TerminationGracePeriodSeconds: new(int64(-1)),
			Containers: []corev1.Container{{Name: "app", Image: "a:1",
				Ports:     []corev1.ContainerPort{{ContainerPort: 80}},
				Resources: corev1.ResourceRequirements{Limits: limits},
			}},
		}},
		want: corev1.PodTemplateSpec{Spec: func() corev1.PodSpec {
			s := defaultedSpec(corev1.PodSpec{
				HostNetwork: true,
				Containers: []corev1.Container{defaulted(corev1.Container{Name: "app", Image: "a:1",
					Ports:     []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
					Resources: corev1.ResourceRequirements{Limits: limits},
				}, corev1.PullIfNotPresent)},
			})
			s.TerminationGracePeriodSeconds = new(int64(-1))
			return s
		}()},
	}})
}

func TestPodTemplate(t *testing.T) {
	runCases(t, PodTemplate, []defaultCase[corev1.PodTemplate]{{
		name: "template spec is defaulted",
		in: corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{container("app", "nginx:latest")},
		}}},
		want: corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{
			Containers: []corev1.Container{defaulted(container("app", "nginx:latest"), corev1.PullAlways)},
		})}},
	}})
}
