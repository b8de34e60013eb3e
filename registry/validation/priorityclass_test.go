package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validPriorityClass() *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{
		ObjectMeta:       metav1.ObjectMeta{Name: "batch-high", ResourceVersion: "1"},
		Value:            1000000000,
		PreemptionPolicy: ptr(corev1.PreemptLowerPriority),
	}
}

func TestPriorityClass(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(pc *schedulingv1.PriorityClass)
		want   []string
	}{
		{name: "valid", mutate: func(*schedulingv1.PriorityClass) {}},
		{name: "negative values are fine", mutate: func(pc *schedulingv1.PriorityClass) { pc.Value = -5 }},
		{name: "namespace forbidden", mutate: func(pc *schedulingv1.PriorityClass) { pc.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "user value too high", mutate: func(pc *schedulingv1.PriorityClass) { pc.Value = 1000000001 },
			want: []string{"FieldValueForbidden value"}},
		{name: "system node critical", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value = "system-node-critical", 2000001000
		}},
		{name: "system cluster critical", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value = "system-cluster-critical", 2000000000
		}},
		{name: "system class with wrong value", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value = "system-cluster-critical", 2000001000
		}, want: []string{"FieldValueForbidden metadata.name"}},
		{name: "system class as global default", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Name, pc.Value, pc.GlobalDefault = "system-node-critical", 2000001000, true
		}, want: []string{"FieldValueForbidden metadata.name"}},
		{name: "unknown system name", mutate: func(pc *schedulingv1.PriorityClass) { pc.Name = "system-mine" },
			want: []string{"FieldValueForbidden metadata.name"}},
		{name: "preemption policy", mutate: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptionPolicy("Sometimes")) },
			want: []string{"FieldValueNotSupported preemptionPolicy"}},
		{name: "empty preemption policy", mutate: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptionPolicy("")) },
			want: []string{"FieldValueRequired preemptionPolicy"}},
		{name: "bad name", mutate: func(pc *schedulingv1.PriorityClass) { pc.Name = "High" },
			want: []string{"FieldValueInvalid metadata.name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pc := validPriorityClass()
			tc.mutate(pc)
			checkErrs(t, PriorityClass(pc), tc.want)
		})
	}
}

func TestPriorityClassUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(pc *schedulingv1.PriorityClass)
		want   []string
	}{
		{name: "description and default may change", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Description, pc.GlobalDefault = "new", true
		}},
		{name: "value immutable", mutate: func(pc *schedulingv1.PriorityClass) { pc.Value = 10 },
			want: []string{"FieldValueForbidden value"}},
		{name: "preemption policy immutable", mutate: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptNever) },
			want: []string{"FieldValueInvalid preemptionPolicy"}},
		{name: "name immutable", mutate: func(pc *schedulingv1.PriorityClass) { pc.Name = "other" },
			want: []string{"FieldValueInvalid metadata.name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validPriorityClass()
			pc := old.DeepCopy()
			tc.mutate(pc)
			checkErrs(t, PriorityClassUpdate(pc, old), tc.want)
		})
	}
}
