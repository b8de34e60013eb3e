package validation

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PersistentVolume validates a cluster-scoped PersistentVolume on create:
// access modes, storage capacity, reclaim policy, node affinity, exactly one
// volume source, class name and volume mode.
func PersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	errs := objectMeta(&pv.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, pvSpec(&pv.Spec, field.NewPath("spec"))...)
}

// PersistentVolumeUpdate validates a PersistentVolume update; the volume
// source and volume mode are immutable (a CSI controllerExpandSecretRef may
// be added once).
func PersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := objectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, PersistentVolume(pv)...)
	src := pv.Spec.PersistentVolumeSource.DeepCopy()
	if old.Spec.CSI != nil && old.Spec.CSI.ControllerExpandSecretRef == nil && src.CSI != nil {
		src.CSI.ControllerExpandSecretRef = nil
	}
	if !apiequality.Semantic.DeepEqual(*src, old.Spec.PersistentVolumeSource) {
		d := diff.Diff(old.Spec.PersistentVolumeSource, *src)
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is immutable after creation\n"+d))
	}
	errs = append(errs, immutable(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.VolumeAttributesClassName != nil && pv.Spec.VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}

// PersistentVolumeStatusUpdate validates a write to the volume's status.
func PersistentVolumeStatusUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := objectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta)
	if pv.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	return errs
}

// pvSpec validates a PersistentVolume spec.
func pvSpec(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), ""))
	}
	errs = append(errs, accessModeList(spec.AccessModes, fldPath.Child("accessModes"))...)
	capPath := fldPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(capPath, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for _, n := range sortedResourceNames(spec.Capacity) {
		q := spec.Capacity[n]
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(capPath.Key(string(n)), q.Value(), "must be a valid resource quantity"))
		}
		errs = append(errs, positiveQuantity(q, capPath.Key(string(n)))...)
	}
	if p := spec.PersistentVolumeReclaimPolicy; p != "" {
		allowed := []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain}
		if p != allowed[0] && p != allowed[1] && p != allowed[2] {
			errs = append(errs, field.NotSupported(fldPath.Child("persistentVolumeReclaimPolicy"), p, allowed))
		}
	}
	hasAffinity := false
	if na := spec.NodeAffinity; na != nil {
		p := fldPath.Child("nodeAffinity")
		if na.Required == nil {
			errs = append(errs, field.Required(p.Child("required"), "must specify required node constraints"))
		} else {
			hasAffinity = true
			errs = append(errs, nodeSelector(na.Required, p.Child("required"))...)
		}
	}
	errs = append(errs, pvSource(&spec.PersistentVolumeSource, hasAffinity, fldPath)...)
	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && *m != volumeModes[0] && *m != volumeModes[1] {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *m, volumeModes))
	}
	if v := spec.VolumeAttributesClassName; v != nil {
		p := fldPath.Child("volumeAttributesClassName")
		if *v == "" {
			errs = append(errs, field.Required(p, "an empty string is disallowed"))
		} else {
			errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *v, p)...)
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(fldPath.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

// pvSource applies the exactly-one-source rule; hostPath, local, nfs and csi
// are checked in depth, the legacy in-tree drivers only by presence.
func pvSource(s *corev1.PersistentVolumeSource, hasAffinity bool, fldPath *field.Path) field.ErrorList {
	entries := []sourceEntry{
		{"hostPath", s.HostPath != nil, func() field.ErrorList { return hostPath(s.HostPath, fldPath.Child("hostPath")) }},
		{"gcePersistentDisk", s.GCEPersistentDisk != nil, nil},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil, nil},
		{"glusterfs", s.Glusterfs != nil, nil},
		{"flocker", s.Flocker != nil, nil},
		{"nfs", s.NFS != nil, func() field.ErrorList { return nfs(s.NFS.Server, s.NFS.Path, fldPath.Child("nfs")) }},
		{"rbd", s.RBD != nil, nil},
		{"quobyte", s.Quobyte != nil, nil},
		{"cinder", s.Cinder != nil, nil},
		{"cephFS", s.CephFS != nil, nil},
		{"iscsi", s.ISCSI != nil, nil},
		{"fc", s.FC != nil, nil},
		{"flexVolume", s.FlexVolume != nil, nil},
		{"azureFile", s.AzureFile != nil, nil},
		{"vsphereVolume", s.VsphereVolume != nil, nil},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil, nil},
		{"portworxVolume", s.PortworxVolume != nil, nil},
		{"azureDisk", s.AzureDisk != nil, nil},
		{"scaleIO", s.ScaleIO != nil, nil},
		{"local", s.Local != nil, func() field.ErrorList {
			p := fldPath.Child("local")
			var errs field.ErrorList
			if s.Local.Path == "" {
				errs = append(errs, field.Required(p.Child("path"), ""))
			} else {
				errs = append(errs, noBacksteps(s.Local.Path, p.Child("path"))...)
			}
			if !hasAffinity {
				errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volume requires node affinity"))
			}
			return errs
		}},
		{"storageos", s.StorageOS != nil, nil},
		{"csi", s.CSI != nil, func() field.ErrorList {
			p := fldPath.Child("csi")
			errs := csiDriverName(s.CSI.Driver, p.Child("driver"))
			if s.CSI.VolumeHandle == "" {
				errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
			}
			return errs
		}},
	}
	return oneSource(entries, fldPath)
}
