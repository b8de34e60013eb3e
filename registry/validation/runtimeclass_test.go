package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validRuntimeClass() *nodev1.RuntimeClass {
	return &nodev1.RuntimeClass{
		ObjectMeta: metav1.ObjectMeta{Name: "gvisor", ResourceVersion: "1"},
		Handler:    "runsc",
		Overhead:   &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: qty("250m"), corev1.ResourceMemory: qty("120Mi")}},
		Scheduling: &nodev1.Scheduling{
			NodeSelector: map[string]string{"runtime": "gvisor"},
			Tolerations:  []corev1.Toleration{{Key: "runtime", Operator: corev1.TolerationOpEqual, Value: "gvisor", Effect: corev1.TaintEffectNoSchedule}},
		},
	}
}

func TestRuntimeClass(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(rc *nodev1.RuntimeClass)
		want   []string
	}{
		{name: "valid", mutate: func(*nodev1.RuntimeClass) {}},
		{name: "minimal", mutate: func(rc *nodev1.RuntimeClass) { rc.Overhead, rc.Scheduling = nil, nil }},
		{name: "namespace forbidden", mutate: func(rc *nodev1.RuntimeClass) { rc.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "handler required", mutate: func(rc *nodev1.RuntimeClass) { rc.Handler = "" },
			want: []string{"FieldValueRequired handler"}},
		{name: "handler is a DNS label", mutate: func(rc *nodev1.RuntimeClass) { rc.Handler = "run.sc" },
			want: []string{"FieldValueInvalid handler"}},
		{name: "negative overhead", mutate: func(rc *nodev1.RuntimeClass) { rc.Overhead.PodFixed[corev1.ResourceCPU] = qty("-1") },
			want: []string{"FieldValueInvalid overhead.limits[cpu]"}},
		{name: "bad node selector", mutate: func(rc *nodev1.RuntimeClass) { rc.Scheduling.NodeSelector = map[string]string{"a b": "x"} },
			want: []string{"FieldValueInvalid scheduling.nodeSelector"}},
		{name: "bad toleration", mutate: func(rc *nodev1.RuntimeClass) { rc.Scheduling.Tolerations[0].Effect = "Sometimes" },
			want: []string{"FieldValueNotSupported scheduling.tolerations[0].effect"}},
		{name: "duplicate toleration", mutate: func(rc *nodev1.RuntimeClass) {
			t := rc.Scheduling.Tolerations[0]
			t.TolerationSeconds = nil
			rc.Scheduling.Tolerations = append(rc.Scheduling.Tolerations, t)
		}, want: []string{"FieldValueDuplicate scheduling.tolerations[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := validRuntimeClass()
			tc.mutate(rc)
			checkErrs(t, RuntimeClass(rc), tc.want)
		})
	}
}

func TestRuntimeClassUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(rc *nodev1.RuntimeClass)
		want   []string
	}{
		{name: "overhead may change", mutate: func(rc *nodev1.RuntimeClass) { rc.Overhead = nil }},
		{name: "handler immutable", mutate: func(rc *nodev1.RuntimeClass) { rc.Handler = "kata" },
			want: []string{"FieldValueInvalid handler"}},
		{name: "new object revalidated", mutate: func(rc *nodev1.RuntimeClass) { rc.Scheduling.Tolerations[0].Effect = "Sometimes" },
			want: []string{"FieldValueNotSupported scheduling.tolerations[0].effect"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validRuntimeClass()
			rc := old.DeepCopy()
			tc.mutate(rc)
			checkErrs(t, RuntimeClassUpdate(rc, old), tc.want)
		})
	}
}
