package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// defaultVolume defaults one pod volume:
//   - a volume with no source becomes an emptyDir;
//   - image: pullPolicy from the reference, as for containers;
//   - hostPath: type "" (no check);
//   - secret, configMap, downwardAPI, projected: defaultMode 0644;
//   - downwardAPI items, also inside projected: fieldRef apiVersion v1;
//   - projected serviceAccountToken: expirationSeconds 3600;
//   - iscsi: iscsiInterface "default";
//   - rbd: pool "rbd", user "admin", keyring "/etc/ceph/keyring";
//   - azureDisk: cachingMode ReadWrite, fsType ext4, readOnly false, kind Shared;
//   - scaleIO: storageMode ThinProvisioned, fsType xfs;
//   - ephemeral: the claim template's spec, as for a PersistentVolumeClaim.
func defaultVolume(v *corev1.Volume) {
	src := &v.VolumeSource
	if *src == (corev1.VolumeSource{}) {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if src.Image != nil && src.Image.PullPolicy == "" {
		src.Image.PullPolicy = pullPolicy(src.Image.Reference)
	}
	if src.HostPath != nil {
		defaultHostPath(src.HostPath)
	}
	if src.Secret != nil {
		setIfNil(&src.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	}
	if src.ConfigMap != nil {
		setIfNil(&src.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if src.DownwardAPI != nil {
		setIfNil(&src.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		downwardAPIItems(src.DownwardAPI.Items)
	}
	if src.Projected != nil {
		defaultProjected(src.Projected)
	}
	if src.ISCSI != nil {
		setIfEmpty(&src.ISCSI.ISCSIInterface, "default")
	}
	if src.RBD != nil {
		defaultRBD(&src.RBD.RBDPool, &src.RBD.RadosUser, &src.RBD.Keyring)
	}
	if src.AzureDisk != nil {
		defaultAzureDisk(src.AzureDisk)
	}
	if src.ScaleIO != nil {
		setIfEmpty(&src.ScaleIO.StorageMode, "ThinProvisioned")
		setIfEmpty(&src.ScaleIO.FSType, "xfs")
	}
	if src.Ephemeral != nil && src.Ephemeral.VolumeClaimTemplate != nil {
		claimSpec(&src.Ephemeral.VolumeClaimTemplate.Spec)
	}
}

// defaultProjected sets the projected volume's defaultMode and defaults its
// downward API items and service account token sources. Its secret and
// config map sources have no defaults.
func defaultProjected(p *corev1.ProjectedVolumeSource) {
	setIfNil(&p.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
	for i := range p.Sources {
		s := &p.Sources[i]
		if s.DownwardAPI != nil {
			downwardAPIItems(s.DownwardAPI.Items)
		}
		if s.ServiceAccountToken != nil {
			setIfNil(&s.ServiceAccountToken.ExpirationSeconds, int64(3600))
		}
	}
}

// downwardAPIItems sets apiVersion v1 on each item's fieldRef.
func downwardAPIItems(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if items[i].FieldRef != nil {
			defaultFieldSelector(items[i].FieldRef)
		}
	}
}

// defaultHostPath sets type "" (HostPathUnset: mount without checking).
func defaultHostPath(h *corev1.HostPathVolumeSource) {
	setIfNil(&h.Type, corev1.HostPathUnset)
}

// defaultRBD fills the Ceph pool, user and keyring of an rbd volume, given
// as pointers because pod and persistent volumes use different types.
func defaultRBD(pool, user, keyring *string) {
	setIfEmpty(pool, "rbd")
	setIfEmpty(user, "admin")
	setIfEmpty(keyring, "/etc/ceph/keyring")
}

// defaultAzureDisk sets cachingMode ReadWrite, fsType ext4, readOnly false
// and kind Shared where unset.
func defaultAzureDisk(d *corev1.AzureDiskVolumeSource) {
	setIfNil(&d.CachingMode, corev1.AzureDataDiskCachingReadWrite)
	setIfNil(&d.FSType, "ext4")
	setIfNil(&d.ReadOnly, false)
	setIfNil(&d.Kind, corev1.AzureSharedBlobDisk)
}
