package validation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Namespace validates a namespace on create: a DNS label name, no namespace
// of its own, and valid spec finalizers.
func Namespace(ns *corev1.Namespace) field.ErrorList {
	errs := objectMeta(&ns.ObjectMeta, false, apimachineryvalidation.ValidateNamespaceName)
	for _, f := range ns.Spec.Finalizers {
		p := field.NewPath("spec", "finalizers")
		errs = append(errs, apimachineryvalidation.ValidateFinalizerName(string(f), p)...)
		if !strings.Contains(string(f), "/") && !standardFinalizers[string(f)] {
			errs = append(errs, field.Invalid(p, string(f), "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// NamespaceUpdate validates a namespace update; only metadata rules apply
// (spec finalizers change through the finalize subresource).
func NamespaceUpdate(ns, old *corev1.Namespace) field.ErrorList {
	return objectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
}

// NamespaceStatusUpdate validates a write to namespaces/status: the phase
// must be Active, or Terminating once deletion has started.
func NamespaceStatusUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := objectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}
