package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

func TestStorageClass(t *testing.T) {
	runCases(t, StorageClass, []defaultCase[storagev1.StorageClass]{{
		name: "reclaim Delete, binding Immediate",
		in:   storagev1.StorageClass{Provisioner: "example.com/csi"},
		want: storagev1.StorageClass{
			Provisioner:       "example.com/csi",
			ReclaimPolicy:     new(corev1.PersistentVolumeReclaimDelete),
			VolumeBindingMode: new(storagev1.VolumeBindingImmediate),
		},
	}, {
		name: "set fields kept",
		in: storagev1.StorageClass{
			ReclaimPolicy:     new(corev1.PersistentVolumeReclaimRetain),
			VolumeBindingMode: new(storagev1.VolumeBindingWaitForFirstConsumer),
		},
		want: storagev1.StorageClass{
			ReclaimPolicy:     new(corev1.PersistentVolumeReclaimRetain),
			VolumeBindingMode: new(storagev1.VolumeBindingWaitForFirstConsumer),
		},
	}})
}

func TestCSIDriver(t *testing.T) {
	runCases(t, CSIDriver, []defaultCase[storagev1.CSIDriver]{{
		name: "empty spec",
		in:   storagev1.CSIDriver{},
		want: storagev1.CSIDriver{Spec: storagev1.CSIDriverSpec{
			AttachRequired:                new(true),
			PodInfoOnMount:                new(false),
			StorageCapacity:               new(false),
			FSGroupPolicy:                 new(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
			VolumeLifecycleModes:          []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
			RequiresRepublish:             new(false),
			SELinuxMount:                  new(false),
			PreventPodSchedulingIfMissing: new(false),
		}},
	}, {
		name: "set fields kept",
		in: storagev1.CSIDriver{Spec: storagev1.CSIDriverSpec{
			AttachRequired:                new(false),
			PodInfoOnMount:                new(true),
			StorageCapacity:               new(true),
			FSGroupPolicy:                 new(storagev1.FileFSGroupPolicy),
			VolumeLifecycleModes:          []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral},
			RequiresRepublish:             new(true),
			SELinuxMount:                  new(true),
			PreventPodSchedulingIfMissing: new(true),
		}},
		want: storagev1.CSIDriver{Spec: storagev1.CSIDriverSpec{
			AttachRequired:                new(false),
			PodInfoOnMount:                new(true),
			StorageCapacity:               new(true),
			FSGroupPolicy:                 new(storagev1.FileFSGroupPolicy),
			VolumeLifecycleModes:          []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral},
			RequiresRepublish:             new(true),
			SELinuxMount:                  new(true),
			PreventPodSchedulingIfMissing: new(true),
		}},
	}})
}

func TestVolumeAttachment(t *testing.T) {
	runCases(t, VolumeAttachment, []defaultCase[storagev1.VolumeAttachment]{{
		name: "persistent volume name only, nothing to do",
		in:   storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{Attacher: "csi", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: new("pv")}}},
		want: storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{Attacher: "csi", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: new("pv")}}},
	}, {
		name: "inline spec: capacity rounded, source defaulted, no reclaim policy or volume mode",
		in: storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{Source: storagev1.VolumeAttachmentSource{
			InlineVolumeSpec: &corev1.PersistentVolumeSpec{
				Capacity: corev1.ResourceList{corev1.ResourceStorage: q("0.0001")},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					ISCSI: &corev1.ISCSIPersistentVolumeSource{TargetPortal: "10.0.0.1", IQN: "iqn"},
				},
			},
		}}},
		want: storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{Source: storagev1.VolumeAttachmentSource{
			InlineVolumeSpec: &corev1.PersistentVolumeSpec{
				Capacity: corev1.ResourceList{corev1.ResourceStorage: q("1m")},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					ISCSI: &corev1.ISCSIPersistentVolumeSource{TargetPortal: "10.0.0.1", IQN: "iqn", ISCSIInterface: "default"},
				},
			},
		}}},
	}})
}
