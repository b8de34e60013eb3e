package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validVolumeAttachment() *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: "csi-0123", ResourceVersion: "1"},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "ebs.csi.aws.com",
			Source:   storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv-1")},
			NodeName: "node-1",
		},
	}
}

func TestVolumeAttachment(t *testing.T) {
	inline := func() *corev1.PersistentVolumeSpec {
		return &corev1.PersistentVolumeSpec{
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-1"}},
		}
	}
	tests := []struct {
		name   string
		mutate func(va *storagev1.VolumeAttachment)
		want   []string
	}{
		{name: "valid", mutate: func(*storagev1.VolumeAttachment) {}},
		{name: "inline", mutate: func(va *storagev1.VolumeAttachment) {
			va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: inline()}
		}},
		{name: "spec fields", mutate: func(va *storagev1.VolumeAttachment) {
			va.Spec.Attacher = ""
			va.Spec.NodeName = "Node_1"
		}, want: []string{"FieldValueRequired spec.attacher", "FieldValueInvalid spec.nodeName"}},
		{name: "namespace forbidden", mutate: func(va *storagev1.VolumeAttachment) { va.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "no source", mutate: func(va *storagev1.VolumeAttachment) { va.Spec.Source = storagev1.VolumeAttachmentSource{} },
			want: []string{"FieldValueRequired spec.source"}},
		{name: "two sources", mutate: func(va *storagev1.VolumeAttachment) { va.Spec.Source.InlineVolumeSpec = inline() },
			want: []string{"FieldValueForbidden spec.source"}},
		{name: "empty pv name", mutate: func(va *storagev1.VolumeAttachment) { va.Spec.Source.PersistentVolumeName = ptr("") },
			want: []string{"FieldValueRequired spec.source.persistentVolumeName", "FieldValueInvalid spec.source.persistentVolumeName"}},
		{name: "inline restrictions", mutate: func(va *storagev1.VolumeAttachment) {
			s := inline()
			s.Capacity = corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}
			s.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
			s.StorageClassName = "fast"
			va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: s}
		}, want: []string{"FieldValueForbidden spec.source.inlineVolumeSpec.capacity", "FieldValueForbidden spec.source.inlineVolumeSpec.persistentVolumeReclaimPolicy",
			"FieldValueForbidden spec.source.inlineVolumeSpec.storageClassName"}},
		{name: "status", mutate: func(va *storagev1.VolumeAttachment) {
			va.Status.AttachError = &storagev1.VolumeError{Message: strings.Repeat("x", 1025)}
			va.Status.DetachError = &storagev1.VolumeError{ErrorCode: ptr(int32(-1))}
		}, want: []string{"FieldValueTooLong status.attachError.message", "FieldValueInvalid status.detachError.errorCode"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			va := validVolumeAttachment()
			tc.mutate(va)
			checkErrs(t, VolumeAttachment(va), tc.want)
		})
	}
	old := validVolumeAttachment()
	va := old.DeepCopy()
	va.Status.Attached = true
	va.Status.AttachmentMetadata = map[string]string{"devicePath": "/dev/xvdba"}
	checkErrs(t, VolumeAttachmentStatusUpdate(va, old), nil)
	va.Spec.NodeName = "node-2"
	checkErrs(t, VolumeAttachmentUpdate(va, old), []string{"FieldValueInvalid spec"})
	checkErrs(t, VolumeAttachmentStatusUpdate(va, old), []string{"FieldValueInvalid spec"})
}
