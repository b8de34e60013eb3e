package table

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// PersistentVolumes returns the table convertor for persistent volumes: Name,
// Capacity, Access Modes, Reclaim Policy, Status, Claim, StorageClass,
// VolumeAttributesClass, Reason, Age, and wide VolumeMode.
//
// Status is the phase, or "Terminating" once deletion started. Claim reads
// "namespace/name". Unset VolumeAttributesClass and VolumeMode show as
// "<unset>".
func PersistentVolumes() rest.TableConvertor {
	spec := corev1.PersistentVolumeSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Capacity", spec["capacity"]),
		column("Access Modes", spec["accessModes"]),
		column("Reclaim Policy", spec["persistentVolumeReclaimPolicy"]),
		column("Status", status["phase"]),
		column("Claim", spec["claimRef"]),
		column("StorageClass", "StorageClass of the pv"),
		column("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
		column("Reason", status["reason"]),
		ageColumn(),
		wide(column("VolumeMode", spec["volumeMode"])),
	}
	return newConvertor(columns, cells(persistentVolumeCells))
}

func persistentVolumeCells(pv *corev1.PersistentVolume, now time.Time) []interface{} {
	claim := ""
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	class := pv.Spec.StorageClassName
	if c, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		class = c
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	return []interface{}{
		pv.Name,
		capacity.String(),
		accessModes(pv.Spec.AccessModes),
		string(pv.Spec.PersistentVolumeReclaimPolicy),
		phase,
		claim,
		class,
		unsetIfNil(pv.Spec.VolumeAttributesClassName),
		pv.Status.Reason,
		age(pv.CreationTimestamp, now),
		unsetIfNil((*string)(pv.Spec.VolumeMode)),
	}
}

// PersistentVolumeClaims returns the table convertor for persistent volume
// claims: Name, Status, Volume, Capacity, Access Modes, StorageClass,
// VolumeAttributesClass, Age, and wide VolumeMode.
//
// Capacity and Access Modes come from the status and stay empty until the
// claim names a volume.
func PersistentVolumeClaims() rest.TableConvertor {
	spec := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Status", status["phase"]),
		column("Volume", spec["volumeName"]),
		column("Capacity", status["capacity"]),
		column("Access Modes", status["accessModes"]),
		column("StorageClass", "StorageClass of the pvc"),
		column("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
		ageColumn(),
		wide(column("VolumeMode", spec["volumeMode"])),
	}
	return newConvertor(columns, cells(persistentVolumeClaimCells))
}

func persistentVolumeClaimCells(pvc *corev1.PersistentVolumeClaim, now time.Time) []interface{} {
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		storage := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity = storage.String()
		modes = accessModes(pvc.Status.AccessModes)
	}
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		class = c
	}
	return []interface{}{
		pvc.Name,
		phase,
		pvc.Spec.VolumeName,
		capacity,
		modes,
		class,
		unsetIfNil(pvc.Spec.VolumeAttributesClassName),
		age(pvc.CreationTimestamp, now),
		unsetIfNil((*string)(pvc.Spec.VolumeMode)),
	}
}

// accessModes abbreviates access modes in a fixed order, without
// duplicates: "RWO,ROX,RWX,RWOP".
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	var short []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"},
		{corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"},
		{corev1.ReadWriteOncePod, "RWOP"},
	} {
		for _, have := range modes {
			if have == m.mode {
				short = append(short, m.short)
				break
			}
		}
	}
	return strings.Join(short, ",")
}

// unsetIfNil returns *s, or "<unset>" if s is nil.
func unsetIfNil(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}
