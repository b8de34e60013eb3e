package resourcequota

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apiserver/pkg/admission"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
)

// evaluator is a quota.Evaluator made of the few functions in which
// resources differ; pods, services and claims are each one value of it.
type evaluator struct {
	resource schema.GroupResource
	// list lists the resource's objects of a namespace; nil in admission,
	// which never asks for usage stats.
	list generic.ListFuncByNamespace
	// matching picks the quota resource names this evaluator counts.
	matching func([]corev1.ResourceName) []corev1.ResourceName
	// usage is what one object consumes.
	usage generic.UsageFunc
	// handles says whether a request can change usage.
	handles func(admission.Attributes) bool
	// scope reports whether an object is in a quota scope. Nil: the resource
	// has no scopes, and a scoped quota never matches it.
	scope generic.MatchesScopeFunc
	// constraints rejects an object that does not say how much it uses of
	// a resource a quota requires. Nil: none.
	constraints func(required []corev1.ResourceName, obj runtime.Object) error
}

var _ quota.Evaluator = (*evaluator)(nil)

func (e *evaluator) GroupResource() schema.GroupResource { return e.resource }

func (e *evaluator) Handles(a admission.Attributes) bool { return e.handles(a) }

func (e *evaluator) Usage(obj runtime.Object) (corev1.ResourceList, error) { return e.usage(obj) }

func (e *evaluator) MatchingResources(in []corev1.ResourceName) []corev1.ResourceName {
	return e.matching(in)
}

func (e *evaluator) Constraints(required []corev1.ResourceName, obj runtime.Object) error {
	if e.constraints == nil {
		return nil
	}
	return e.constraints(required, obj)
}

func (e *evaluator) scopeFunc() generic.MatchesScopeFunc {
	if e.scope == nil {
		return generic.MatchesNoScopeFunc
	}
	return e.scope
}

func (e *evaluator) Matches(q *corev1.ResourceQuota, obj runtime.Object) (bool, error) {
	return generic.Matches(q, obj, e.matching, e.scopeFunc())
}

// MatchingScopes returns the selectors among scopes that obj is in.
func (e *evaluator) MatchingScopes(obj runtime.Object, scopes []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	matched := []corev1.ScopedResourceSelectorRequirement{}
	if e.scope == nil {
		return matched, nil
	}
	for _, s := range scopes {
		ok, err := e.scope(s, obj)
		if err != nil {
			return nil, fmt.Errorf("match scope %v: %w", s, err)
		}
		if ok {
			matched = append(matched, s)
		}
	}
	return matched, nil
}

// UncoveredQuotaScopes returns the limited scopes that no matched quota
// scope of the same name covers.
func (e *evaluator) UncoveredQuotaScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	uncovered := []corev1.ScopedResourceSelectorRequirement{}
	if e.scope == nil {
		return uncovered, nil
	}
	for _, l := range limited {
		covered := false
		for _, m := range matched {
			if m.ScopeName == l.ScopeName {
				covered = true
				break
			}
		}
		if !covered {
			uncovered = append(uncovered, l)
		}
	}
	return uncovered, nil
}

func (e *evaluator) UsageStats(opts quota.UsageStatsOptions) (quota.UsageStats, error) {
	if e.list == nil {
		return quota.UsageStats{}, fmt.Errorf("usage stats of %s: no lister", e.resource)
	}
	return generic.CalculateUsageStats(opts, e.list, e.scopeFunc(), e.usage)
}

// selectorMatches reports whether the value of a scope (for example a pod's
// priority class name; empty: unset) satisfies the selector's operator and
// values, as a label of the scope's name would.
func selectorMatches(s corev1.ScopedResourceSelectorRequirement, value string) (bool, error) {
	var op selection.Operator
	switch s.Operator {
	case corev1.ScopeSelectorOpIn:
		op = selection.In
	case corev1.ScopeSelectorOpNotIn:
		op = selection.NotIn
	case corev1.ScopeSelectorOpExists:
		op = selection.Exists
	case corev1.ScopeSelectorOpDoesNotExist:
		op = selection.DoesNotExist
	default:
		return false, fmt.Errorf("%q is not a valid scope selector operator", s.Operator)
	}
	r, err := labels.NewRequirement(string(s.ScopeName), op, s.Values)
	if err != nil {
		return false, err
	}
	set := labels.Set{}
	if value != "" {
		set[string(s.ScopeName)] = value
	}
	return r.Matches(set), nil
}
