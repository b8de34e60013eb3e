package validation

import (
	"slices"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var unhealthyPodEvictionPolicies = []string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}

// PodDisruptionBudget validates a PodDisruptionBudget on create: at most
// one of minAvailable and maxUnavailable, each a non-negative integer or a
// percentage up to 100%, a valid selector, and a known
// unhealthyPodEvictionPolicy. Upstream has no PDB-specific name rule: the
// generic path-segment rule applies, and only once the spec is valid.
func PodDisruptionBudget(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	errs := pdbSpec(&pdb.Spec, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("spec"))
	if len(errs) == 0 {
		errs = objectMeta(&pdb.ObjectMeta, true, path.ValidatePathSegmentName)
	}
	return errs
}

// PodDisruptionBudgetUpdate validates an update; the whole spec may
// change. Selector label values the old object already had stay allowed.
func PodDisruptionBudgetUpdate(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: metav1validation.LabelSelectorHasInvalidLabelValue(old.Spec.Selector)}
	errs := pdbSpec(&pdb.Spec, opts, field.NewPath("spec"))
	return append(errs, objectMetaUpdate(&pdb.ObjectMeta, &old.ObjectMeta)...)
}

// PodDisruptionBudgetStatusUpdate validates a write to the status:
// well-formed conditions and non-negative counts.
func PodDisruptionBudgetStatusUpdate(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	st, p := pdb.Status, field.NewPath("status")
	errs := metav1validation.ValidateConditions(st.Conditions, p.Child("conditions"))
	errs = append(errs, nonNegativeCounts(p,
		count{"disruptionsAllowed", int64(st.DisruptionsAllowed)},
		count{"currentHealthy", int64(st.CurrentHealthy)},
		count{"desiredHealthy", int64(st.DesiredHealthy)},
		count{"expectedPods", int64(st.ExpectedPods)})...)
	return append(errs, objectMetaUpdate(&pdb.ObjectMeta, &old.ObjectMeta)...)
}

func pdbSpec(spec *policyv1.PodDisruptionBudgetSpec, opts metav1validation.LabelSelectorValidationOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(fldPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	errs = append(errs, intOrPercent(spec.MinAvailable, fldPath.Child("minAvailable"))...)
	errs = append(errs, notAbove100Percent(spec.MinAvailable, fldPath.Child("minAvailable"))...)
	errs = append(errs, intOrPercent(spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
	errs = append(errs, notAbove100Percent(spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, opts, fldPath.Child("selector"))...)
	if p := spec.UnhealthyPodEvictionPolicy; p != nil && !slices.Contains(unhealthyPodEvictionPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(fldPath.Child("unhealthyPodEvictionPolicy"), *p, unhealthyPodEvictionPolicies))
	}
	return errs
}
