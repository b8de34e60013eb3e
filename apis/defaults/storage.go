package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// PersistentVolume defaults a persistent volume: status.phase Pending,
// persistentVolumeReclaimPolicy Retain, volumeMode Filesystem, capacity
// rounded up to milli precision, and the hostPath, rbd, iscsi, azureDisk and
// scaleIO sources as for pod volumes.
func PersistentVolume(pv *corev1.PersistentVolume) {
	setIfEmpty(&pv.Status.Phase, corev1.VolumePending)
	spec := &pv.Spec
	setIfEmpty(&spec.PersistentVolumeReclaimPolicy, corev1.PersistentVolumeReclaimRetain)
	setIfNil(&spec.VolumeMode, corev1.PersistentVolumeFilesystem)
	roundResources(spec.Capacity)
	persistentVolumeSource(&spec.PersistentVolumeSource)
}

// persistentVolumeSource defaults the hostPath, rbd, iscsi, azureDisk and
// scaleIO sources of a persistent volume as for pod volumes. Inline volumes
// of storage.k8s.io/v1 volume attachments reuse it.
func persistentVolumeSource(src *corev1.PersistentVolumeSource) {
	if src.HostPath != nil {
		defaultHostPath(src.HostPath)
	}
	if src.RBD != nil {
		defaultRBD(&src.RBD.RBDPool, &src.RBD.RadosUser, &src.RBD.Keyring)
	}
	if src.ISCSI != nil {
		setIfEmpty(&src.ISCSI.ISCSIInterface, "default")
	}
	if src.AzureDisk != nil {
		defaultAzureDisk(src.AzureDisk)
	}
	if src.ScaleIO != nil {
		setIfEmpty(&src.ScaleIO.StorageMode, "ThinProvisioned")
		setIfEmpty(&src.ScaleIO.FSType, "xfs")
	}
}

// PersistentVolumeClaim defaults a claim: status.phase Pending, volumeMode
// Filesystem, and the resource quantities of spec and status rounded up to
// milli precision. apps/v1 StatefulSet volume claim templates reuse it.
func PersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	setIfEmpty(&pvc.Status.Phase, corev1.ClaimPending)
	claimSpec(&pvc.Spec)
	roundResources(pvc.Status.Capacity)
	roundResources(pvc.Status.AllocatedResources)
}

// claimSpec sets volumeMode Filesystem and rounds the requested resources.
// Generic ephemeral volumes' claim templates get only this, not a phase.
func claimSpec(spec *corev1.PersistentVolumeClaimSpec) {
	setIfNil(&spec.VolumeMode, corev1.PersistentVolumeFilesystem)
	roundResources(spec.Resources.Limits)
	roundResources(spec.Resources.Requests)
}
