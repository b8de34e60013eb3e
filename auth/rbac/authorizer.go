package rbac

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/klog/v2"
)

// Authorizer allows what the RBAC rules bound to a user allow.
type Authorizer struct {
	resolver *Resolver
}

var (
	_ authorizer.Authorizer   = &Authorizer{}
	_ authorizer.RuleResolver = &Authorizer{}
)

// New returns an authorizer over resolver's roles and bindings.
func New(resolver *Resolver) *Authorizer { return &Authorizer{resolver: resolver} }

// Authorize allows the request if a rule bound to its user matches it, with
// the binding as the reason ("RBAC: allowed by ClusterRoleBinding ...").
// Otherwise it has no opinion; the reason then names the errors met while
// resolving the user's rules, if any ("RBAC: clusterrole... not found").
func (a *Authorizer) Authorize(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	var (
		allowedBy fmt.Stringer
		errs      []error
	)
	a.resolver.VisitRulesFor(ctx, attrs.GetUser(), attrs.GetNamespace(), func(source fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil && RuleAllows(attrs, rule) {
			allowedBy = source
			return false
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	if allowedBy != nil {
		return authorizer.DecisionAllow, "RBAC: allowed by " + allowedBy.String(), nil
	}
	if logger := klog.FromContext(ctx).V(5); logger.Enabled() {
		logger.Info("RBAC: no rules authorize the request", "user", attrs.GetUser().GetName(), "groups", attrs.GetUser().GetGroups(),
			"verb", attrs.GetVerb(), "resource", attrs.GetResource(), "subresource", attrs.GetSubresource(), "apiGroup", attrs.GetAPIGroup(),
			"name", attrs.GetName(), "namespace", attrs.GetNamespace(), "path", attrs.GetPath())
	}
	if len(errs) > 0 {
		return authorizer.DecisionNoOpinion, fmt.Sprintf("RBAC: %v", utilerrors.NewAggregate(errs)), nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// ConditionsAwareAuthorize answers unconditionally: RBAC has no conditions.
func (a *Authorizer) ConditionsAwareAuthorize(ctx context.Context, attrs authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(a.Authorize(ctx, attrs))
}

// EvaluateConditions is never needed: RBAC returns no conditional decisions.
func (*Authorizer) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}

// RulesFor lists the rules that apply to u in namespace, split into resource
// and non-resource rules, for SelfSubjectRulesReview (kubectl auth can-i
// --list). The list is complete; err names bindings whose role is missing.
func (a *Authorizer) RulesFor(ctx context.Context, u user.Info, namespace string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	rules, err := a.resolver.RulesFor(ctx, u, namespace)
	var (
		resource    []authorizer.ResourceRuleInfo
		nonResource []authorizer.NonResourceRuleInfo
	)
	for _, r := range rules {
		if len(r.Resources) > 0 {
			resource = append(resource, &authorizer.DefaultResourceRuleInfo{
				Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames,
			})
		}
		if len(r.NonResourceURLs) > 0 {
			nonResource = append(nonResource, &authorizer.DefaultNonResourceRuleInfo{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
		}
	}
	return resource, nonResource, false, err
}
