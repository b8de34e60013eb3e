package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPersistentVolumeCells(t *testing.T) {
	block := corev1.PersistentVolumeBlock
	tests := []struct {
		name string
		pv   corev1.PersistentVolume
		want []interface{}
	}{{
		name: "bound",
		pv: corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "pv1", CreationTimestamp: ago(2 * time.Hour)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data"},
				StorageClassName:              "standard",
				VolumeAttributesClassName:     ptr.To("gold"),
				VolumeMode:                    &block,
			},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
		},
		want: []interface{}{"pv1", "10Gi", "RWO,RWX,RWOP", "Retain", "Bound", "default/data", "standard", "gold", "", "120m", "Block"},
	}, {
		name: "terminating, beta class annotation, unset fields",
		pv: corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "pv2", DeletionTimestamp: ptr.To(ago(time.Second)),
				Annotations: map[string]string{corev1.BetaStorageClassAnnotation: "legacy"}},
			Spec:   corev1.PersistentVolumeSpec{StorageClassName: "ignored", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeFailed, Reason: "Recycle failed"},
		},
		want: []interface{}{"pv2", "0", "ROX", "", "Terminating", "", "legacy", "<unset>", "Recycle failed", "<unknown>", "<unset>"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, PersistentVolumes(), &tt.pv)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPersistentVolumeClaimCells(t *testing.T) {
	fs := corev1.PersistentVolumeFilesystem
	spec := func(volume string, class *string) corev1.PersistentVolumeClaimSpec {
		return corev1.PersistentVolumeClaimSpec{
			VolumeName:       volume,
			StorageClassName: class,
			VolumeMode:       &fs,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}
	}
	bound := corev1.PersistentVolumeClaimStatus{
		Phase:       corev1.ClaimBound,
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
	}
	tests := []struct {
		name string
		pvc  corev1.PersistentVolumeClaim
		want []interface{}
	}{{
		name: "bound",
		pvc:  corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", CreationTimestamp: ago(time.Minute)}, Spec: spec("pv1", ptr.To("standard")), Status: bound},
		want: []interface{}{"data", "Bound", "pv1", "5Gi", "RWO", "standard", "<unset>", "60s", "Filesystem"},
	}, {
		name: "pending shows no capacity or modes",
		pvc: corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: spec("", nil),
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}},
		want: []interface{}{"data", "Pending", "", "", "", "", "<unset>", "<unknown>", "Filesystem"},
	}, {
		name: "terminating with beta class annotation",
		pvc: corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data", DeletionTimestamp: ptr.To(ago(time.Second)), Annotations: map[string]string{corev1.BetaStorageClassAnnotation: "legacy"}},
			Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "pv1", StorageClassName: ptr.To("standard"), VolumeAttributesClassName: ptr.To("gold")},
			Status:     bound,
		},
		want: []interface{}{"data", "Terminating", "pv1", "5Gi", "RWO", "legacy", "gold", "<unknown>", "<unset>"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, PersistentVolumeClaims(), &tt.pvc)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
