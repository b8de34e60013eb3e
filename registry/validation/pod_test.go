package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPod(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{name: "valid", mutate: func(*corev1.Pod) {}},
		{name: "missing namespace", mutate: func(p *corev1.Pod) { p.Namespace = "" }, want: []string{"FieldValueRequired metadata.namespace"}},
		{name: "bad name", mutate: func(p *corev1.Pod) { p.Name = "Web_1" }, want: []string{"FieldValueInvalid metadata.name"}},
		{name: "no containers", mutate: func(p *corev1.Pod) { p.Spec.Containers = nil }, want: []string{"FieldValueRequired spec.containers"}},
		{name: "container name and image", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Name = "App"
			p.Spec.Containers[0].Image = ""
		}, want: []string{"FieldValueInvalid spec.containers[0].name", "FieldValueRequired spec.containers[0].image"}},
		{name: "image whitespace", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			want: []string{"FieldValueInvalid spec.containers[0].image"}},
		{name: "duplicate names across init and regular", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, validContainer("app"))
			p.Spec.InitContainers = []corev1.Container{validContainer("app")}
		}, want: []string{"FieldValueDuplicate spec.containers[1].name", "FieldValueDuplicate spec.initContainers[0].name"}},
		{name: "ports", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP},
				{Name: "http", ContainerPort: 0, Protocol: "ICMP"},
				{ContainerPort: 70000, HostPort: 8080, Protocol: corev1.ProtocolTCP},
				{ContainerPort: 81, HostPort: 8080, Protocol: corev1.ProtocolTCP},
			}
		}, want: []string{
			"FieldValueDuplicate spec.containers[0].ports[1].name",
			"FieldValueRequired spec.containers[0].ports[1].containerPort",
			"FieldValueNotSupported spec.containers[0].ports[1].protocol",
			"FieldValueInvalid spec.containers[0].ports[2].containerPort",
			"FieldValueDuplicate spec.containers[0].ports[3].hostPort",
		}},
		{name: "env", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: ""},
				{Name: "A=B"},
				{Name: "X", Value: "v", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
				{Name: "Y", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.bogus"}}},
				{Name: "Z", ValueFrom: &corev1.EnvVarSource{}},
			}
		}, want: []string{
			"FieldValueRequired spec.containers[0].env[0].name",
			"FieldValueInvalid spec.containers[0].env[1].name",
			"FieldValueInvalid spec.containers[0].env[2].valueFrom",
			"FieldValueNotSupported spec.containers[0].env[3].valueFrom.fieldRef.fieldPath",
			"FieldValueInvalid spec.containers[0].env[4].valueFrom",
		}},
		{name: "volume mounts must refer to volumes", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "data", MountPath: "/data"},
				{Name: "missing", MountPath: "/data"},
			}
		}, want: []string{"FieldValueNotFound spec.containers[0].volumeMounts[1].name", "FieldValueInvalid spec.containers[0].volumeMounts[1].mountPath"}},
		{name: "volumes need exactly one source and unique names", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{}},
				{Name: "b", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "d", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptr(int32(01000))}}},
				{Name: "e", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Items: []corev1.KeyToPath{{Key: "k", Path: "../x"}}}}},
			}
		}, want: []string{
			"FieldValueRequired spec.volumes[0]",
			"FieldValueForbidden spec.volumes[1].hostPath",
			"FieldValueDuplicate spec.volumes[3].name",
			"FieldValueRequired spec.volumes[4].secret.secretName",
			"FieldValueInvalid spec.volumes[4].secret.defaultMode",
			"FieldValueInvalid spec.volumes[5].configMap.items[0].path",
		}},
		{name: "resources", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: qty("1"), "bogus": qty("1")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: qty("2"), corev1.ResourceMemory: qty("-1")},
			}
		}, want: []string{
			"FieldValueInvalid spec.containers[0].resources.limits[bogus]",
			"FieldValueInvalid spec.containers[0].resources.limits[bogus]",
			"FieldValueInvalid spec.containers[0].resources.requests",
			"FieldValueInvalid spec.containers[0].resources.requests[memory]",
		}},
		{name: "probes", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{SuccessThreshold: 2}
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{SuccessThreshold: 1, ProbeHandler: corev1.ProbeHandler{
				Exec:      &corev1.ExecAction{Command: []string{"true"}},
				TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)},
			}}
			p.Spec.Containers[0].StartupProbe = &corev1.Probe{SuccessThreshold: 1, PeriodSeconds: -1, ProbeHandler: corev1.ProbeHandler{
				HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("web_port"), Scheme: "FTP"},
			}}
		}, want: []string{
			"FieldValueRequired spec.containers[0].livenessProbe",
			"FieldValueInvalid spec.containers[0].livenessProbe.successThreshold",
			"FieldValueForbidden spec.containers[0].readinessProbe.tcpSocket",
			"FieldValueRequired spec.containers[0].startupProbe.httpGet.path",
			"FieldValueInvalid spec.containers[0].startupProbe.httpGet.port",
			"FieldValueNotSupported spec.containers[0].startupProbe.httpGet.scheme",
			"FieldValueInvalid spec.containers[0].startupProbe.periodSeconds",
		}},
		{name: "init container probes need restartPolicy Always", mutate: func(p *corev1.Pod) {
			c := validContainer("init")
			c.LivenessProbe = &corev1.Probe{}
			p.Spec.InitContainers = []corev1.Container{c}
		}, want: []string{"FieldValueForbidden spec.initContainers[0].livenessProbe"}},
		{name: "sidecar probes are validated", mutate: func(p *corev1.Pod) {
			c := validContainer("sidecar")
			c.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			c.LivenessProbe = &corev1.Probe{SuccessThreshold: 1, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{}}}
			p.Spec.InitContainers = []corev1.Container{c}
		}, want: []string{"FieldValueRequired spec.initContainers[0].livenessProbe.exec.command"}},
		{name: "enums", mutate: func(p *corev1.Pod) {
			p.Spec.RestartPolicy = "Sometimes"
			p.Spec.DNSPolicy = ""
			p.Spec.Containers[0].ImagePullPolicy = "Maybe"
			p.Spec.Containers[0].TerminationMessagePolicy = ""
		}, want: []string{
			"FieldValueRequired spec.containers[0].terminationMessagePolicy",
			"FieldValueNotSupported spec.containers[0].imagePullPolicy",
			"FieldValueNotSupported spec.restartPolicy",
			"FieldValueRequired spec.dnsPolicy",
		}},
		{name: "grace period required and non-negative", mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(-5)) },
			want: []string{"FieldValueInvalid spec.terminationGracePeriodSeconds"}},
		{name: "grace period missing", mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil },
			want: []string{"FieldValueRequired spec.terminationGracePeriodSeconds"}},
		{name: "node selector and tolerations", mutate: func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"bad key!": "v"}
			p.Spec.Tolerations = []corev1.Toleration{
				{Operator: corev1.TolerationOpEqual, Value: "x"},
				{Key: "k", Operator: corev1.TolerationOpExists, Value: "v"},
				{Key: "k", Operator: corev1.TolerationOpEqual, TolerationSeconds: ptr(int64(5)), Effect: corev1.TaintEffectNoSchedule},
				{Key: "k", Operator: "Like", Effect: "Sometimes"},
			}
		}, want: []string{
			"FieldValueInvalid spec.nodeSelector",
			"FieldValueInvalid spec.tolerations[0].operator",
			"FieldValueInvalid spec.tolerations[1].operator",
			"FieldValueInvalid spec.tolerations[2].effect",
			"FieldValueNotSupported spec.tolerations[3].operator",
			"FieldValueNotSupported spec.tolerations[3].effect",
		}},
		{name: "affinity", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}},
				PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
					{Weight: 0, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{}}},
				}},
			}
		}, want: []string{
			"FieldValueRequired spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
			"FieldValueInvalid spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
			"FieldValueRequired spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey",
			// the empty label name fails both the non-empty and the format rule
			"FieldValueInvalid spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey",
			"FieldValueInvalid spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey",
		}},
		{name: "security context", mutate: func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(-1)), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}}
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true), AllowPrivilegeEscalation: ptr(false)}
		}, want: []string{
			"FieldValueInvalid spec.containers[0].securityContext",
			"FieldValueInvalid spec.securityContext.runAsUser",
			"FieldValueRequired spec.securityContext.seccompProfile.localhostProfile",
		}},
		{name: "hostname, subdomain, service account", mutate: func(p *corev1.Pod) {
			p.Spec.Hostname = "Host"
			p.Spec.Subdomain = "a.b"
			p.Spec.ServiceAccountName = "Bad_SA"
			p.Spec.DeprecatedServiceAccount = "Bad_SA" //nolint:staticcheck
		}, want: []string{
			"FieldValueInvalid spec.serviceAccountName",
			"FieldValueInvalid spec.hostname",
			"FieldValueInvalid spec.subdomain",
		}},
		{name: "ephemeral containers forbidden on create", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(validContainer("debug"))}}
		}, want: []string{"FieldValueForbidden spec.ephemeralContainers"}},
		{name: "dnsPolicy None needs config", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			want: []string{"FieldValueRequired spec.dnsConfig"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPod()
			tc.mutate(p)
			checkErrs(t, Pod(p), tc.want)
		})
	}
}

func TestPodUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{name: "image change allowed", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }},
		{name: "activeDeadlineSeconds may be set", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(30)) }},
		{name: "tolerations may be added", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}},
		{name: "labels may change", mutate: func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }},
		{name: "other spec fields are forbidden", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{"FieldValueForbidden spec"}},
		{name: "containers may not be added", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, validContainer("two"))
		}, want: []string{"FieldValueForbidden spec.containers"}},
		{name: "empty image", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want: []string{"FieldValueRequired spec.containers[0].image", "FieldValueRequired spec.containers[0].image"}},
		{name: "name immutable", mutate: func(p *corev1.Pod) { p.Name = "other" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "grace period from negative to 1", mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(1)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			if tc.name == "grace period from negative to 1" {
				old.Spec.TerminationGracePeriodSeconds = ptr(int64(-1))
			}
			p := old.DeepCopy()
			tc.mutate(p)
			checkErrs(t, PodUpdate(p, old), tc.want)
		})
	}
}

func TestPodUpdateExistingToleration(t *testing.T) {
	old := validPod()
	old.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(10))}}
	p := old.DeepCopy()
	p.Spec.Tolerations[0].TolerationSeconds = ptr(int64(20))
	checkErrs(t, PodUpdate(p, old), nil)
	p.Spec.Tolerations[0].Key = "other"
	checkErrs(t, PodUpdate(p, old), []string{"FieldValueForbidden spec.tolerations"})
}

func TestPodStatusUpdate(t *testing.T) {
	old := validPod()
	p := old.DeepCopy()
	p.Status.PodIP = "10.1.0.5"
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.1.0.5"}}
	p.Status.Conditions = []corev1.PodCondition{{Type: "example.com/ready", Status: corev1.ConditionTrue}}
	checkErrs(t, PodStatusUpdate(p, old), nil)

	p.Spec.NodeName = "node-1"
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.1.0.6"}, {IP: "10.1.0.7"}}
	p.Status.Conditions = []corev1.PodCondition{{Type: "bad type!"}}
	checkErrs(t, PodStatusUpdate(p, old), []string{
		"FieldValueInvalid status.conditions[0].Type",
		"FieldValueForbidden status.nodeName",
		"FieldValueInvalid status.podIPs",
		"FieldValueInvalid status.podIPs[0].ip",
	})
}

func TestBinding(t *testing.T) {
	tests := []struct {
		name   string
		target corev1.ObjectReference
		want   []string
	}{
		{name: "node", target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}},
		{name: "empty kind", target: corev1.ObjectReference{Name: "node-1"}},
		{name: "wrong kind", target: corev1.ObjectReference{Kind: "Pod", Name: "x"}, want: []string{"FieldValueNotSupported target.kind"}},
		{name: "no name", target: corev1.ObjectReference{Kind: "Node"}, want: []string{"FieldValueRequired target.name"}},
		{name: "bad name", target: corev1.ObjectReference{Name: "Node_1"}, want: []string{"FieldValueInvalid target.name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, Binding(&corev1.Binding{Target: tc.target}), tc.want)
		})
	}
}
