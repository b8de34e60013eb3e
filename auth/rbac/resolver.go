package rbac

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	rbacinformers "k8s.io/client-go/informers/rbac/v1"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
)

// Resolver finds the rules that apply to a user, from the roles and
// bindings in shared informers' caches.
type Resolver struct {
	roles               rbaclisters.RoleLister
	roleBindings        rbaclisters.RoleBindingLister
	clusterRoles        rbaclisters.ClusterRoleLister
	clusterRoleBindings rbaclisters.ClusterRoleBindingLister
	synced              []cache.InformerSynced
}

// NewResolver reads roles and bindings through the given informers. Register
// it before the informers' factory starts.
func NewResolver(i rbacinformers.Interface) *Resolver {
	return &Resolver{
		roles:               i.Roles().Lister(),
		roleBindings:        i.RoleBindings().Lister(),
		clusterRoles:        i.ClusterRoles().Lister(),
		clusterRoleBindings: i.ClusterRoleBindings().Lister(),
		synced: []cache.InformerSynced{
			i.Roles().Informer().HasSynced, i.RoleBindings().Informer().HasSynced,
			i.ClusterRoles().Informer().HasSynced, i.ClusterRoleBindings().Informer().HasSynced,
		},
	}
}

// HasSynced reports whether the caches hold every role and binding.
func (r *Resolver) HasSynced() bool {
	for _, s := range r.synced {
		if !s() {
			return false
		}
	}
	return true
}

// Visitor is called with each rule that applies and where it comes from, or
// with an error met while resolving (rule nil). Returning false stops the
// visit.
type Visitor func(source fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool

// VisitRulesFor calls visit with every rule that applies to u in namespace:
// the rules of the cluster roles bound by cluster role bindings, then, when
// namespace is set, those of the roles and cluster roles bound by the role
// bindings in it.
func (r *Resolver) VisitRulesFor(ctx context.Context, u user.Info, namespace string, visit Visitor) {
	crbs, err := r.clusterRoleBindings.List(labels.Everything())
	if err != nil && !visit(nil, nil, err) {
		return
	}
	for _, b := range crbs {
		i, ok := appliesTo(u, b.Subjects, "")
		if !ok {
			continue
		}
		rules, err := r.RoleRefRules(b.RoleRef, "")
		if err != nil {
			if !visit(nil, nil, err) {
				return
			}
			continue
		}
		src := &bindingSource{kind: "ClusterRoleBinding", name: b.Name, ref: b.RoleRef, subject: &b.Subjects[i]}
		for j := range rules {
			if !visit(src, &rules[j], nil) {
				return
			}
		}
	}
	if namespace == "" {
		return
	}
	rbs, err := r.roleBindings.RoleBindings(namespace).List(labels.Everything())
	if err != nil && !visit(nil, nil, err) {
		return
	}
	for _, b := range rbs {
		i, ok := appliesTo(u, b.Subjects, namespace)
		if !ok {
			continue
		}
		rules, err := r.RoleRefRules(b.RoleRef, namespace)
		if err != nil {
			if !visit(nil, nil, err) {
				return
			}
			continue
		}
		src := &bindingSource{kind: "RoleBinding", name: b.Name + "/" + b.Namespace, namespace: namespace, ref: b.RoleRef, subject: &b.Subjects[i]}
		for j := range rules {
			if !visit(src, &rules[j], nil) {
				return
			}
		}
	}
}

// RulesFor returns every rule that applies to u in namespace. On an error
// (a binding naming a missing role) the rules found are still returned:
// rules only allow, so a partial list never allows too much.
func (r *Resolver) RulesFor(ctx context.Context, u user.Info, namespace string) ([]rbacv1.PolicyRule, error) {
	var (
		rules []rbacv1.PolicyRule
		errs  []error
	)
	r.VisitRulesFor(ctx, u, namespace, func(_ fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil {
			rules = append(rules, *rule)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	return rules, utilerrors.NewAggregate(errs)
}

// RoleRefRules returns the rules of the role a binding in namespace ("" for
// a cluster role binding) refers to.
func (r *Resolver) RoleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		role, err := r.roles.Roles(namespace).Get(ref.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	case "ClusterRole":
		role, err := r.clusterRoles.Get(ref.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// appliesTo returns the index of the first subject that names u (directly,
// by a group, or as a service account; a service account without a
// namespace is in the binding's), and whether there is one.
func appliesTo(u user.Info, subjects []rbacv1.Subject, namespace string) (int, bool) {
	for i, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if u.GetName() == s.Name {
				return i, true
			}
		case rbacv1.GroupKind:
			if matches(u.GetGroups(), s.Name, "") {
				return i, true
			}
		case rbacv1.ServiceAccountKind:
			ns := namespace
			if s.Namespace != "" {
				ns = s.Namespace
			}
			if ns != "" && serviceaccount.MatchesUsername(ns, s.Name, u.GetName()) {
				return i, true
			}
		}
	}
	return 0, false
}

// bindingSource names the binding and subject a rule came from, as the
// reason of an allowed request: `RoleBinding "name/ns" of ClusterRole
// "edit" to ServiceAccount "sa/ns"`.
type bindingSource struct {
	kind, name, namespace string
	ref                   rbacv1.RoleRef
	subject               *rbacv1.Subject
}

func (b *bindingSource) String() string {
	subject := b.subject.Name
	if b.subject.Kind == rbacv1.ServiceAccountKind {
		ns := b.subject.Namespace
		if ns == "" {
			ns = b.namespace
		}
		subject += "/" + ns
	}
	return fmt.Sprintf("%s %q of %s %q to %s %q", b.kind, b.name, b.ref.Kind, b.ref.Name, b.subject.Kind, subject)
}
