package validation

import (
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	// mutatingOperations are those a mutating policy may match: it cannot
	// mutate a deletion.
	mutatingOperations = []string{string(admissionv1.OperationAll), string(admissionv1.Connect), string(admissionv1.Create), string(admissionv1.Update)}
	patchTypes         = []string{string(admissionv1.PatchTypeApplyConfiguration), string(admissionv1.PatchTypeJSONPatch)}
)

// MutatingAdmissionPolicy validates a MutatingAdmissionPolicy on create: a
// failure policy, match constraints with resource rules whose operations a
// mutation can serve, match conditions, variables, at least one mutation
// with the member its patch type names, and a reinvocation policy. As for
// validating policies, kubelite checks only the structure: expressions must
// be set but are not compiled.
func MutatingAdmissionPolicy(p *admissionv1.MutatingAdmissionPolicy) field.ErrorList {
	return append(mutatingPolicy(p, false), staticSuffix(p.Name)...)
}

// MutatingAdmissionPolicyUpdate validates an update; match conditions are
// skipped when neither they nor paramKind changed.
func MutatingAdmissionPolicyUpdate(p, old *admissionv1.MutatingAdmissionPolicy) field.ErrorList {
	unchanged := equality.Semantic.DeepEqual(p.Spec.ParamKind, old.Spec.ParamKind) &&
		equality.Semantic.DeepEqual(p.Spec.MatchConditions, old.Spec.MatchConditions)
	return mutatingPolicy(p, unchanged)
}

func mutatingPolicy(p *admissionv1.MutatingAdmissionPolicy, ignoreMatchConditions bool) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&p.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	spec, fp := &p.Spec, field.NewPath("spec")
	if fpol := spec.FailurePolicy; fpol == nil {
		errs = append(errs, field.Required(fp.Child("failurePolicy"), ""))
	} else if !containsValue(failurePolicies, string(*fpol)) {
		errs = append(errs, field.NotSupported(fp.Child("failurePolicy"), *fpol, failurePolicies))
	}
	if spec.ParamKind != nil {
		errs = append(errs, paramKind(spec.ParamKind, fp.Child("paramKind"))...)
	}
	if mc := spec.MatchConstraints; mc == nil {
		errs = append(errs, field.Required(fp.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, matchResources(mc, fp.Child("matchConstraints"))...)
		if len(mc.ResourceRules) == 0 {
			errs = append(errs, field.Required(fp.Child("matchConstraints", "resourceRules"), ""))
		}
		errs = append(errs, mutatingRuleOperations(mc, fp.Child("matchConstraints", "resourceRules", "operations"))...)
	}
	if !ignoreMatchConditions {
		errs = append(errs, matchConditions(spec.MatchConditions, fp.Child("matchConditions"))...)
	}
	errs = append(errs, policyVariables(spec.Variables, fp.Child("variables"))...)
	if len(spec.Mutations) == 0 {
		errs = append(errs, field.Required(fp.Child("mutations"), "mutations must contain at least one item"))
	}
	for i := range spec.Mutations {
		errs = append(errs, mutation(&spec.Mutations[i], fp.Child("mutations").Index(i))...)
	}
	rp := fp.Child("reinvocationPolicy")
	if spec.ReinvocationPolicy == "" {
		errs = append(errs, field.Required(rp, ""))
	} else if !containsValue(reinvocationPolicies, string(spec.ReinvocationPolicy)) {
		errs = append(errs, field.NotSupported(rp, spec.ReinvocationPolicy, reinvocationPolicies))
	}
	return errs
}

// mutatingRuleOperations reports each resource rule operation a mutation
// cannot serve (DELETE), at the path upstream uses: without the rule index.
func mutatingRuleOperations(mr *admissionv1.MatchResources, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, r := range mr.ResourceRules {
		for _, op := range r.Operations {
			if !containsValue(mutatingOperations, string(op)) {
				errs = append(errs, field.NotSupported(fldPath, op, mutatingOperations))
			}
		}
	}
	return errs
}

// mutation requires a known patch type, the member of that type with an
// expression, and not the other member.
func mutation(m *admissionv1.Mutation, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	expression := func(expr string, p *field.Path) {
		if strings.TrimSpace(expr) == "" {
			errs = append(errs, field.Required(p.Child("expression"), ""))
		}
	}
	switch m.PatchType {
	case "":
		errs = append(errs, field.Required(fldPath.Child("patchType"), ""))
	case admissionv1.PatchTypeJSONPatch:
		if m.JSONPatch == nil {
			errs = append(errs, field.Required(fldPath.Child("jsonPatch"), "must be specified when patchType is JSONPatch"))
		} else {
			expression(m.JSONPatch.Expression, fldPath.Child("jsonPatch"))
		}
		if m.ApplyConfiguration != nil {
			errs = append(errs, field.Invalid(fldPath.Child("applyConfiguration"), "{applyConfiguration}", "must not be specified when patchType is JSONPatch"))
		}
	case admissionv1.PatchTypeApplyConfiguration:
		if m.ApplyConfiguration == nil {
			errs = append(errs, field.Required(fldPath.Child("applyConfiguration"), "must be specified when patchType is ApplyConfiguration"))
		} else {
			expression(m.ApplyConfiguration.Expression, fldPath.Child("applyConfiguration"))
		}
		if m.JSONPatch != nil {
			errs = append(errs, field.Invalid(fldPath.Child("jsonPatch"), "{jsonPatch}", "must not be specified when patchType is ApplyConfiguration"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("patchType"), m.PatchType, patchTypes))
	}
	return errs
}

// MutatingAdmissionPolicyBinding validates a binding on create: a policy
// name, an optional paramRef and match resources whose rules a mutation
// can serve.
func MutatingAdmissionPolicyBinding(b *admissionv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	return append(mutatingBinding(b), staticSuffix(b.Name)...)
}

// MutatingAdmissionPolicyBindingUpdate validates an update as a create,
// without the reserved-name check.
func MutatingAdmissionPolicyBindingUpdate(b, old *admissionv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	return mutatingBinding(b)
}

func mutatingBinding(b *admissionv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	spec, fp := &b.Spec, field.NewPath("spec")
	errs := bindingCommon(&b.ObjectMeta, spec.PolicyName, spec.ParamRef, spec.MatchResources, fp)
	if spec.MatchResources != nil {
		errs = append(errs, mutatingRuleOperations(spec.MatchResources, fp.Child("matchResources", "resourceRules", "operations"))...)
	}
	return errs
}
