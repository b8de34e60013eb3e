package validation

import (
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// leaseStrategies are the Kubernetes-defined (unprefixed) lease strategies.
var leaseStrategies = []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}

// Lease validates a Lease on create. Like upstream, metadata uses the
// generic rules only, so finalizer names need no domain prefix here.
func Lease(l *coordinationv1.Lease) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&l.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, leaseSpec(&l.Spec, field.NewPath("spec"))...)
}

// LeaseUpdate validates a Lease update; every spec field may change.
func LeaseUpdate(l, old *coordinationv1.Lease) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&l.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, leaseSpec(&l.Spec, field.NewPath("spec"))...)
}

func leaseSpec(spec *coordinationv1.LeaseSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if d := spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("leaseDurationSeconds"), d, "must be greater than 0"))
	}
	if n := spec.LeaseTransitions; n != nil && *n < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("leaseTransitions"), n, "must be greater than or equal to 0"))
	}
	if s := spec.Strategy; s != nil {
		// Upstream nests the child twice: the path really is spec.strategy.strategy.
		p := fldPath.Child("strategy", "strategy")
		if !strings.Contains(string(*s), "/") {
			known := false
			for _, k := range leaseStrategies {
				known = known || *s == k
			}
			if !known {
				errs = append(errs, field.NotSupported(p, *s, leaseStrategies))
			}
		} else {
			errs = append(errs, qualifiedName(string(*s), p)...)
		}
	}
	if h := spec.PreferredHolder; h != nil && *h != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		errs = append(errs, field.Forbidden(fldPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}
