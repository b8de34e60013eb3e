package validation

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PodTemplate validates a PodTemplate on create.
func PodTemplate(pt *corev1.PodTemplate) field.ErrorList {
	errs := objectMeta(&pt.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, PodTemplateSpec(&pt.Template, field.NewPath("template"))...)
}

// PodTemplateUpdate validates a PodTemplate update; the template may change
// freely as long as it stays valid.
func PodTemplateUpdate(pt, old *corev1.PodTemplate) field.ErrorList {
	errs := objectMetaUpdate(&pt.ObjectMeta, &old.ObjectMeta)
	return append(errs, PodTemplateSpec(&pt.Template, field.NewPath("template"))...)
}
