package validation

import (
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	admissionOperations = []string{string(admissionv1.OperationAll), string(admissionv1.Connect), string(admissionv1.Create), string(admissionv1.Delete), string(admissionv1.Update)}
	ruleScopes          = []string{string(admissionv1.AllScopes), string(admissionv1.ClusterScope), string(admissionv1.NamespacedScope)}
)

func hasWildcard[T ~string](list []T) bool {
	return containsValue(list, "*")
}

// ruleWithOperations checks the operations (known, "*" alone) and the rule.
func ruleWithOperations(r *admissionv1.RuleWithOperations, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	op := fldPath.Child("operations")
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(op, ""))
	}
	if len(r.Operations) > 1 && hasWildcard(r.Operations) {
		errs = append(errs, field.Invalid(op, r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, o := range r.Operations {
		if !containsValue(admissionOperations, string(o)) {
			errs = append(errs, field.NotSupported(op.Index(i), o, admissionOperations))
		}
	}
	return append(errs, admissionRule(&r.Rule, fldPath)...)
}

// admissionRule checks groups, versions, resources and scope of a rule.
func admissionRule(r *admissionv1.Rule, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	gp, vp := fldPath.Child("apiGroups"), fldPath.Child("apiVersions")
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(gp, ""))
	}
	if len(r.APIGroups) > 1 && hasWildcard(r.APIGroups) {
		errs = append(errs, field.Invalid(gp, r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	if len(r.APIVersions) == 0 {
		errs = append(errs, field.Required(vp, ""))
	}
	if len(r.APIVersions) > 1 && hasWildcard(r.APIVersions) {
		errs = append(errs, field.Invalid(vp, r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(vp.Index(i), ""))
		}
	}
	errs = append(errs, ruleResources(r.Resources, fldPath.Child("resources"))...)
	if s := r.Scope; s != nil && !containsValue(ruleScopes, string(*s)) {
		errs = append(errs, field.NotSupported(fldPath.Child("scope"), *s, ruleScopes))
	}
	return errs
}

// ruleResources checks resource[/subresource] entries and their wildcards:
// "*/*" and "*" exclude others, "x/*" excludes "x/y", "*/y" excludes "x/y".
func ruleResources(resources []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(resources) == 0 {
		errs = append(errs, field.Required(fldPath, ""))
	}
	wildSub, wildRes := map[string]bool{}, map[string]bool{}
	doubleWild, singleWild, plain := false, false, false
	for i, rs := range resources {
		if rs == "" {
			errs = append(errs, field.Required(fldPath.Index(i), ""))
			continue
		}
		doubleWild = doubleWild || rs == "*/*"
		singleWild = singleWild || rs == "*"
		res, sub, ok := strings.Cut(rs, "/")
		if !ok {
			// As upstream, only the last plain entry decides.
			plain = rs != "*"
			continue
		}
		if wildSub[res] {
			errs = append(errs, field.Invalid(fldPath.Index(i), rs, fmt.Sprintf("if '%s/*' is present, must not specify %s", res, rs)))
		}
		if wildRes[sub] {
			errs = append(errs, field.Invalid(fldPath.Index(i), rs, fmt.Sprintf("if '*/%s' is present, must not specify %s", sub, rs)))
		}
		if sub == "*" {
			wildSub[res] = true
		}
		if res == "*" {
			wildRes[sub] = true
		}
	}
	if len(resources) > 1 && doubleWild {
		errs = append(errs, field.Invalid(fldPath, resources, "if '*/*' is present, must not specify other resources"))
	}
	if singleWild && plain {
		errs = append(errs, field.Invalid(fldPath, resources, "if '*' is present, must not specify other resources without subresources"))
	}
	return errs
}

// matchResources checks a policy's or binding's match criteria; selectors
// and the match policy are defaulted, so their absence is Required.
func matchResources(mr *admissionv1.MatchResources, fldPath *field.Path) field.ErrorList {
	if mr == nil {
		return nil
	}
	var errs field.ErrorList
	if p := mr.MatchPolicy; p == nil {
		errs = append(errs, field.Required(fldPath.Child("matchPolicy"), ""))
	} else if !containsValue(matchPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(fldPath.Child("matchPolicy"), *p, matchPolicies))
	}
	strict := metav1validation.LabelSelectorValidationOptions{}
	if mr.NamespaceSelector == nil {
		errs = append(errs, field.Required(fldPath.Child("namespaceSelector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(mr.NamespaceSelector, strict, fldPath.Child("namespaceSelector"))...)
	}
	if mr.ObjectSelector == nil {
		errs = append(errs, field.Required(fldPath.Child("objectSelector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(mr.ObjectSelector, strict, fldPath.Child("objectSelector"))...)
	}
	for i := range mr.ResourceRules {
		errs = append(errs, namedRule(&mr.ResourceRules[i], fldPath.Child("resourceRules").Index(i))...)
	}
	for i := range mr.ExcludeResourceRules {
		errs = append(errs, namedRule(&mr.ExcludeResourceRules[i], fldPath.Child("excludeResourceRules").Index(i))...)
	}
	return errs
}

// namedRule checks unique path-segment resource names and the rule.
func namedRule(r *admissionv1.NamedRuleWithOperations, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, n := range r.ResourceNames {
		p := fldPath.Child("resourceNames").Index(i)
		errs = append(errs, msgs(p, n, content.IsPathSegmentName(n))...)
		if seen[n] {
			errs = append(errs, field.Duplicate(p, n))
		}
		seen[n] = true
	}
	return append(errs, ruleWithOperations(&r.RuleWithOperations, fldPath)...)
}
