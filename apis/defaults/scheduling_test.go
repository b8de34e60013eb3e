package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
)

func TestPriorityClass(t *testing.T) {
	runCases(t, PriorityClass, []defaultCase[schedulingv1.PriorityClass]{{
		name: "preemptionPolicy PreemptLowerPriority",
		in:   schedulingv1.PriorityClass{Value: 1000},
		want: schedulingv1.PriorityClass{Value: 1000, PreemptionPolicy: new(corev1.PreemptLowerPriority)},
	}, {
		name: "preemptionPolicy kept",
		in:   schedulingv1.PriorityClass{PreemptionPolicy: new(corev1.PreemptNever)},
		want: schedulingv1.PriorityClass{PreemptionPolicy: new(corev1.PreemptNever)},
	}})
}
