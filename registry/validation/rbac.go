package validation

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// rbacName is the RBAC name rule: any name usable as a path segment.
func rbacName(name string, _ bool) []string { return content.IsPathSegmentName(name) }

// Role validates a Role on create: each rule names verbs and, being
// namespaced, only resources.
func Role(r *rbacv1.Role) field.ErrorList {
	errs := objectMeta(&r.ObjectMeta, true, rbacName)
	return append(errs, policyRules(r.Rules, true, field.NewPath("rules"))...)
}

// RoleUpdate validates a Role update: the whole new Role plus the metadata
// update rules.
func RoleUpdate(r, old *rbacv1.Role) field.ErrorList {
	return append(Role(r), objectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)...)
}

// ClusterRole validates a ClusterRole on create: rules as for Role, except
// that nonResourceURLs are allowed, and a valid aggregation rule.
func ClusterRole(r *rbacv1.ClusterRole) field.ErrorList {
	return clusterRole(r, false)
}

// ClusterRoleUpdate validates a ClusterRole update. Selector label values
// that were already invalid in the old aggregation rule stay tolerated.
func ClusterRoleUpdate(r, old *rbacv1.ClusterRole) field.ErrorList {
	errs := clusterRole(r, hasInvalidSelectorValue(old))
	return append(errs, objectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)...)
}

func clusterRole(r *rbacv1.ClusterRole, allowInvalidLabelValue bool) field.ErrorList {
	errs := objectMeta(&r.ObjectMeta, false, rbacName)
	errs = append(errs, policyRules(r.Rules, false, field.NewPath("rules"))...)
	if r.AggregationRule == nil {
		return errs
	}
	p := field.NewPath("aggregationRule", "clusterRoleSelectors")
	if len(r.AggregationRule.ClusterRoleSelectors) == 0 {
		errs = append(errs, field.Required(p, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
	}
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValue}
	for i := range r.AggregationRule.ClusterRoleSelectors {
		sel := &r.AggregationRule.ClusterRoleSelectors[i]
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, opts, p.Index(i))...)
		if s, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(p.Index(i), s, "invalid label selector."))
		}
	}
	return errs
}

// hasInvalidSelectorValue reports whether any aggregation selector of r
// fails strict label selector validation.
func hasInvalidSelectorValue(r *rbacv1.ClusterRole) bool {
	if r.AggregationRule == nil {
		return false
	}
	for i := range r.AggregationRule.ClusterRoleSelectors {
		if len(metav1validation.ValidateLabelSelector(&r.AggregationRule.ClusterRoleSelectors[i], metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
			return true
		}
	}
	return false
}

// policyRules checks each rule has verbs, and either nonResourceURLs alone
// (cluster scope only) or apiGroups and resources.
func policyRules(rules []rbacv1.PolicyRule, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rules {
		p := fldPath.Index(i)
		if len(r.Verbs) == 0 {
			errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
		}
		if len(r.NonResourceURLs) > 0 {
			if namespaced {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
			}
			if len(r.APIGroups) > 0 || len(r.Resources) > 0 || len(r.ResourceNames) > 0 {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
			}
			continue
		}
		if len(r.APIGroups) == 0 {
			errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
		}
		if len(r.Resources) == 0 {
			errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
		}
	}
	return errs
}
