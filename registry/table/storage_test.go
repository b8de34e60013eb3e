package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

func TestStorageColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"storageclasses", StorageClasses(), []col{str("Name"), str("Provisioner"), str("ReclaimPolicy"), str("VolumeBindingMode"), str("AllowVolumeExpansion"), str("Age")}},
		{"csidrivers", CSIDrivers(), []col{str("Name"), boolean("AttachRequired"), boolean("PodInfoOnMount"), boolean("StorageCapacity"), str("TokenRequests"), boolean("RequiresRepublish"), str("Modes"), str("Age")}},
		{"csinodes", CSINodes(), []col{str("Name"), integer("Drivers"), str("Age")}},
		{"volumeattachments", VolumeAttachments(), []col{str("Name"), {"Attacher", "string", "name", 0}, str("PV"), str("Node"), boolean("Attached"), str("Age")}},
		{"volumeattributesclasses", VolumeAttributesClasses(), []col{str("Name"), str("DriverName"), str("Age")}},
		{"csistoragecapacities", CSIStorageCapacities(), []col{str("Name"), str("StorageClassName"), str("Capacity")}},
	})
}

func TestStorageCells(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, CreationTimestamp: ago(20 * time.Minute)}
	}
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{{
		name: "storage class with settings",
		tc:   StorageClasses(),
		obj: &storagev1.StorageClass{ObjectMeta: meta("fast"), Provisioner: "ebs.csi.aws.com",
			ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimRetain), VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer), AllowVolumeExpansion: ptr.To(true)},
		want: []interface{}{"fast", "ebs.csi.aws.com", "Retain", "WaitForFirstConsumer", true, "20m"},
	}, {
		name: "storage class defaults, single default class has no suffix",
		tc:   StorageClasses(),
		obj: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "std", CreationTimestamp: ago(20 * time.Minute),
			Annotations: map[string]string{defaultStorageClassAnnotation: "true"}}, Provisioner: "rancher.io/local-path"},
		want: []interface{}{"std", "rancher.io/local-path", "Delete", "Immediate", false, "20m"},
	}, {
		name: "csi driver with settings",
		tc:   CSIDrivers(),
		obj: &storagev1.CSIDriver{ObjectMeta: meta("csi.example.com"), Spec: storagev1.CSIDriverSpec{
			AttachRequired: ptr.To(false), PodInfoOnMount: ptr.To(true), StorageCapacity: ptr.To(true), RequiresRepublish: ptr.To(true),
			TokenRequests:        []storagev1.TokenRequest{{Audience: "vault"}, {Audience: ""}, {Audience: "gcp"}},
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral},
		}},
		want: []interface{}{"csi.example.com", false, true, true, "vault,,gcp", true, "Persistent,Ephemeral", "20m"},
	}, {
		name: "csi driver defaults",
		tc:   CSIDrivers(),
		obj:  &storagev1.CSIDriver{ObjectMeta: meta("csi.example.com")},
		want: []interface{}{"csi.example.com", true, false, false, "<unset>", false, "<none>", "20m"},
	}, {
		name: "csi driver with empty token requests",
		tc:   CSIDrivers(),
		obj:  &storagev1.CSIDriver{ObjectMeta: meta("csi.example.com"), Spec: storagev1.CSIDriverSpec{TokenRequests: []storagev1.TokenRequest{}}},
		want: []interface{}{"csi.example.com", true, false, false, "", false, "<none>", "20m"},
	}, {
		name: "csi node",
		tc:   CSINodes(),
		obj: &storagev1.CSINode{ObjectMeta: meta("node-1"), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{
			{Name: "a", NodeID: "n"}, {Name: "b", NodeID: "n"}}}},
		want: []interface{}{"node-1", int64(2), "20m"},
	}, {
		name: "volume attachment",
		tc:   VolumeAttachments(),
		obj: &storagev1.VolumeAttachment{ObjectMeta: meta("csi-123"),
			Spec:   storagev1.VolumeAttachmentSpec{Attacher: "ebs.csi.aws.com", NodeName: "node-1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")}},
			Status: storagev1.VolumeAttachmentStatus{Attached: true}},
		want: []interface{}{"csi-123", "ebs.csi.aws.com", "pv-1", "node-1", true, "20m"},
	}, {
		name: "volume attributes class",
		tc:   VolumeAttributesClasses(),
		obj:  &storagev1.VolumeAttributesClass{ObjectMeta: meta("gold"), DriverName: "ebs.csi.aws.com", Parameters: map[string]string{"iops": "3000"}},
		want: []interface{}{"gold", "ebs.csi.aws.com", "20m"},
	}, {
		name: "csi storage capacity",
		tc:   CSIStorageCapacities(),
		obj:  &storagev1.CSIStorageCapacity{ObjectMeta: meta("csisc-1"), StorageClassName: "fast", Capacity: ptr.To(resource.MustParse("10Gi"))},
		want: []interface{}{"csisc-1", "fast", "10Gi"},
	}, {
		name: "csi storage capacity without capacity",
		tc:   CSIStorageCapacities(),
		obj:  &storagev1.CSIStorageCapacity{ObjectMeta: meta("csisc-2"), StorageClassName: "fast"},
		want: []interface{}{"csisc-2", "fast", "<unset>"},
	}, {
		name: "inline volume attachment",
		tc:   VolumeAttachments(),
		obj: &storagev1.VolumeAttachment{ObjectMeta: meta("csi-456"),
			Spec: storagev1.VolumeAttachmentSpec{Attacher: "a", NodeName: "node-2", Source: storagev1.VolumeAttachmentSource{InlineVolumeSpec: &corev1.PersistentVolumeSpec{}}}},
		want: []interface{}{"csi-456", "a", "", "node-2", false, "20m"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, tt.tc, tt.obj)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStorageClassListDefault(t *testing.T) {
	class := func(name string, created time.Duration, annotations map[string]string) storagev1.StorageClass {
		return storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: ago(created), Annotations: annotations}}
	}
	isDefault := map[string]string{defaultStorageClassAnnotation: "true"}
	betaDefault := map[string]string{betaDefaultStorageClassAnnotation: "true"}
	notDefault := map[string]string{defaultStorageClassAnnotation: "false"}
	tests := []struct {
		name  string
		items []storagev1.StorageClass
		want  []string
	}{
		{"no default", []storagev1.StorageClass{class("a", time.Hour, nil), class("b", time.Hour, notDefault)}, []string{"a", "b"}},
		{"one default", []storagev1.StorageClass{class("a", time.Hour, nil), class("b", time.Hour, isDefault)}, []string{"a", "b (default)"}},
		{"beta annotation", []storagev1.StorageClass{class("a", time.Hour, betaDefault)}, []string{"a (default)"}},
		{"newest default wins", []storagev1.StorageClass{class("old", 2*time.Hour, isDefault), class("new", time.Hour, betaDefault), class("older", 3*time.Hour, isDefault)}, []string{"old", "new (default)", "older"}},
		{"tie goes to the first name", []storagev1.StorageClass{class("zeta", time.Hour, isDefault), class("alpha", time.Hour, isDefault), class("mid", time.Hour, isDefault)}, []string{"zeta", "alpha (default)", "mid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := convert(t, StorageClasses(), &storagev1.StorageClassList{Items: tt.items}, nil)
			if err != nil {
				t.Fatalf("ConvertToTable: %v", err)
			}
			var got []string
			for _, r := range tab.Rows {
				got = append(got, r.Cells[0].(string))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}
