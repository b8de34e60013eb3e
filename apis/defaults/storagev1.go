package defaults

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// This file defaults the storage.k8s.io/v1 group; storage.go holds the
// core/v1 persistent volumes and claims.

// StorageClass defaults a storage.k8s.io/v1 storage class: reclaimPolicy
// Delete and volumeBindingMode Immediate.
func StorageClass(sc *storagev1.StorageClass) {
	setIfNil(&sc.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete)
	setIfNil(&sc.VolumeBindingMode, storagev1.VolumeBindingImmediate)
}

// CSIDriver defaults a storage.k8s.io/v1 CSI driver: attachRequired true;
// podInfoOnMount, storageCapacity and requiresRepublish false; fsGroupPolicy
// ReadWriteOnceWithFSType; volumeLifecycleModes [Persistent]; seLinuxMount
// false (SELinuxMountReadWriteOncePod, GA in 1.37); and
// preventPodSchedulingIfMissing false (VolumeLimitScaling, beta and on in
// 1.37).
func CSIDriver(d *storagev1.CSIDriver) {
	spec := &d.Spec
	setIfNil(&spec.AttachRequired, true)
	setIfNil(&spec.PodInfoOnMount, false)
	setIfNil(&spec.StorageCapacity, false)
	setIfNil(&spec.FSGroupPolicy, storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)
	if len(spec.VolumeLifecycleModes) == 0 {
		spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}
	}
	setIfNil(&spec.RequiresRepublish, false)
	setIfNil(&spec.SELinuxMount, false)
	setIfNil(&spec.PreventPodSchedulingIfMissing, false)
}

// VolumeAttachment defaults a storage.k8s.io/v1 volume attachment: an inline
// volume spec gets its capacity rounded up to milli precision and its source
// defaulted as a persistent volume's is. Its reclaim policy and volume mode
// are left alone, as upstream does.
func VolumeAttachment(va *storagev1.VolumeAttachment) {
	if pv := va.Spec.Source.InlineVolumeSpec; pv != nil {
		roundResources(pv.Capacity)
		persistentVolumeSource(&pv.PersistentVolumeSource)
	}
}
