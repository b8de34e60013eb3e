package table

import (
	"strings"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

// DeviceClasses returns the table convertor for device classes: Name, Age.
func DeviceClasses() rest.TableConvertor {
	return newConvertor([]metav1.TableColumnDefinition{nameColumn(), ageColumn()},
		cells(func(c *resourcev1.DeviceClass, now time.Time) []interface{} {
			return []interface{}{c.Name, age(c.CreationTimestamp, now)}
		}))
}

// ResourceClaims returns the table convertor for resource claims: Name,
// State, Age.
//
// State joins, with commas, "deleted" for a claim being deleted, then
// "pending" for one not allocated (and not being deleted) or "allocated",
// followed by "reserved" when pods use it.
func ResourceClaims() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("State", "A summary of the current state (allocated, pending, reserved, etc.)."),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(c *resourcev1.ResourceClaim, now time.Time) []interface{} {
		return []interface{}{c.Name, resourceClaimState(c), age(c.CreationTimestamp, now)}
	}))
}

func resourceClaimState(c *resourcev1.ResourceClaim) string {
	var states []string
	deleted := c.DeletionTimestamp != nil
	if deleted {
		states = append(states, "deleted")
	}
	switch {
	case c.Status.Allocation != nil:
		states = append(states, "allocated")
		if len(c.Status.ReservedFor) > 0 {
			states = append(states, "reserved")
		}
	case !deleted:
		states = append(states, "pending")
	}
	return strings.Join(states, ",")
}

// ResourceClaimTemplates returns the table convertor for resource claim
// templates: Name, Age.
func ResourceClaimTemplates() rest.TableConvertor {
	return newConvertor([]metav1.TableColumnDefinition{nameColumn(), ageColumn()},
		cells(func(t *resourcev1.ResourceClaimTemplate, now time.Time) []interface{} {
			return []interface{}{t.Name, age(t.CreationTimestamp, now)}
		}))
}

// ResourceSlices returns the table convertor for resource slices: Name,
// Node (empty for slices not tied to one node), Driver, Pool, Age.
func ResourceSlices() rest.TableConvertor {
	spec := resourcev1.ResourceSliceSpec{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Node", spec["nodeName"]),
		column("Driver", spec["driver"]),
		column("Pool", resourcev1.ResourcePool{}.SwaggerDoc()["name"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(s *resourcev1.ResourceSlice, now time.Time) []interface{} {
		return []interface{}{s.Name, ptr.Deref(s.Spec.NodeName, ""), s.Spec.Driver, s.Spec.Pool.Name, age(s.CreationTimestamp, now)}
	}))
}

// DeviceTaintRules returns the table convertor for device taint rules: Name,
// Key, Value, Effect, TimeAdded (the taint's age, empty when unset), Age.
// Like upstream's, it leaves out the device selector, which can be long.
func DeviceTaintRules() rest.TableConvertor {
	taint := resourcev1.DeviceTaint{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Key", taint["key"]),
		column("Value", taint["value"]),
		column("Effect", taint["effect"]),
		column("TimeAdded", taint["timeAdded"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(r *resourcev1.DeviceTaintRule, now time.Time) []interface{} {
		added := ""
		if t := r.Spec.Taint.TimeAdded; t != nil {
			added = age(*t, now)
		}
		return []interface{}{r.Name, r.Spec.Taint.Key, r.Spec.Taint.Value, string(r.Spec.Taint.Effect), added, age(r.CreationTimestamp, now)}
	}))
}
