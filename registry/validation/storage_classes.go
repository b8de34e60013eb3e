package validation

import (
	"strings"

	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// VolumeAttributesClass validates a VolumeAttributesClass on create: a
// qualified driver name and at least one, bounded, parameter.
func VolumeAttributesClass(vac *storagev1.VolumeAttributesClass) field.ErrorList {
	errs := objectMeta(&vac.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	if vac.DriverName == "" {
		errs = append(errs, field.Required(field.NewPath("driverName"), ""))
	} else {
		errs = append(errs, qualifiedName(strings.ToLower(vac.DriverName), field.NewPath("driverName"))...)
	}
	errs = append(errs, classParameters(vac.Parameters, field.NewPath("parameters"))...)
	if len(vac.Parameters) == 0 {
		errs = append(errs, field.Required(field.NewPath("parameters"), "must contain at least one key/value pair"))
	}
	return errs
}

// VolumeAttributesClassUpdate validates a VolumeAttributesClass update: the
// driver and the parameters never change, since volumes were modified to
// match them.
func VolumeAttributesClassUpdate(vac, old *storagev1.VolumeAttributesClass) field.ErrorList {
	errs := objectMetaUpdate(&vac.ObjectMeta, &old.ObjectMeta)
	if vac.DriverName != old.DriverName {
		errs = append(errs, field.Forbidden(field.NewPath("driverName"), "updates to driverName are forbidden."))
	}
	if !apiequality.Semantic.DeepEqual(vac.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	return append(errs, VolumeAttributesClass(vac)...)
}

// CSIStorageCapacity validates a CSIStorageCapacity on create: a valid node
// topology selector, a storage class name and a non-negative capacity.
func CSIStorageCapacity(c *storagev1.CSIStorageCapacity) field.ErrorList {
	return csiStorageCapacity(c, metav1validation.LabelSelectorValidationOptions{})
}

func csiStorageCapacity(c *storagev1.CSIStorageCapacity, opts metav1validation.LabelSelectorValidationOptions) field.ErrorList {
	errs := objectMeta(&c.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, metav1validation.ValidateLabelSelector(c.NodeTopology, opts, field.NewPath("nodeTopology"))...)
	errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, c.StorageClassName, field.NewPath("storageClassName"))...)
	if c.Capacity != nil {
		errs = append(errs, nonNegativeQuantity(*c.Capacity, field.NewPath("capacity"))...)
	}
	return errs
}

// CSIStorageCapacityUpdate validates a CSIStorageCapacity update: the object
// as on create, except that a selector whose label values an older server
// accepted stays valid, and the node topology and the storage class, the
// inputs of the driver's GetCapacity call, are immutable.
func CSIStorageCapacityUpdate(c, old *storagev1.CSIStorageCapacity) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{
		AllowInvalidLabelValueInSelector: len(metav1validation.ValidateLabelSelector(old.NodeTopology, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0,
	}
	errs := csiStorageCapacity(c, opts)
	errs = append(errs, objectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)...)
	if !apiequality.Semantic.DeepEqual(c.NodeTopology, old.NodeTopology) {
		errs = append(errs, field.Invalid(field.NewPath("nodeTopology"), c.NodeTopology, immutableMsg))
	}
	if c.StorageClassName != old.StorageClassName {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, immutableMsg))
	}
	return errs
}
