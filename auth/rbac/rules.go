// Package rbac authorizes requests by role-based access control, as
// upstream's RBAC authorizer does: a request is allowed when a rule of a
// Role or ClusterRole, bound to the requesting user, one of its groups or
// its service account by a RoleBinding (in the request's namespace) or a
// ClusterRoleBinding, matches it. Rules only ever allow; a request that no
// rule matches gets no opinion, and the next authorizer (or a denial)
// decides.
//
// The package also holds the checks that keep a user from granting more
// than they hold (ConfirmNoEscalation, EscalationAllowed,
// RoleEscalationAuthorized, BindingAuthorized), which the storage of roles
// and bindings makes on create and update.
package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// RulesAllow reports whether any of rules allows the request.
func RulesAllow(attrs authorizer.Attributes, rules ...rbacv1.PolicyRule) bool {
	for i := range rules {
		if RuleAllows(attrs, &rules[i]) {
			return true
		}
	}
	return false
}

// RuleAllows reports whether rule allows the request: a resource request by
// verb, API group, resource (with "*/subresource" wildcards) and name; any
// other request by verb and path ("/prefix/*" wildcards).
func RuleAllows(attrs authorizer.Attributes, rule *rbacv1.PolicyRule) bool {
	if !matches(rule.Verbs, attrs.GetVerb(), rbacv1.VerbAll) {
		return false
	}
	if !attrs.IsResourceRequest() {
		return urlMatches(rule.NonResourceURLs, attrs.GetPath())
	}
	return matches(rule.APIGroups, attrs.GetAPIGroup(), rbacv1.APIGroupAll) &&
		resourceMatches(rule.Resources, attrs.GetResource(), attrs.GetSubresource()) &&
		(len(rule.ResourceNames) == 0 || matches(rule.ResourceNames, attrs.GetName(), ""))
}

// matches reports whether set holds want or the wildcard all (when not "").
func matches(set []string, want, all string) bool {
	for _, s := range set {
		if s == want || (all != "" && s == all) {
			return true
		}
	}
	return false
}

// resourceMatches matches "resource" or "resource/subresource" against the
// rule's resources: "*", the exact combined name, or "*/subresource".
func resourceMatches(set []string, resource, subresource string) bool {
	combined := resource
	if subresource != "" {
		combined = resource + "/" + subresource
	}
	for _, s := range set {
		switch {
		case s == rbacv1.ResourceAll, s == combined:
			return true
		case subresource != "" && s == "*/"+subresource:
			return true
		}
	}
	return false
}

// urlMatches matches a path against the rule's non-resource URLs: "*", the
// exact path, or a prefix ending in "*".
func urlMatches(set []string, path string) bool {
	for _, s := range set {
		switch {
		case s == rbacv1.NonResourceAll, s == path:
			return true
		case strings.HasSuffix(s, "*") && strings.HasPrefix(path, strings.TrimRight(s, "*")):
			return true
		}
	}
	return false
}
