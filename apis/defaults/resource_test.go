package defaults

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestResourceClaim(t *testing.T) {
	exact := func(e resourcev1.ExactDeviceRequest) resourcev1.ResourceClaim {
		return resourcev1.ResourceClaim{Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
			Requests: []resourcev1.DeviceRequest{{Name: "r", Exactly: &e}}}}}
	}
	runCases(t, ResourceClaim, []defaultCase[resourcev1.ResourceClaim]{{
		name: "exact count of one, tolerations Equal",
		in:   exact(resourcev1.ExactDeviceRequest{DeviceClassName: "c", Tolerations: []resourcev1.DeviceToleration{{Key: "k"}}}),
		want: exact(resourcev1.ExactDeviceRequest{DeviceClassName: "c", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1,
			Tolerations: []resourcev1.DeviceToleration{{Key: "k", Operator: resourcev1.DeviceTolerationOpEqual}}}),
	}, {
		name: "mode All has no count",
		in:   exact(resourcev1.ExactDeviceRequest{DeviceClassName: "c", AllocationMode: resourcev1.DeviceAllocationModeAll}),
		want: exact(resourcev1.ExactDeviceRequest{DeviceClassName: "c", AllocationMode: resourcev1.DeviceAllocationModeAll}),
	}, {
		name: "set count kept",
		in:   exact(resourcev1.ExactDeviceRequest{DeviceClassName: "c", Count: 3}),
		want: exact(resourcev1.ExactDeviceRequest{DeviceClassName: "c", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 3}),
	}, {
		name: "alternatives and allocation results",
		in: resourcev1.ResourceClaim{
			Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{Name: "r",
				FirstAvailable: []resourcev1.DeviceSubRequest{{Name: "a", DeviceClassName: "c", Tolerations: []resourcev1.DeviceToleration{{Operator: resourcev1.DeviceTolerationOpExists}}}}}}}},
			Status: resourcev1.ResourceClaimStatus{Allocation: &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{
				Results: []resourcev1.DeviceRequestAllocationResult{{Request: "r/a", Tolerations: []resourcev1.DeviceToleration{{Key: "k"}}}}}}},
		},
		want: resourcev1.ResourceClaim{
			Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{Name: "r",
				FirstAvailable: []resourcev1.DeviceSubRequest{{Name: "a", DeviceClassName: "c", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1,
					Tolerations: []resourcev1.DeviceToleration{{Operator: resourcev1.DeviceTolerationOpExists}}}}}}}},
			Status: resourcev1.ResourceClaimStatus{Allocation: &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{
				Results: []resourcev1.DeviceRequestAllocationResult{{Request: "r/a", Tolerations: []resourcev1.DeviceToleration{{Key: "k", Operator: resourcev1.DeviceTolerationOpEqual}}}}}}},
		},
	}})
}

func TestResourceClaimTemplate(t *testing.T) {
	tmpl := &resourcev1.ResourceClaimTemplate{Spec: resourcev1.ResourceClaimTemplateSpec{Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
		Requests: []resourcev1.DeviceRequest{{Name: "r", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "c"}}}}}}}
	ResourceClaimTemplate(tmpl)
	if e := tmpl.Spec.Spec.Devices.Requests[0].Exactly; e.AllocationMode != resourcev1.DeviceAllocationModeExactCount || e.Count != 1 {
		t.Errorf("template request not defaulted: %+v", e)
	}
}

func TestDeviceTaint(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 700_000_000, time.UTC)
	taint := resourcev1.DeviceTaint{Key: "k", Effect: resourcev1.DeviceTaintEffectNoSchedule}
	deviceTaint(&taint, now)
	if want := metav1.NewTime(now.Truncate(time.Second)); !cmp.Equal(taint.TimeAdded, &want) {
		t.Errorf("timeAdded = %v, want %v", taint.TimeAdded, want)
	}
	set := metav1.NewTime(now.Add(-time.Hour))
	taint.TimeAdded = &set
	deviceTaint(&taint, now)
	if !taint.TimeAdded.Equal(&set) {
		t.Errorf("a set timeAdded changed to %v", taint.TimeAdded)
	}

	rule := &resourcev1.DeviceTaintRule{Spec: resourcev1.DeviceTaintRuleSpec{Taint: resourcev1.DeviceTaint{Key: "k"}}}
	DeviceTaintRule(rule)
	slice := &resourcev1.ResourceSlice{Spec: resourcev1.ResourceSliceSpec{Devices: []resourcev1.Device{{Name: "d", Taints: []resourcev1.DeviceTaint{{Key: "k"}}}}}}
	ResourceSlice(slice)
	if rule.Spec.Taint.TimeAdded == nil || slice.Spec.Devices[0].Taints[0].TimeAdded == nil {
		t.Errorf("taints not defaulted: rule %v, slice %v", rule.Spec.Taint, slice.Spec.Devices[0].Taints)
	}
}
