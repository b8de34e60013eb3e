package validation

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func exactRequest(name, class string) resourcev1.DeviceRequest {
	return resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{
		DeviceClassName: class, AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1,
	}}
}

func validClaim() *resourcev1.ResourceClaim {
	return &resourcev1.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu", Namespace: "default", ResourceVersion: "1"},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
			Requests: []resourcev1.DeviceRequest{
				exactRequest("req-0", "gpu.example.com"),
				{Name: "req-1", FirstAvailable: []resourcev1.DeviceSubRequest{
					{Name: "large", DeviceClassName: "gpu.example.com", AllocationMode: resourcev1.DeviceAllocationModeAll},
					{Name: "small", DeviceClassName: "gpu.example.com", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 2},
				}},
			},
			Constraints: []resourcev1.DeviceConstraint{{Requests: []string{"req-0", "req-1/large"}, MatchAttribute: ptr(resourcev1.FullyQualifiedName("gpu.example.com/model"))}},
			Config: []resourcev1.DeviceClaimConfiguration{{Requests: []string{"req-0"}, DeviceConfiguration: resourcev1.DeviceConfiguration{
				Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: "gpu.example.com", Parameters: runtime.RawExtension{Raw: []byte(`{"mode":"shared"}`)}},
			}}},
		}},
	}
}

func TestResourceClaim(t *testing.T) {
	req := func(c *resourcev1.ResourceClaim) *resourcev1.ExactDeviceRequest {
		return c.Spec.Devices.Requests[0].Exactly
	}
	tests := []struct {
		name   string
		mutate func(c *resourcev1.ResourceClaim)
		want   []string
	}{
		{name: "valid", mutate: func(*resourcev1.ResourceClaim) {}},
		{name: "selector compiles", mutate: func(c *resourcev1.ResourceClaim) {
			req(c).Selectors = []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{
				Expression: `device.driver == "gpu.example.com" && device.attributes["gpu.example.com"].model == "a100"`}}}
		}},
		{name: "namespace required", mutate: func(c *resourcev1.ResourceClaim) { c.Namespace = "" },
			want: []string{"FieldValueRequired metadata.namespace"}},
		{name: "request name and class", mutate: func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests[0].Name = "Req_0"
			req(c).DeviceClassName = ""
		}, want: []string{
			"FieldValueInvalid spec.devices.requests[0].name",
			"FieldValueRequired spec.devices.requests[0].exactly.deviceClassName",
			"FieldValueInvalid spec.devices.constraints[0].requests[0]",
			"FieldValueInvalid spec.devices.config[0].requests[0]",
		}},
		{name: "duplicate request", mutate: func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests = append(c.Spec.Devices.Requests, exactRequest("req-0", "other"))
		}, want: []string{"FieldValueDuplicate spec.devices.requests[2]"}},
		{name: "too many requests", mutate: func(c *resourcev1.ResourceClaim) {
			for i := range 33 {
				c.Spec.Devices.Requests = append(c.Spec.Devices.Requests, exactRequest(fmt.Sprintf("r%d", i), "gpu"))
			}
		}, want: []string{"FieldValueTooMany spec.devices.requests"}},
		{name: "exactly or firstAvailable", mutate: func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests[0].FirstAvailable = c.Spec.Devices.Requests[1].FirstAvailable
			c.Spec.Devices.Requests[1].FirstAvailable = nil
		}, want: []string{
			"FieldValueInvalid spec.devices.requests[0]",
			"FieldValueRequired spec.devices.requests[1]",
			"FieldValueInvalid spec.devices.constraints[0].requests[1]",
		}},
		{name: "allocation modes", mutate: func(c *resourcev1.ResourceClaim) {
			req(c).Count = 0
			c.Spec.Devices.Requests[1].FirstAvailable[0].Count = 3
			c.Spec.Devices.Requests[1].FirstAvailable[1].AllocationMode = "Some"
		}, want: []string{
			"FieldValueInvalid spec.devices.requests[0].exactly.count",
			"FieldValueInvalid spec.devices.requests[1].firstAvailable[0].count",
			"FieldValueNotSupported spec.devices.requests[1].firstAvailable[1].allocationMode",
		}},
		{name: "duplicate subrequest", mutate: func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests[1].FirstAvailable[1].Name = "large"
		}, want: []string{"FieldValueDuplicate spec.devices.requests[1].firstAvailable[1]"}},
		{name: "CEL syntax error", mutate: func(c *resourcev1.ResourceClaim) {
			req(c).Selectors = []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: "device.driver =="}}}
		}, want: []string{"FieldValueInvalid spec.devices.requests[0].exactly.selectors[0].cel.expression"}},
		{name: "CEL type error", mutate: func(c *resourcev1.ResourceClaim) {
			req(c).Selectors = []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: `device.driver`}}}
		}, want: []string{"FieldValueInvalid spec.devices.requests[0].exactly.selectors[0].cel.expression"}},
		{name: "CEL required", mutate: func(c *resourcev1.ResourceClaim) {
			req(c).Selectors = []resourcev1.DeviceSelector{{}, {CEL: &resourcev1.CELDeviceSelector{}}}
		}, want: []string{
			"FieldValueRequired spec.devices.requests[0].exactly.selectors[0].cel",
			"FieldValueInvalid spec.devices.requests[0].exactly.selectors[1].cel.expression",
		}},
		{name: "CEL too long", mutate: func(c *resourcev1.ResourceClaim) {
			req(c).Selectors = []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: "true" + strings.Repeat(" ", 10*1024)}}}
		}, want: []string{"FieldValueTooLong spec.devices.requests[0].exactly.selectors[0].cel.expression"}},
		{name: "tolerations", mutate: func(c *resourcev1.ResourceClaim) {
			req(c).Tolerations = []resourcev1.DeviceToleration{
				{Key: "example.com/broken", Operator: resourcev1.DeviceTolerationOpExists, Value: "x"},
				{Key: "bad key", Operator: "Like", Effect: "Evict"},
				{Key: "a", Operator: resourcev1.DeviceTolerationOpEqual, Value: "not a label value"},
			}
		}, want: []string{
			"FieldValueInvalid spec.devices.requests[0].exactly.tolerations[0].value",
			"FieldValueInvalid spec.devices.requests[0].exactly.tolerations[1].key",
			"FieldValueNotSupported spec.devices.requests[0].exactly.tolerations[1].operator",
			"FieldValueNotSupported spec.devices.requests[0].exactly.tolerations[1].effect",
			"FieldValueInvalid spec.devices.requests[0].exactly.tolerations[2].value",
		}},
		{name: "constraints", mutate: func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Constraints = append(c.Spec.Devices.Constraints,
				resourcev1.DeviceConstraint{Requests: []string{"req-0", "req-0", "req-1/medium", "a/b/c"}, MatchAttribute: ptr(resourcev1.FullyQualifiedName("model"))},
				resourcev1.DeviceConstraint{},
			)
		}, want: []string{
			"FieldValueInvalid spec.devices.constraints[1].requests[2]",
			"FieldValueInvalid spec.devices.constraints[1].requests[3]",
			"FieldValueDuplicate spec.devices.constraints[1].requests[1]",
			"FieldValueInvalid spec.devices.constraints[1].matchAttribute",
			"FieldValueRequired spec.devices.constraints[2]",
		}},
		{name: "opaque configuration", mutate: func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Config = append(c.Spec.Devices.Config,
				resourcev1.DeviceClaimConfiguration{},
				resourcev1.DeviceClaimConfiguration{DeviceConfiguration: resourcev1.DeviceConfiguration{Opaque: &resourcev1.OpaqueDeviceConfiguration{
					Driver: "", Parameters: runtime.RawExtension{Raw: []byte(`[1]`)}}}},
				resourcev1.DeviceClaimConfiguration{DeviceConfiguration: resourcev1.DeviceConfiguration{Opaque: &resourcev1.OpaqueDeviceConfiguration{
					Driver: "gpu.example.com", Parameters: runtime.RawExtension{Raw: []byte(`{"a":"` + strings.Repeat("x", 10*1024) + `"}`)}}}},
			)
		}, want: []string{
			"FieldValueRequired spec.devices.config[1].opaque",
			"FieldValueRequired spec.devices.config[2].opaque.driver",
			"FieldValueInvalid spec.devices.config[2].opaque.parameters",
			"FieldValueTooLong spec.devices.config[3].opaque.parameters",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validClaim()
			tc.mutate(c)
			checkErrs(t, ResourceClaim(c), tc.want)
		})
	}
}

func TestResourceClaimUpdate(t *testing.T) {
	old := validClaim()
	c := old.DeepCopy()
	c.Labels = map[string]string{"a": "b"}
	checkErrs(t, ResourceClaimUpdate(c, old), nil)
	c.Spec.Devices.Requests[0].Exactly.Count = 2
	checkErrs(t, ResourceClaimUpdate(c, old), []string{"FieldValueInvalid spec"})
}

func TestResourceClaimStatusUpdate(t *testing.T) {
	result := resourcev1.DeviceRequestAllocationResult{Request: "req-0", Driver: "gpu.example.com", Pool: "node-1", Device: "gpu-0"}
	consumer := resourcev1.ResourceClaimConsumerReference{Resource: "pods", Name: "app", UID: types.UID("1f0b1e5a-3f5d-4c0e-9a4e-4a3c2b1d0e9f")}
	tests := []struct {
		name   string
		old    func(s *resourcev1.ResourceClaimStatus)
		mutate func(c *resourcev1.ResourceClaim)
		want   []string
	}{
		{name: "empty allocation", mutate: func(c *resourcev1.ResourceClaim) { c.Status.Allocation = &resourcev1.AllocationResult{} }},
		{name: "allocate and reserve", mutate: func(c *resourcev1.ResourceClaim) {
			c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{result}}}
			c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{consumer}
			c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: "gpu.example.com", Pool: "node-1", Device: "gpu-0",
				Data:        &runtime.RawExtension{Raw: []byte(`{"health":"ok"}`)},
				NetworkData: &resourcev1.NetworkDeviceData{IPs: []string{"10.9.8.7/24"}}}}
		}},
		{name: "reserved without allocation", mutate: func(c *resourcev1.ResourceClaim) {
			c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{consumer, consumer, {}}
		}, want: []string{
			"FieldValueRequired status.reservedFor[2].resource",
			"FieldValueRequired status.reservedFor[2].name",
			"FieldValueRequired status.reservedFor[2].uid",
			"FieldValueDuplicate status.reservedFor[1]",
			"FieldValueForbidden status.reservedFor",
		}},
		{name: "bad results", mutate: func(c *resourcev1.ResourceClaim) {
			c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{
				Results: []resourcev1.DeviceRequestAllocationResult{{Request: "nope", Driver: "", Pool: "a//b", Device: "GPU", ShareID: ptr(types.UID("ABC"))}},
				Config:  []resourcev1.DeviceAllocationConfiguration{{Source: "Pod"}},
			}}
		}, want: []string{
			"FieldValueInvalid status.allocation.devices.results[0].request",
			"FieldValueRequired status.allocation.devices.results[0].driver",
			"FieldValueInvalid status.allocation.devices.results[0].pool",
			"FieldValueInvalid status.allocation.devices.results[0].device",
			"FieldValueInvalid status.allocation.devices.results[0].shareID",
			"FieldValueNotSupported status.allocation.devices.config[0].source",
			"FieldValueRequired status.allocation.devices.config[0].opaque",
		}},
		{name: "allocation immutable", old: func(s *resourcev1.ResourceClaimStatus) {
			s.Allocation = &resourcev1.AllocationResult{}
		}, mutate: func(c *resourcev1.ResourceClaim) {
			c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{result}}}
		}, want: []string{"FieldValueInvalid status.allocation"}},
		{name: "allocation cleared", old: func(s *resourcev1.ResourceClaimStatus) {
			s.Allocation = &resourcev1.AllocationResult{}
		}, mutate: func(c *resourcev1.ResourceClaim) { c.Status.Allocation = nil }},
		{name: "status of a device not allocated", mutate: func(c *resourcev1.ResourceClaim) {
			c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: "gpu.example.com", Pool: "node-1", Device: "gpu-9",
				Conditions: []metav1.Condition{{Type: "Ready"}}}}
		}, want: []string{
			"FieldValueInvalid status.devices[0]",
			"FieldValueRequired status.devices[0].conditions[0].status",
			"FieldValueRequired status.devices[0].conditions[0].lastTransitionTime",
			"FieldValueRequired status.devices[0].conditions[0].reason",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validClaim()
			if tc.old != nil {
				tc.old(&old.Status)
			}
			c := old.DeepCopy()
			tc.mutate(c)
			checkErrs(t, ResourceClaimStatusUpdate(c, old), tc.want)
		})
	}
}

func TestResourceClaimTemplate(t *testing.T) {
	tmpl := &resourcev1.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu-template", Namespace: "default", ResourceVersion: "1"},
		Spec:       resourcev1.ResourceClaimTemplateSpec{Spec: validClaim().Spec},
	}
	checkErrs(t, ResourceClaimTemplate(tmpl), nil)

	bad := tmpl.DeepCopy()
	bad.Spec.Labels = map[string]string{"bad key": "x"}
	bad.Spec.Spec.Devices.Requests[0].Exactly.DeviceClassName = "Bad_Class"
	checkErrs(t, ResourceClaimTemplate(bad), []string{
		"FieldValueInvalid spec.metadata.labels",
		"FieldValueInvalid spec.spec.devices.requests[0].exactly.deviceClassName",
	})

	changed := tmpl.DeepCopy()
	changed.Spec.Spec.Devices.Requests[0].Exactly.Count = 4
	checkErrs(t, ResourceClaimTemplateUpdate(changed, tmpl), []string{"FieldValueInvalid spec"})
}

func TestDeviceClass(t *testing.T) {
	valid := func() *resourcev1.DeviceClass {
		return &resourcev1.DeviceClass{
			ObjectMeta: metav1.ObjectMeta{Name: "gpu.example.com", ResourceVersion: "1"},
			Spec: resourcev1.DeviceClassSpec{
				Selectors:            []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: `device.driver == "gpu.example.com"`}}},
				ExtendedResourceName: ptr("example.com/gpu"),
			},
		}
	}
	tests := []struct {
		name   string
		mutate func(c *resourcev1.DeviceClass)
		want   []string
	}{
		{name: "valid", mutate: func(*resourcev1.DeviceClass) {}},
		{name: "name", mutate: func(c *resourcev1.DeviceClass) { c.Name = "GPU" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "selector", mutate: func(c *resourcev1.DeviceClass) { c.Spec.Selectors[0].CEL.Expression = "1 + " },
			want: []string{"FieldValueInvalid spec.selectors[0].cel.expression"}},
		{name: "too many selectors", mutate: func(c *resourcev1.DeviceClass) {
			c.Spec.Selectors = make([]resourcev1.DeviceSelector, 33)
		}, want: []string{"FieldValueTooMany spec.selectors"}},
		{name: "config", mutate: func(c *resourcev1.DeviceClass) {
			c.Spec.Config = []resourcev1.DeviceClassConfiguration{{DeviceConfiguration: resourcev1.DeviceConfiguration{
				Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: "gpu.example.com"}}}}
		}, want: []string{"FieldValueRequired spec.config[0].opaque.parameters"}},
		{name: "native resource name", mutate: func(c *resourcev1.DeviceClass) { c.Spec.ExtendedResourceName = ptr("kubernetes.io/gpu") },
			want: []string{"FieldValueInvalid spec.extendedResourceName"}},
		{name: "unqualified resource name", mutate: func(c *resourcev1.DeviceClass) { c.Spec.ExtendedResourceName = ptr("gpu") },
			want: []string{"FieldValueInvalid spec.extendedResourceName"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			checkErrs(t, DeviceClass(c), tc.want)
		})
	}

	t.Run("unchanged selectors are not compiled again", func(t *testing.T) {
		old := valid()
		old.Spec.Selectors[0].CEL.Expression = "no longer compiles"
		c := old.DeepCopy()
		c.Labels = map[string]string{"a": "b"}
		checkErrs(t, DeviceClassUpdate(c, old), nil)
		c.Spec.Selectors[0].CEL.Expression = "still does not"
		checkErrs(t, DeviceClassUpdate(c, old), []string{"FieldValueInvalid spec.selectors[0].cel.expression"})
	})
}

func validSlice() *resourcev1.ResourceSlice {
	return &resourcev1.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1-gpu.example.com", ResourceVersion: "1"},
		Spec: resourcev1.ResourceSliceSpec{
			Driver:   "gpu.example.com",
			Pool:     resourcev1.ResourcePool{Name: "node-1", Generation: 1, ResourceSliceCount: 1},
			NodeName: ptr("node-1"),
			Devices: []resourcev1.Device{{
				Name: "gpu-0",
				Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
					"model":                         {StringValue: ptr("a100")},
					"gpu.example.com/driverVersion": {VersionValue: ptr("1.2.3-rc.1+build.5")},
				},
				Capacity: map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{"memory": {Value: qty("40Gi")}},
				Taints:   []resourcev1.DeviceTaint{{Key: "example.com/unhealthy", Effect: resourcev1.DeviceTaintEffectNoSchedule}},
			}},
		},
	}
}

func TestResourceSlice(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *resourcev1.ResourceSlice)
		want   []string
	}{
		{name: "valid", mutate: func(*resourcev1.ResourceSlice) {}},
		{name: "empty pool on one node", mutate: func(s *resourcev1.ResourceSlice) { s.Spec.Devices = nil }},
		{name: "driver and pool", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.Driver = "Not_A_Driver"
			s.Spec.Pool = resourcev1.ResourcePool{Name: "a/B", Generation: -1}
		}, want: []string{
			"FieldValueInvalid spec.driver",
			"FieldValueInvalid spec.pool.name",
			"FieldValueInvalid spec.pool.resourceSliceCount",
			"FieldValueInvalid spec.pool.generation",
		}},
		{name: "node selection required", mutate: func(s *resourcev1.ResourceSlice) { s.Spec.NodeName = nil },
			want: []string{"FieldValueRequired spec"}},
		{name: "node selection exclusive", mutate: func(s *resourcev1.ResourceSlice) { s.Spec.AllNodes = ptr(true) },
			want: []string{"FieldValueInvalid spec"}},
		{name: "node selector with one term", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.NodeName = nil
			s.Spec.NodeSelector = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}, {}}}
		}, want: []string{"FieldValueInvalid spec.nodeSelector.nodeSelectorTerms"}},
		{name: "devices", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices = append(s.Spec.Devices, resourcev1.Device{Name: "gpu-0"}, resourcev1.Device{
				Name: "GPU 1",
				Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
					"bad-name": {BoolValue: ptr(true)},
				},
			})
		}, want: []string{
			"FieldValueInvalid spec.devices[2].name",
			"FieldValueInvalid spec.devices[2].attributes",
			"FieldValueDuplicate spec.devices[1]",
		}},
		{name: "attribute values", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].Attributes = map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{"x": {}}
		}, want: []string{"FieldValueInvalid spec.devices[0].attributes[x]"}},
		{name: "two values", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].Attributes = map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{"x": {IntValue: ptr(int64(1)), BoolValue: ptr(true)}}
		}, want: []string{"FieldValueInvalid spec.devices[0].attributes[x]"}},
		{name: "version and string", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].Attributes = map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
				"v": {VersionValue: ptr("1.02.3")}, "s": {StringValue: ptr(strings.Repeat("x", 65))}}
		}, want: []string{"FieldValueTooLong spec.devices[0].attributes[s].string", "FieldValueInvalid spec.devices[0].attributes[v].version"}},
		{name: "too many attributes", mutate: func(s *resourcev1.ResourceSlice) {
			for i := range 32 {
				s.Spec.Devices[0].Attributes[resourcev1.QualifiedName(fmt.Sprintf("a%d", i))] = resourcev1.DeviceAttribute{IntValue: ptr(int64(i))}
			}
		}, want: []string{"FieldValueInvalid spec.devices[0]"}},
		{name: "too many devices", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices = make([]resourcev1.Device, 129)
		}, want: []string{"FieldValueTooMany spec.devices"}},
		{name: "taint", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].Taints = []resourcev1.DeviceTaint{{Key: "", Value: "a b", Effect: "Evict"}}
		}, want: []string{
			"FieldValueInvalid spec.devices[0].taints[0].key",
			"FieldValueInvalid spec.devices[0].taints[0].key",
			"FieldValueInvalid spec.devices[0].taints[0].value",
			"FieldValueNotSupported spec.devices[0].taints[0].effect",
		}},
		{name: "request policy needs multiple allocations", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].Capacity["memory"] = resourcev1.DeviceCapacity{Value: qty("1Gi"), RequestPolicy: &resourcev1.CapacityRequestPolicy{}}
		}, want: []string{"FieldValueForbidden spec.devices[0].capacity[memory].requestPolicy"}},
		{name: "per-device node without the flag", mutate: func(s *resourcev1.ResourceSlice) { s.Spec.Devices[0].NodeName = ptr("node-1") },
			want: []string{"FieldValueInvalid spec.devices[0]"}},
		{name: "per-device nodes", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.NodeName = nil
			s.Spec.PerDeviceNodeSelection = ptr(true)
		}, want: []string{"FieldValueRequired spec.devices[0]"}},
		{name: "counters and devices", mutate: func(s *resourcev1.ResourceSlice) {
			s.Spec.SharedCounters = []resourcev1.CounterSet{{Name: "gpu-0-memory"}}
		}, want: []string{"FieldValueInvalid spec", "FieldValueRequired spec.sharedCounters[0].counters"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSlice()
			tc.mutate(s)
			checkErrs(t, ResourceSlice(s), tc.want)
		})
	}
}

func TestResourceSliceUpdate(t *testing.T) {
	old := validSlice()
	s := old.DeepCopy()
	s.Spec.Devices = append(s.Spec.Devices, resourcev1.Device{Name: "gpu-1"})
	s.Spec.Pool.Generation = 2
	checkErrs(t, ResourceSliceUpdate(s, old), nil)
	s.Spec.Driver, s.Spec.Pool.Name, s.Spec.NodeName = "other.example.com", "node-2", ptr("node-2")
	checkErrs(t, ResourceSliceUpdate(s, old), []string{
		"FieldValueInvalid spec.pool.name", "FieldValueInvalid spec.driver", "FieldValueInvalid spec.nodeName",
	})
}

func validTaintRule() *resourcev1.DeviceTaintRule {
	return &resourcev1.DeviceTaintRule{
		ObjectMeta: metav1.ObjectMeta{Name: "maintenance", ResourceVersion: "1"},
		Spec: resourcev1.DeviceTaintRuleSpec{
			DeviceSelector: &resourcev1.DeviceTaintSelector{Driver: ptr("gpu.example.com"), Pool: ptr("node-1"), Device: ptr("gpu-0")},
			Taint:          resourcev1.DeviceTaint{Key: "example.com/maintenance", Value: "planned", Effect: resourcev1.DeviceTaintEffectNoExecute},
		},
	}
}

func TestDeviceTaintRule(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *resourcev1.DeviceTaintRule)
		want   []string
	}{
		{name: "valid", mutate: func(*resourcev1.DeviceTaintRule) {}},
		{name: "no selector, effect None", mutate: func(r *resourcev1.DeviceTaintRule) {
			r.Spec.DeviceSelector = nil
			r.Spec.Taint.Effect = resourcev1.DeviceTaintEffectNone
		}},
		{name: "selector", mutate: func(r *resourcev1.DeviceTaintRule) {
			r.Spec.DeviceSelector = &resourcev1.DeviceTaintSelector{Driver: ptr(""), Pool: ptr("Pool"), Device: ptr("gpu_0")}
		}, want: []string{
			"FieldValueRequired spec.deviceSelector.driver",
			"FieldValueInvalid spec.deviceSelector.pool",
			"FieldValueInvalid spec.deviceSelector.device",
		}},
		{name: "taint", mutate: func(r *resourcev1.DeviceTaintRule) { r.Spec.Taint = resourcev1.DeviceTaint{Key: "a/b/c"} },
			want: []string{"FieldValueInvalid spec.taint.key", "FieldValueRequired spec.taint.effect"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validTaintRule()
			tc.mutate(r)
			checkErrs(t, DeviceTaintRule(r), tc.want)
		})
	}
}

func TestDeviceTaintRuleStatusUpdate(t *testing.T) {
	old := validTaintRule()
	r := old.DeepCopy()
	cond := metav1.Condition{Type: "Testing", Status: metav1.ConditionTrue, LastTransitionTime: metav1.Now(), Reason: "E2E_test_running", Message: "This condition can be ignored."}
	r.Status.Conditions = []metav1.Condition{cond}
	checkErrs(t, DeviceTaintRuleStatusUpdate(r, old), nil)

	r.Status.Conditions = []metav1.Condition{{Type: "Testing", Status: "Maybe"}}
	checkErrs(t, DeviceTaintRuleStatusUpdate(r, old), []string{
		"FieldValueNotSupported status.conditions[0].status",
		"FieldValueRequired status.conditions[0].lastTransitionTime",
		"FieldValueRequired status.conditions[0].reason",
	})

	r.Status.Conditions = nil
	for i := range 9 {
		c := cond
		c.Type = fmt.Sprintf("T%d", i)
		r.Status.Conditions = append(r.Status.Conditions, c)
	}
	checkErrs(t, DeviceTaintRuleStatusUpdate(r, old), []string{"FieldValueTooMany status.conditions"})
}
