package validation

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// quotaScopes are the scopes a quota may use.
var quotaScopes = map[corev1.ResourceQuotaScope]bool{
	corev1.ResourceQuotaScopeTerminating: true, corev1.ResourceQuotaScopeNotTerminating: true,
	corev1.ResourceQuotaScopeBestEffort: true, corev1.ResourceQuotaScopeNotBestEffort: true,
	corev1.ResourceQuotaScopePriorityClass: true, corev1.ResourceQuotaScopeCrossNamespacePodAffinity: true,
	corev1.ResourceQuotaScopeVolumeAttributesClass: true,
}

// podComputeQuota are the resources pod-scoped quotas may limit.
var podComputeQuota = map[corev1.ResourceName]bool{
	corev1.ResourcePods: true, corev1.ResourceCPU: true, corev1.ResourceMemory: true,
	corev1.ResourceLimitsCPU: true, corev1.ResourceLimitsMemory: true,
	corev1.ResourceRequestsCPU: true, corev1.ResourceRequestsMemory: true,
}

// ResourceQuota validates a quota on create: resource names and quantities
// in spec.hard, status.hard and status.used, and scope rules.
func ResourceQuota(rq *corev1.ResourceQuota) field.ErrorList {
	errs := objectMeta(&rq.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, quotaSpec(&rq.Spec, field.NewPath("spec"))...)
	errs = append(errs, quotaList(rq.Status.Hard, field.NewPath("status", "hard"))...)
	return append(errs, quotaList(rq.Status.Used, field.NewPath("status", "used"))...)
}

// ResourceQuotaUpdate validates a quota update; scopes are immutable.
func ResourceQuotaUpdate(rq, old *corev1.ResourceQuota) field.ErrorList {
	errs := objectMetaUpdate(&rq.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, quotaSpec(&rq.Spec, field.NewPath("spec"))...)
	newScopes, oldScopes := map[corev1.ResourceQuotaScope]bool{}, map[corev1.ResourceQuotaScope]bool{}
	for _, s := range rq.Spec.Scopes {
		newScopes[s] = true
	}
	for _, s := range old.Spec.Scopes {
		oldScopes[s] = true
	}
	same := len(newScopes) == len(oldScopes)
	for s := range newScopes {
		same = same && oldScopes[s]
	}
	if !same {
		errs = append(errs, field.Invalid(field.NewPath("spec", "scopes"), rq.Spec.Scopes, immutableMsg))
	}
	return errs
}

// ResourceQuotaStatusUpdate validates a write to resourcequotas/status.
func ResourceQuotaStatusUpdate(rq, old *corev1.ResourceQuota) field.ErrorList {
	errs := objectMetaUpdate(&rq.ObjectMeta, &old.ObjectMeta)
	if rq.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	errs = append(errs, quotaList(rq.Status.Hard, field.NewPath("status", "hard"))...)
	return append(errs, quotaList(rq.Status.Used, field.NewPath("status", "used"))...)
}

// quotaList checks names and quantities of a quota resource list.
func quotaList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, n := range sortedResourceNames(list) {
		p := fldPath.Key(string(n))
		errs = append(errs, quotaResourceName(n, p)...)
		errs = append(errs, quantityValue(n, list[n], p)...)
	}
	return errs
}

// scopeFits reports whether a standard quota resource can be limited under
// scope.
func scopeFits(scope corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	switch scope {
	case corev1.ResourceQuotaScopeBestEffort:
		return name == corev1.ResourcePods
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return name == corev1.ResourcePersistentVolumeClaims || name == corev1.ResourceRequestsStorage
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podComputeQuota[name]
	}
	return true
}

// quotaSpec validates hard limits, scopes and the scope selector.
func quotaSpec(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	errs := quotaList(spec.Hard, fldPath.Child("hard"))
	standard := func(n corev1.ResourceName) bool { return standardResources[n] || isQuotaHugePages(n) }
	scopePath := fldPath.Child("scopes")
	used := map[corev1.ResourceQuotaScope]bool{}
	for _, s := range spec.Scopes {
		if !quotaScopes[s] {
			errs = append(errs, field.Invalid(scopePath, spec.Scopes, "unsupported scope"))
		}
		for _, n := range sortedResourceNames(spec.Hard) {
			if standard(n) && !scopeFits(s, n) {
				errs = append(errs, field.Invalid(scopePath, spec.Scopes, "unsupported scope applied to resource"))
			}
		}
		used[s] = true
	}
	errs = append(errs, conflictingScopes(used, scopePath, spec.Scopes)...)
	if spec.ScopeSelector == nil {
		return errs
	}
	mp := fldPath.Child("scopeSelector", "matchExpressions")
	used = map[corev1.ResourceQuotaScope]bool{}
	for _, r := range spec.ScopeSelector.MatchExpressions {
		if !quotaScopes[r.ScopeName] {
			errs = append(errs, field.Invalid(mp.Child("scopeName"), r.ScopeName, "unsupported scope"))
		}
		for _, n := range sortedResourceNames(spec.Hard) {
			if standard(n) && !scopeFits(r.ScopeName, n) {
				errs = append(errs, field.Invalid(mp, spec.ScopeSelector, "unsupported scope applied to resource"))
			}
		}
		switch r.ScopeName {
		case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
			corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
			if r.Operator != corev1.ScopeSelectorOpExists {
				errs = append(errs, field.Invalid(mp.Child("operator"), r.Operator,
					"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
			}
		}
		switch r.Operator {
		case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(mp.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
			}
		case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
			if len(r.Values) != 0 {
				errs = append(errs, field.Invalid(mp.Child("values"), r.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
			}
		default:
			errs = append(errs, field.Invalid(mp.Child("operator"), r.Operator, "not a valid selector operator"))
		}
		used[r.ScopeName] = true
	}
	return append(errs, conflictingScopes(used, mp, spec.Scopes)...)
}

// conflictingScopes rejects BestEffort with NotBestEffort and Terminating
// with NotTerminating.
func conflictingScopes(used map[corev1.ResourceQuotaScope]bool, fldPath *field.Path, scopes []corev1.ResourceQuotaScope) field.ErrorList {
	var errs field.ErrorList
	if used[corev1.ResourceQuotaScopeBestEffort] && used[corev1.ResourceQuotaScopeNotBestEffort] {
		errs = append(errs, field.Invalid(fldPath, scopes, "conflicting scopes"))
	}
	if used[corev1.ResourceQuotaScopeTerminating] && used[corev1.ResourceQuotaScopeNotTerminating] {
		errs = append(errs, field.Invalid(fldPath, scopes, "conflicting scopes"))
	}
	return errs
}
