package defaults

import (
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ResourceClaim defaults a resource.k8s.io/v1 claim: see deviceClaim, and
// the tolerations of its allocation results default to operator Equal.
func ResourceClaim(c *resourcev1.ResourceClaim) {
	deviceClaim(&c.Spec.Devices)
	if a := c.Status.Allocation; a != nil {
		for i := range a.Devices.Results {
			deviceTolerations(a.Devices.Results[i].Tolerations)
		}
	}
}

// ResourceClaimTemplate defaults the claim spec of a template like a
// claim's.
func ResourceClaimTemplate(t *resourcev1.ResourceClaimTemplate) {
	deviceClaim(&t.Spec.Spec.Devices)
}

// deviceClaim defaults every request: allocation mode ExactCount, a count
// of one for ExactCount, and tolerations with operator Equal; the same for
// each alternative of a firstAvailable request.
func deviceClaim(c *resourcev1.DeviceClaim) {
	for i := range c.Requests {
		r := &c.Requests[i]
		if e := r.Exactly; e != nil {
			allocationMode(&e.AllocationMode, &e.Count)
			deviceTolerations(e.Tolerations)
		}
		for j := range r.FirstAvailable {
			s := &r.FirstAvailable[j]
			allocationMode(&s.AllocationMode, &s.Count)
			deviceTolerations(s.Tolerations)
		}
	}
}

func allocationMode(mode *resourcev1.DeviceAllocationMode, count *int64) {
	if *mode == "" {
		*mode = resourcev1.DeviceAllocationModeExactCount
	}
	if *mode == resourcev1.DeviceAllocationModeExactCount && *count == 0 {
		*count = 1
	}
}

func deviceTolerations(ts []resourcev1.DeviceToleration) {
	for i := range ts {
		if ts[i].Operator == "" {
			ts[i].Operator = resourcev1.DeviceTolerationOpEqual
		}
	}
}

// ResourceSlice defaults the taints of a slice's devices: timeAdded is the
// time of defaulting, in whole seconds.
func ResourceSlice(s *resourcev1.ResourceSlice) {
	now := time.Now()
	for i := range s.Spec.Devices {
		for j := range s.Spec.Devices[i].Taints {
			deviceTaint(&s.Spec.Devices[i].Taints[j], now)
		}
	}
}

// DeviceTaintRule defaults the rule's taint like a device's.
func DeviceTaintRule(r *resourcev1.DeviceTaintRule) {
	deviceTaint(&r.Spec.Taint, time.Now())
}

// deviceTaint sets timeAdded to now, truncated to the second, the
// resolution that survives encoding.
func deviceTaint(t *resourcev1.DeviceTaint, now time.Time) {
	if t.TimeAdded == nil {
		t.TimeAdded = &metav1.Time{Time: now.Truncate(time.Second)}
	}
}
