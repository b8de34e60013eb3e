package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// LimitRange defaults a limit range. For each item of type Container:
//   - a resource with a max but no default limit gets default = max;
//   - a resource with a default limit but no default request gets
//     defaultRequest = default;
//   - a resource still without a default request but with a min gets
//     defaultRequest = min.
//
// All quantities of every item are then rounded up to milli precision.
func LimitRange(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		if item.Type == corev1.LimitTypeContainer {
			if item.Default == nil {
				item.Default = corev1.ResourceList{}
			}
			if item.DefaultRequest == nil {
				item.DefaultRequest = corev1.ResourceList{}
			}
			fillMissing(item.Default, item.Max)
			fillMissing(item.DefaultRequest, item.Default)
			fillMissing(item.DefaultRequest, item.Min)
		}
		roundResources(item.Max)
		roundResources(item.Min)
		roundResources(item.Default)
		roundResources(item.DefaultRequest)
		roundResources(item.MaxLimitRequestRatio)
	}
}

// fillMissing copies into dst each quantity of src whose resource dst lacks.
func fillMissing(dst, src corev1.ResourceList) {
	for name, q := range src {
		if _, ok := dst[name]; !ok {
			dst[name] = q.DeepCopy()
		}
	}
}

// ResourceQuota defaults a resource quota: the hard limits of spec and
// status and the used amounts are rounded up to milli precision.
func ResourceQuota(rq *corev1.ResourceQuota) {
	roundResources(rq.Spec.Hard)
	roundResources(rq.Status.Hard)
	roundResources(rq.Status.Used)
}
