package defaults

import (
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
)

// PriorityClass defaults a scheduling.k8s.io/v1 priority class:
// preemptionPolicy PreemptLowerPriority.
func PriorityClass(pc *schedulingv1.PriorityClass) {
	setIfNil(&pc.PreemptionPolicy, corev1.PreemptLowerPriority)
}
