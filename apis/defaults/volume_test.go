package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// specWithVolumes wraps volumes in a pod spec for PodSpec tables.
func specWithVolumes(vs ...corev1.Volume) corev1.PodSpec {
	return corev1.PodSpec{Volumes: vs}
}

// vol names a volume source.
func vol(name string, src corev1.VolumeSource) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: src}
}

func TestPodSpecVolumes(t *testing.T) {
	mode := int32(0o644)
	fieldRef := func(v string) *corev1.ObjectFieldSelector {
		return &corev1.ObjectFieldSelector{APIVersion: v, FieldPath: "metadata.name"}
	}
	runCases(t, PodSpec, []defaultCase[corev1.PodSpec]{{
		name: "volume without source becomes emptyDir",
		in:   specWithVolumes(corev1.Volume{Name: "scratch"}),
		want: defaultedSpec(specWithVolumes(vol("scratch", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}))),
	}, {
		name: "secret, configMap, downwardAPI and hostPath",
		in: specWithVolumes(
			vol("s", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}),
			vol("c", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}),
			vol("d", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: fieldRef("")}}}}),
			vol("h", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}),
			vol("kept", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: new(int32(0o400))}}),
		),
		want: defaultedSpec(specWithVolumes(
			vol("s", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: &mode}}),
			vol("c", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, DefaultMode: &mode}}),
			vol("d", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{DefaultMode: &mode, Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: fieldRef("v1")}}}}),
			vol("h", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log", Type: new(corev1.HostPathUnset)}}),
			vol("kept", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: new(int32(0o400))}}),
		)),
	}, {
		name: "projected volume",
		in: specWithVolumes(vol("p", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: fieldRef("")}}}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
		}}})),
		want: defaultedSpec(specWithVolumes(vol("p", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: &mode, Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: new(int64(3600))}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: fieldRef("v1")}}}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
		}}}))),
	}, {
		name: "image volume pull policy",
		in: specWithVolumes(
			vol("latest", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/artifact"}}),
			vol("tagged", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/artifact:v1"}}),
		),
		want: defaultedSpec(specWithVolumes(
			vol("latest", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/artifact", PullPolicy: corev1.PullAlways}}),
			vol("tagged", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/artifact:v1", PullPolicy: corev1.PullIfNotPresent}}),
		)),
	}, {
		name: "legacy in-tree volume plugins",
		in: specWithVolumes(
			vol("iscsi", corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "t", IQN: "i"}}),
			vol("rbd", corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{RBDImage: "img"}}),
			vol("azure", corev1.VolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d"}}),
			vol("scaleio", corev1.VolumeSource{ScaleIO: &corev1.ScaleIOVolumeSource{System: "s"}}),
		),
		want: defaultedSpec(specWithVolumes(
			vol("iscsi", corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "t", IQN: "i", ISCSIInterface: "default"}}),
			vol("rbd", corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{RBDImage: "img", RBDPool: "rbd", RadosUser: "admin", Keyring: "/etc/ceph/keyring"}}),
			vol("azure", corev1.VolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{
				DiskName: "d", CachingMode: new(corev1.AzureDataDiskCachingReadWrite), FSType: new("ext4"),
				ReadOnly: new(false), Kind: new(corev1.AzureSharedBlobDisk),
			}}),
			vol("scaleio", corev1.VolumeSource{ScaleIO: &corev1.ScaleIOVolumeSource{System: "s", StorageMode: "ThinProvisioned", FSType: "xfs"}}),
		)),
	}, {
		name: "ephemeral volume claim template",
		in: specWithVolumes(vol("eph", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
			VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("1.0001")}},
			}},
		}})),
		want: defaultedSpec(specWithVolumes(vol("eph", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
			VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{
				VolumeMode: new(corev1.PersistentVolumeFilesystem),
				Resources:  corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("1001m")}},
			}},
		}}))),
	}})
}
