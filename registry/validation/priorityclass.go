package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Priority bounds of scheduling.k8s.io: users may define values up to
// highestUserPriority; the two system classes sit above it.
const (
	highestUserPriority    = 1000000000
	systemCriticalPriority = 2 * highestUserPriority
	systemPriorityPrefix   = "system-"
)

// systemPriorityClasses are the only classes allowed a "system-" name, each
// with its fixed value and globalDefault false.
var systemPriorityClasses = map[string]int32{
	"system-node-critical":    systemCriticalPriority + 1000,
	"system-cluster-critical": systemCriticalPriority,
}

// preemptionPolicies are the values of PriorityClass.preemptionPolicy.
var preemptionPolicies = []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}

// PriorityClass validates a PriorityClass on create: names with the system-
// prefix are reserved for the two system classes, and user classes may not
// exceed 1000000000.
func PriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	errs := objectMeta(&pc.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	if strings.HasPrefix(pc.Name, systemPriorityPrefix) {
		if reason := systemPriorityClassProblem(pc); reason != "" {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				"priority class names with '"+systemPriorityPrefix+"' prefix are reserved for system use only. error: "+reason))
		}
	} else if pc.Value > highestUserPriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", highestUserPriority)))
	}
	if pc.PreemptionPolicy != nil {
		errs = append(errs, oneOf(*pc.PreemptionPolicy, preemptionPolicies, field.NewPath("preemptionPolicy"))...)
	}
	return errs
}

// systemPriorityClassProblem says why pc is not one of the system classes,
// or returns "" when it is.
func systemPriorityClassProblem(pc *schedulingv1.PriorityClass) string {
	value, ok := systemPriorityClasses[pc.Name]
	switch {
	case !ok:
		return fmt.Sprintf("%v is not a known system priority class", pc.Name)
	case pc.Value != value:
		return fmt.Sprintf("value of %v PriorityClass must be %v", pc.Name, value)
	case pc.GlobalDefault:
		return fmt.Sprintf("globalDefault of %v PriorityClass must be false", pc.Name)
	}
	return ""
}

// PriorityClassUpdate validates a PriorityClass update: value and
// preemptionPolicy are immutable. Like upstream, the rest of the object is
// not revalidated.
func PriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	errs := objectMetaUpdate(&pc.ObjectMeta, &old.ObjectMeta)
	if pc.Value != old.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(errs, immutable(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}
