package validation

import (
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validVolumeAttributesClass() *storagev1.VolumeAttributesClass {
	return &storagev1.VolumeAttributesClass{
		ObjectMeta: metav1.ObjectMeta{Name: "gold", ResourceVersion: "1"},
		DriverName: "ebs.csi.aws.com",
		Parameters: map[string]string{"iops": "3000"},
	}
}

func TestVolumeAttributesClass(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(v *storagev1.VolumeAttributesClass)
		want   []string
	}{
		{name: "valid", mutate: func(*storagev1.VolumeAttributesClass) {}},
		{name: "upper case driver", mutate: func(v *storagev1.VolumeAttributesClass) { v.DriverName = "E2E-Fake-CSI-Driver" }},
		{name: "name", mutate: func(v *storagev1.VolumeAttributesClass) { v.Name = "Gold" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "driver required", mutate: func(v *storagev1.VolumeAttributesClass) { v.DriverName = "" },
			want: []string{"FieldValueRequired driverName"}},
		{name: "driver qualified", mutate: func(v *storagev1.VolumeAttributesClass) { v.DriverName = "a/b/c" },
			want: []string{"FieldValueInvalid driverName"}},
		{name: "parameters required", mutate: func(v *storagev1.VolumeAttributesClass) { v.Parameters = nil },
			want: []string{"FieldValueRequired parameters"}},
		{name: "empty key", mutate: func(v *storagev1.VolumeAttributesClass) { v.Parameters[""] = "x" },
			want: []string{"FieldValueInvalid parameters"}},
		{name: "too big", mutate: func(v *storagev1.VolumeAttributesClass) { v.Parameters["x"] = strings.Repeat("x", 256<<10) },
			want: []string{"FieldValueTooLong parameters"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := validVolumeAttributesClass()
			tc.mutate(v)
			checkErrs(t, VolumeAttributesClass(v), tc.want)
		})
	}
}

func TestVolumeAttributesClassUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(v *storagev1.VolumeAttributesClass)
		want   []string
	}{
		{name: "labels", mutate: func(v *storagev1.VolumeAttributesClass) { v.Labels = map[string]string{"a": "b"} }},
		{name: "driver", mutate: func(v *storagev1.VolumeAttributesClass) { v.DriverName = "other.example.com" },
			want: []string{"FieldValueForbidden driverName"}},
		{name: "parameters", mutate: func(v *storagev1.VolumeAttributesClass) { v.Parameters["iops"] = "6000" },
			want: []string{"FieldValueForbidden parameters"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validVolumeAttributesClass()
			v := old.DeepCopy()
			tc.mutate(v)
			checkErrs(t, VolumeAttributesClassUpdate(v, old), tc.want)
		})
	}
}

func validCSIStorageCapacity() *storagev1.CSIStorageCapacity {
	return &storagev1.CSIStorageCapacity{
		ObjectMeta:       metav1.ObjectMeta{Name: "csisc-1", Namespace: "kube-system", ResourceVersion: "1"},
		NodeTopology:     &metav1.LabelSelector{MatchLabels: map[string]string{"topology.kubernetes.io/zone": "a"}},
		StorageClassName: "fast",
		Capacity:         ptr(qty("10Gi")),
	}
}

func TestCSIStorageCapacity(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *storagev1.CSIStorageCapacity)
		want   []string
	}{
		{name: "valid", mutate: func(*storagev1.CSIStorageCapacity) {}},
		{name: "no topology, no capacity", mutate: func(c *storagev1.CSIStorageCapacity) { c.NodeTopology, c.Capacity = nil, nil }},
		{name: "namespace required", mutate: func(c *storagev1.CSIStorageCapacity) { c.Namespace = "" },
			want: []string{"FieldValueRequired metadata.namespace"}},
		{name: "storage class", mutate: func(c *storagev1.CSIStorageCapacity) { c.StorageClassName = "Fast!" },
			want: []string{"FieldValueInvalid storageClassName"}},
		{name: "negative capacity", mutate: func(c *storagev1.CSIStorageCapacity) { c.Capacity = ptr(qty("-1")) },
			want: []string{"FieldValueInvalid capacity"}},
		{name: "selector", mutate: func(c *storagev1.CSIStorageCapacity) { c.NodeTopology.MatchLabels = map[string]string{"zone": "a b"} },
			want: []string{"FieldValueInvalid nodeTopology.matchLabels"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validCSIStorageCapacity()
			tc.mutate(c)
			checkErrs(t, CSIStorageCapacity(c), tc.want)
		})
	}
}

func TestCSIStorageCapacityUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *storagev1.CSIStorageCapacity)
		want   []string
	}{
		{name: "capacity may change", mutate: func(c *storagev1.CSIStorageCapacity) { c.Capacity = ptr(qty("5Gi")) }},
		{name: "topology immutable", mutate: func(c *storagev1.CSIStorageCapacity) { c.NodeTopology = nil },
			want: []string{"FieldValueInvalid nodeTopology"}},
		{name: "class immutable", mutate: func(c *storagev1.CSIStorageCapacity) { c.StorageClassName = "slow" },
			want: []string{"FieldValueInvalid storageClassName"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validCSIStorageCapacity()
			c := old.DeepCopy()
			tc.mutate(c)
			checkErrs(t, CSIStorageCapacityUpdate(c, old), tc.want)
		})
	}

	t.Run("invalid label value kept", func(t *testing.T) {
		old := validCSIStorageCapacity()
		old.NodeTopology.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "zone", Operator: metav1.LabelSelectorOpIn, Values: []string{"a b"}}}
		c := old.DeepCopy()
		c.Capacity = ptr(qty("1Gi"))
		checkErrs(t, CSIStorageCapacityUpdate(c, old), nil)
	})
}
