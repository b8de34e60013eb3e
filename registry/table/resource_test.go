package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

func TestResourceColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"deviceclasses", DeviceClasses(), []col{str("Name"), str("Age")}},
		{"resourceclaims", ResourceClaims(), []col{str("Name"), str("State"), str("Age")}},
		{"resourceclaimtemplates", ResourceClaimTemplates(), []col{str("Name"), str("Age")}},
		{"resourceslices", ResourceSlices(), []col{str("Name"), str("Node"), str("Driver"), str("Pool"), str("Age")}},
		{"devicetaintrules", DeviceTaintRules(), []col{str("Name"), str("Key"), str("Value"), str("Effect"), str("TimeAdded"), str("Age")}},
	})
}

func TestResourceCells(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, CreationTimestamp: ago(5 * time.Minute)}
	}
	deleting := meta("gone")
	deleting.DeletionTimestamp = ptr.To(ago(time.Minute))
	allocated := resourcev1.ResourceClaimStatus{Allocation: &resourcev1.AllocationResult{}}
	reserved := resourcev1.ResourceClaimStatus{Allocation: &resourcev1.AllocationResult{},
		ReservedFor: []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "app", UID: "u"}}}
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{
		{"device class", DeviceClasses(), &resourcev1.DeviceClass{ObjectMeta: meta("gpu.example.com")}, []interface{}{"gpu.example.com", "5m"}},
		{"pending claim", ResourceClaims(), &resourcev1.ResourceClaim{ObjectMeta: meta("c")}, []interface{}{"c", "pending", "5m"}},
		{"allocated claim", ResourceClaims(), &resourcev1.ResourceClaim{ObjectMeta: meta("c"), Status: allocated}, []interface{}{"c", "allocated", "5m"}},
		{"reserved claim", ResourceClaims(), &resourcev1.ResourceClaim{ObjectMeta: meta("c"), Status: reserved}, []interface{}{"c", "allocated,reserved", "5m"}},
		{"deleted claim", ResourceClaims(), &resourcev1.ResourceClaim{ObjectMeta: deleting}, []interface{}{"gone", "deleted", "5m"}},
		{"deleted allocated claim", ResourceClaims(), &resourcev1.ResourceClaim{ObjectMeta: deleting, Status: reserved}, []interface{}{"gone", "deleted,allocated,reserved", "5m"}},
		{"claim template", ResourceClaimTemplates(), &resourcev1.ResourceClaimTemplate{ObjectMeta: meta("t")}, []interface{}{"t", "5m"}},
		{"node slice", ResourceSlices(), &resourcev1.ResourceSlice{ObjectMeta: meta("s"), Spec: resourcev1.ResourceSliceSpec{
			NodeName: ptr.To("node-1"), Driver: "gpu.example.com", Pool: resourcev1.ResourcePool{Name: "node-1"}}},
			[]interface{}{"s", "node-1", "gpu.example.com", "node-1", "5m"}},
		{"cluster slice", ResourceSlices(), &resourcev1.ResourceSlice{ObjectMeta: meta("s"), Spec: resourcev1.ResourceSliceSpec{
			AllNodes: ptr.To(true), Driver: "net.example.com", Pool: resourcev1.ResourcePool{Name: "fabric"}}},
			[]interface{}{"s", "", "net.example.com", "fabric", "5m"}},
		{"taint rule", DeviceTaintRules(), &resourcev1.DeviceTaintRule{ObjectMeta: meta("r"), Spec: resourcev1.DeviceTaintRuleSpec{
			Taint: resourcev1.DeviceTaint{Key: "example.com/maintenance", Value: "planned", Effect: resourcev1.DeviceTaintEffectNoExecute, TimeAdded: ptr.To(ago(2 * time.Minute))}}},
			[]interface{}{"r", "example.com/maintenance", "planned", "NoExecute", "2m", "5m"}},
		{"taint rule without time", DeviceTaintRules(), &resourcev1.DeviceTaintRule{ObjectMeta: meta("r"), Spec: resourcev1.DeviceTaintRuleSpec{
			Taint: resourcev1.DeviceTaint{Key: "k", Effect: resourcev1.DeviceTaintEffectNone}}},
			[]interface{}{"r", "k", "", "None", "", "5m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, rowOf(t, tt.tc, tt.obj).Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
