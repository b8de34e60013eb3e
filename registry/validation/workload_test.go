package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validRC() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr(int32(2)),
			Selector: map[string]string{"app": "web"},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       validPodSpec(),
			},
		},
	}
}

func TestReplicationController(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(rc *corev1.ReplicationController)
		want   []string
	}{
		{name: "valid", mutate: func(*corev1.ReplicationController) {}},
		{name: "selector must match template", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template.Labels = map[string]string{"app": "db"} },
			want: []string{"FieldValueInvalid spec.template.metadata.labels"}},
		{name: "selector required", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Selector = nil },
			want: []string{"FieldValueRequired spec.selector"}},
		{name: "replicas", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Replicas = ptr(int32(-1)) },
			want: []string{"FieldValueInvalid spec.replicas"}},
		{name: "restart policy must be Always", mutate: func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			rc.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(10))
		}, want: []string{"FieldValueNotSupported spec.template.spec.restartPolicy", "FieldValueForbidden spec.template.spec.activeDeadlineSeconds"}},
		{name: "template pod spec is validated", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.Containers[0].Name = "" },
			want: []string{"FieldValueRequired spec.template.spec.containers[0].name"}},
		{name: "template is required", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template = nil },
			want: []string{"FieldValueRequired spec.template"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := validRC()
			tc.mutate(rc)
			checkErrs(t, ReplicationController(rc), tc.want)
		})
	}

	old := validRC()
	rc := old.DeepCopy()
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 1}
	checkErrs(t, ReplicationControllerStatusUpdate(rc, old), []string{"FieldValueInvalid status.readyReplicas"})
	rc = old.DeepCopy()
	rc.Spec.Replicas = ptr(int32(5))
	checkErrs(t, ReplicationControllerUpdate(rc, old), nil)
}

func TestPodTemplate(t *testing.T) {
	pt := &corev1.PodTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "tmpl", Namespace: "default", ResourceVersion: "1"},
		Template:   corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}}, Spec: validPodSpec()},
	}
	checkErrs(t, PodTemplate(pt), nil)
	bad := pt.DeepCopy()
	bad.Template.Labels = map[string]string{"a": "bad value!"}
	bad.Template.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(validContainer("dbg"))}}
	checkErrs(t, PodTemplateUpdate(bad, pt), []string{"FieldValueInvalid template.labels", "FieldValueForbidden template.spec.ephemeralContainers"})
}

func TestPodSpecExported(t *testing.T) {
	spec := validPodSpec()
	spec.HostNetwork = true
	spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
	// Templates tolerate an unset hostPort with hostNetwork; pods do not.
	checkErrs(t, PodSpec(&spec, nil, field.NewPath("spec", "template", "spec")), nil)
	pod := validPod()
	pod.Spec = spec
	checkErrs(t, Pod(pod), []string{"FieldValueInvalid spec.containers[0].ports[0].hostPort"})
}
