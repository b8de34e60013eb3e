package rbac

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/component-helpers/auth/rbac/validation"
	"k8s.io/klog/v2"
)

// FullAuthority is what setting an aggregation rule requires: a cluster role
// that gathers rules by label may gather anything.
var FullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
	{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
}

// ConfirmNoEscalation returns an error unless the request's user already
// holds every permission in rules, in the request's namespace: the message
// lists what is missing, as upstream's does.
func ConfirmNoEscalation(ctx context.Context, resolver *Resolver, rules []rbacv1.PolicyRule) error {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return errors.New("no user on context")
	}
	namespace, _ := genericapirequest.NamespaceFrom(ctx)
	owned, resolveErr := resolver.RulesFor(ctx, u, namespace)
	if resolveErr != nil {
		klog.FromContext(ctx).V(1).Info("Non-fatal error getting the rules of a user", "user", u.GetName(), "err", resolveErr)
	}
	covered, missing := validation.Covers(owned, rules)
	if covered {
		return nil
	}
	var descriptions []string
	for _, m := range compactRules(missing) {
		descriptions = append(descriptions, compactString(m))
	}
	slices.Sort(descriptions)
	descriptions = slices.Compact(descriptions)
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s",
		u.GetName(), u.GetGroups(), strings.Join(descriptions, "\n"))
	if resolveErr != nil {
		msg += fmt.Sprintf("; resolution errors: %v", []error{resolveErr})
	}
	return errors.New(msg)
}

// simpleResource is what a rule with one group, one resource, at most one
// name and nothing else is about; compactRules merges such rules' verbs.
type simpleResource struct {
	group, resource string
	hasName         bool
	name            string
}

// compactRules merges the verbs of rules that differ only in their verbs and
// name one group and resource each (the broken-down rules Covers reports),
// so that a message lists one line per resource.
func compactRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	merged := map[simpleResource]*rbacv1.PolicyRule{}
	var order []simpleResource
	for _, r := range rules {
		key, ok := simple(r)
		if !ok {
			out = append(out, r)
			continue
		}
		if m, seen := merged[key]; seen {
			m.Verbs = append(m.Verbs, r.Verbs...)
			continue
		}
		merged[key] = r.DeepCopy()
		order = append(order, key)
	}
	for _, k := range order {
		out = append(out, *merged[k])
	}
	return out
}

func simple(r rbacv1.PolicyRule) (simpleResource, bool) {
	if len(r.ResourceNames) > 1 || len(r.NonResourceURLs) > 0 || len(r.APIGroups) != 1 || len(r.Resources) != 1 {
		return simpleResource{}, false
	}
	only := rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, Verbs: r.Verbs, ResourceNames: r.ResourceNames}
	if !reflect.DeepEqual(only, r) {
		return simpleResource{}, false
	}
	key := simpleResource{group: r.APIGroups[0], resource: r.Resources[0]}
	if len(r.ResourceNames) == 1 {
		key.hasName, key.name = true, r.ResourceNames[0]
	}
	return key, true
}

// compactString prints the set fields of a rule:
// {APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}.
func compactString(r rbacv1.PolicyRule) string {
	var parts []string
	for _, f := range []struct {
		name   string
		values []string
	}{
		{"APIGroups", r.APIGroups}, {"Resources", r.Resources}, {"NonResourceURLs", r.NonResourceURLs},
		{"ResourceNames", r.ResourceNames}, {"Verbs", r.Verbs},
	} {
		if len(f.values) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", f.name, f.values))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// EscalationAllowed reports whether the request's user is in system:masters,
// which may grant anything: the API server's own loopback client is.
func EscalationAllowed(ctx context.Context) bool {
	u, ok := genericapirequest.UserFrom(ctx)
	return ok && slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup)
}

// RoleEscalationAuthorized reports whether the request's user may "escalate"
// the role or cluster role the request writes: then its rules need not be
// held by the user.
func RoleEscalationAuthorized(ctx context.Context, a authorizer.UnconditionalAuthorizer) bool {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok || a == nil {
		return false
	}
	info, ok := genericapirequest.RequestInfoFrom(ctx)
	if !ok || !info.IsResourceRequest || info.APIGroup != rbacv1.GroupName || (info.Resource != "roles" && info.Resource != "clusterroles") {
		return false
	}
	return allowed(ctx, a, authorizer.AttributesRecord{
		User: u, Verb: "escalate", APIGroup: info.APIGroup, APIVersion: "*", Resource: info.Resource,
		Name: info.Name, Namespace: info.Namespace, ResourceRequest: true,
	})
}

// BindingAuthorized reports whether the request's user may "bind" the role
// ref in namespace ("" for a cluster role binding): then the role's rules
// need not be held by the user.
func BindingAuthorized(ctx context.Context, ref rbacv1.RoleRef, namespace string, a authorizer.UnconditionalAuthorizer) bool {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok || a == nil {
		return false
	}
	attrs := authorizer.AttributesRecord{
		User: u, Verb: "bind", Namespace: namespace, APIGroup: ref.APIGroup, APIVersion: "*",
		Name: ref.Name, ResourceRequest: true,
	}
	switch ref.Kind {
	case "ClusterRole":
		attrs.Resource = "clusterroles"
	case "Role":
		attrs.Resource = "roles"
	default:
		return false
	}
	return allowed(ctx, a, attrs)
}

func allowed(ctx context.Context, a authorizer.UnconditionalAuthorizer, attrs authorizer.AttributesRecord) bool {
	decision, _, err := a.Authorize(ctx, attrs)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Authorizing failed", "user", attrs.User.GetName(), "verb", attrs.Verb, "resource", attrs.Resource, "name", attrs.Name)
	}
	return decision == authorizer.DecisionAllow
}
