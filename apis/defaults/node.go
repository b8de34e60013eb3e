package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Node defaults a node: a status with capacity but no allocatable gets
// allocatable equal to capacity, and both are rounded up to milli precision.
func Node(n *corev1.Node) {
	st := &n.Status
	if st.Allocatable == nil && st.Capacity != nil {
		st.Allocatable = st.Capacity.DeepCopy()
	}
	roundResources(st.Capacity)
	roundResources(st.Allocatable)
}
