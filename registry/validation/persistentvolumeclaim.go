package validation

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/diff"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// accessModes are the volume access modes the API accepts.
var accessModes = []corev1.PersistentVolumeAccessMode{
	corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod,
}

// volumeModes are the supported volume modes.
var volumeModes = []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}

// PersistentVolumeClaim validates a claim on create.
func PersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := objectMeta(&pvc.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, pvcSpec(&pvc.Spec, field.NewPath("spec"))...)
}

// PersistentVolumeClaimUpdate validates a claim update. The spec is
// immutable except volumeName and a missing storageClassName (each set
// once) and, for bound claims, growing
// resources.requests.storage and changing volumeAttributesClassName.
func PersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := objectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, PersistentVolumeClaim(pvc)...)
	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if old.Spec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	// A claim created without a class may get one later, once: the PV
	// controller gives unbound claims the default class (upstream's
	// retroactive default StorageClass assignment).
	if _, beta := old.Annotations["volume.beta.kubernetes.io/storage-class"]; !beta && old.Spec.StorageClassName == nil &&
		newSpec.StorageClassName != nil && *newSpec.StorageClassName != "" {
		oldSpec.StorageClassName = newSpec.StorageClassName
	}
	if pvc.Status.Phase == corev1.ClaimBound {
		if newSpec.Resources.Requests != nil {
			newSpec.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
	}
	if !apiequality.Semantic.DeepEqual(newSpec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"+diff.Diff(oldSpec, newSpec)))
	}
	oldSize, newSize := old.Spec.Resources.Requests[corev1.ResourceStorage], pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(old.Status.Capacity[corev1.ResourceStorage]) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	errs = append(errs, immutable(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	return errs
}

// PersistentVolumeClaimStatusUpdate validates a write to the claim's status.
func PersistentVolumeClaimStatusUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := objectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta)
	if pvc.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	if len(pvc.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	capPath := field.NewPath("status", "capacity")
	for _, name := range sortedResourceNames(pvc.Status.Capacity) {
		q := pvc.Status.Capacity[name]
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(capPath.Key(string(name)), q.Value(), "must be a valid resource quantity"))
		}
	}
	return errs
}

// pvcSpec validates a claim spec, also used by ephemeral volume templates.
func pvcSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	errs = append(errs, accessModeList(spec.AccessModes, fldPath.Child("accessModes"))...)
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if e := positiveQuantity(q, storagePath); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		errs = append(errs, quantityValue(corev1.ResourceStorage, q, storagePath)...)
	}
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && *spec.VolumeMode != volumeModes[0] && *spec.VolumeMode != volumeModes[1] {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, volumeModes))
	}
	if ds := spec.DataSource; ds != nil {
		errs = append(errs, dataSource(ds.Name, ds.Kind, ds.APIGroup, fldPath.Child("dataSource"))...)
	}
	if ref := spec.DataSourceRef; ref != nil {
		p := fldPath.Child("dataSourceRef")
		errs = append(errs, dataSource(ref.Name, ref.Kind, ref.APIGroup, p)...)
		if ref.Namespace != nil && *ref.Namespace != "" {
			errs = append(errs, objectName(apimachineryvalidation.ValidateNamespaceName, *ref.Namespace, p.Child("namespace"))...)
			if spec.DataSource != nil {
				errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
			}
		} else if ds := spec.DataSource; ds != nil &&
			(ds.Name != ref.Name || ds.Kind != ref.Kind || apiGroup(ds.APIGroup) != apiGroup(ref.APIGroup)) {
			errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	if v := spec.VolumeAttributesClassName; v != nil && *v != "" {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *v, fldPath.Child("volumeAttributesClassName"))...)
	}
	return errs
}

// accessModeList checks each mode is known and ReadWriteOncePod stands alone.
func accessModeList(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rwop, other := false, false
	for _, m := range modes {
		known := false
		for _, a := range accessModes {
			known = known || m == a
		}
		if !known {
			errs = append(errs, field.NotSupported(fldPath, m, accessModes))
		} else if m == corev1.ReadWriteOncePod {
			rwop = true
		} else {
			other = true
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// dataSource checks a claim's data source reference.
func dataSource(name, kind string, group *string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	}
	g := apiGroup(group)
	if g == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if g != "" {
		errs = append(errs, msgs(fldPath.Child("apiGroup"), g, utilvalidation.IsDNS1123Subdomain(g))...)
	}
	return errs
}

// apiGroup dereferences an optional API group.
func apiGroup(g *string) string {
	if g == nil {
		return ""
	}
	return *g
}
