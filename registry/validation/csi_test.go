package validation

import (
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validCSIDriver is a CSIDriver as the v1 defaults leave it.
func validCSIDriver() *storagev1.CSIDriver {
	return &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: "ebs.csi.aws.com", ResourceVersion: "1"},
		Spec: storagev1.CSIDriverSpec{
			AttachRequired:                ptr(true),
			PodInfoOnMount:                ptr(false),
			StorageCapacity:               ptr(false),
			FSGroupPolicy:                 ptr(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
			VolumeLifecycleModes:          []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
			RequiresRepublish:             ptr(false),
			SELinuxMount:                  ptr(false),
			PreventPodSchedulingIfMissing: ptr(false),
			TokenRequests:                 []storagev1.TokenRequest{{Audience: "vault", ExpirationSeconds: ptr(int64(3600))}},
		},
	}
}

func TestCSIDriver(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(d *storagev1.CSIDriver)
		want   []string
	}{
		{name: "valid", mutate: func(*storagev1.CSIDriver) {}},
		{name: "defaults missing", mutate: func(d *storagev1.CSIDriver) {
			d.Spec.AttachRequired, d.Spec.PodInfoOnMount, d.Spec.StorageCapacity = nil, nil, nil
			d.Spec.SELinuxMount, d.Spec.PreventPodSchedulingIfMissing = nil, nil
		}, want: []string{"FieldValueRequired spec.attachedRequired", "FieldValueRequired spec.podInfoOnMount", "FieldValueRequired spec.storageCapacity",
			"FieldValueRequired spec.seLinuxMount", "FieldValueRequired spec.preventPodSchedulingIfMissing"}},
		{name: "enums", mutate: func(d *storagev1.CSIDriver) {
			d.Spec.FSGroupPolicy = ptr(storagev1.FSGroupPolicy("Always"))
			d.Spec.VolumeLifecycleModes = append(d.Spec.VolumeLifecycleModes, "Forever")
		}, want: []string{"FieldValueNotSupported spec.fsGroupPolicy", "FieldValueNotSupported spec.volumeLifecycleModes"}},
		{name: "token requests", mutate: func(d *storagev1.CSIDriver) {
			d.Spec.TokenRequests = append(d.Spec.TokenRequests,
				storagev1.TokenRequest{Audience: "vault"},
				storagev1.TokenRequest{Audience: "", ExpirationSeconds: ptr(int64(60))},
				storagev1.TokenRequest{Audience: "big", ExpirationSeconds: ptr(int64(1<<32 + 1))})
		}, want: []string{"FieldValueDuplicate spec.tokenRequests[1].audience", "FieldValueInvalid spec.tokenRequests[2].expirationSeconds",
			"FieldValueInvalid spec.tokenRequests[3].expirationSeconds"}},
		{name: "secrets need token requests", mutate: func(d *storagev1.CSIDriver) {
			d.Spec.TokenRequests = nil
			d.Spec.ServiceAccountTokenInSecrets = ptr(true)
		}, want: []string{"FieldValueInvalid spec.serviceAccountTokenInSecrets"}},
		{name: "update period", mutate: func(d *storagev1.CSIDriver) { d.Spec.NodeAllocatableUpdatePeriodSeconds = ptr(int64(5)) },
			want: []string{"FieldValueInvalid spec.nodeAllocatableUpdatePeriodSeconds"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := validCSIDriver()
			tc.mutate(d)
			checkErrs(t, CSIDriver(d), tc.want)
		})
	}
	old := validCSIDriver()
	d := old.DeepCopy()
	d.Spec.PodInfoOnMount, d.Spec.StorageCapacity, d.Spec.RequiresRepublish = ptr(true), ptr(true), ptr(true)
	d.Spec.FSGroupPolicy = ptr(storagev1.FileFSGroupPolicy)
	checkErrs(t, CSIDriverUpdate(d, old), nil)
	d.Spec.AttachRequired = ptr(false)
	d.Spec.VolumeLifecycleModes = append(d.Spec.VolumeLifecycleModes, storagev1.VolumeLifecycleEphemeral)
	checkErrs(t, CSIDriverUpdate(d, old), []string{"FieldValueInvalid spec.attachedRequired", "FieldValueInvalid spec.volumeLifecycleModes"})
}

func validCSINode() *storagev1.CSINode {
	return &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", ResourceVersion: "1"},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
			Name: "ebs.csi.aws.com", NodeID: "i-0123", TopologyKeys: []string{"topology.ebs.csi.aws.com/zone"},
			Allocatable: &storagev1.VolumeNodeResources{Count: ptr(int32(25))},
		}}},
	}
}

func TestCSINode(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(n *storagev1.CSINode)
		want   []string
	}{
		{name: "valid", mutate: func(*storagev1.CSINode) {}},
		{name: "driver fields", mutate: func(n *storagev1.CSINode) {
			d := &n.Spec.Drivers[0]
			d.NodeID = ""
			d.Allocatable.Count = ptr(int32(-1))
			d.TopologyKeys = []string{"zone", "zone", "", "a/b/c"}
		}, want: []string{"FieldValueRequired spec.drivers[0].nodeID", "FieldValueInvalid spec.drivers[0].allocatable.count",
			// The empty key fails two qualified-name rules, as upstream.
			"FieldValueDuplicate spec.drivers[0]", "FieldValueRequired spec.drivers[0]", "FieldValueInvalid spec.drivers[0]", "FieldValueInvalid spec.drivers[0]",
			"FieldValueInvalid spec.drivers[0]"}},
		{name: "driver names", mutate: func(n *storagev1.CSINode) {
			n.Spec.Drivers = append(n.Spec.Drivers,
				storagev1.CSINodeDriver{Name: "ebs.csi.aws.com", NodeID: strings.Repeat("x", 257)},
				storagev1.CSINodeDriver{Name: "-bad", NodeID: "x"})
		}, want: []string{"FieldValueInvalid spec.drivers[1].nodeID", "FieldValueDuplicate spec.drivers[1].name", "FieldValueInvalid spec.drivers[2].name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := validCSINode()
			tc.mutate(n)
			checkErrs(t, CSINode(n), tc.want)
		})
	}
	old := validCSINode()
	n := old.DeepCopy()
	n.Spec.Drivers[0].Allocatable.Count = ptr(int32(39))
	n.Spec.Drivers = append(n.Spec.Drivers, storagev1.CSINodeDriver{Name: "efs.csi.aws.com", NodeID: "i-0123"})
	checkErrs(t, CSINodeUpdate(n, old), nil)
	n.Spec.Drivers[0].NodeID = "i-9999"
	checkErrs(t, CSINodeUpdate(n, old), []string{"FieldValueInvalid spec.drivers"})
}
