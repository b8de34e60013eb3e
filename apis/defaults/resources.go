package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// milliScale is the precision every stored resource quantity is rounded up to.
const milliScale resource.Scale = -3

// roundResources rounds every quantity in rl up to milli precision, so that
// "1.0001" CPUs is stored as "1001m". Upstream keeps this for API
// compatibility instead of rejecting values that need rounding.
func roundResources(rl corev1.ResourceList) {
	for name, q := range rl {
		q.RoundUp(milliScale)
		rl[name] = q
	}
}

// roundRequirements rounds the limits and requests of r; r may be nil.
func roundRequirements(r *corev1.ResourceRequirements) {
	if r == nil {
		return
	}
	roundResources(r.Limits)
	roundResources(r.Requests)
}

// requestsFromLimits sets, for each resource that has a limit but no request,
// the request equal to the limit.
func requestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = make(corev1.ResourceList, len(r.Limits))
	}
	for name, limit := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = limit.DeepCopy()
		}
	}
}

// setIfEmpty stores v in *p when *p is the empty string.
func setIfEmpty[T ~string](p *T, v T) {
	if *p == "" {
		*p = v
	}
}

// setIfNil points *p at a new copy of v when *p is nil.
func setIfNil[T any](p **T, v T) {
	if *p == nil {
		*p = &v
	}
}
