package registry

import (
	"context"
	"errors"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubelite/kubelite/auth/rbac"
)

// preventEscalation is the Extend of the four RBAC resources: as upstream's
// policy-based storage, a user outside system:masters may write a role only
// with rules they hold themselves (or the escalate verb on it), and a
// binding only to a role whose rules they hold (or the bind verb on it).
// Writes that only change finalizers or owner references (the garbage
// collector's) pass. Without env.RBAC nothing is checked.
func preventEscalation(env *Env, _ *genericregistry.Store, storage map[string]rest.Storage) error {
	if env.RBAC == nil {
		return nil
	}
	for name, s := range storage {
		r, ok := s.(*REST)
		if !ok {
			continue
		}
		storage[name] = &guardedREST{REST: r, check: escalationCheck(env, r.row.Name)}
	}
	return nil
}

// guardedREST runs check before a create, and before an update on the new
// object.
type guardedREST struct {
	*REST
	check func(ctx context.Context, obj, old runtime.Object) error
}

func (g *guardedREST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	if !rbac.EscalationAllowed(ctx) {
		if err := g.check(ctx, obj, nil); err != nil {
			return nil, err
		}
	}
	return g.REST.Create(ctx, obj, validate, options)
}

func (g *guardedREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	if !rbac.EscalationAllowed(ctx) {
		objInfo = rest.WrapUpdatedObjectInfo(objInfo, func(ctx context.Context, obj, old runtime.Object) (runtime.Object, error) {
			if onlyGCFieldsChange(obj, old) {
				return obj, nil
			}
			return obj, g.check(ctx, obj, old)
		})
	}
	return g.REST.Update(ctx, name, objInfo, createValidation, updateValidation, forceAllowCreate, options)
}

// escalationCheck returns the check of one RBAC resource.
func escalationCheck(env *Env, resource string) func(ctx context.Context, obj, old runtime.Object) error {
	gr := rbacv1.Resource(resource)
	held := func(ctx context.Context, name string, rules []rbacv1.PolicyRule) error {
		if err := rbac.ConfirmNoEscalation(ctx, env.RBAC, rules); err != nil {
			return apierrors.NewForbidden(gr, name, err)
		}
		return nil
	}
	binding := func(ctx context.Context, name string, ref rbacv1.RoleRef) error {
		namespace, _ := genericapirequest.NamespaceFrom(ctx)
		if rbac.BindingAuthorized(ctx, ref, namespace, env.Authorizer) {
			return nil
		}
		rules, err := env.RBAC.RoleRefRules(ref, namespace)
		if err != nil {
			return err
		}
		return held(ctx, name, rules)
	}
	aggregates := func(r *rbacv1.ClusterRole) bool {
		return r != nil && r.AggregationRule != nil && len(r.AggregationRule.ClusterRoleSelectors) > 0
	}
	return func(ctx context.Context, obj, old runtime.Object) error {
		switch o := obj.(type) {
		case *rbacv1.Role:
			if rbac.RoleEscalationAuthorized(ctx, env.Authorizer) {
				return nil
			}
			return held(ctx, o.Name, o.Rules)
		case *rbacv1.ClusterRole:
			if rbac.RoleEscalationAuthorized(ctx, env.Authorizer) {
				return nil
			}
			if err := held(ctx, o.Name, o.Rules); err != nil {
				return err
			}
			oldRole, _ := old.(*rbacv1.ClusterRole)
			if aggregates(o) || aggregates(oldRole) {
				if rbac.ConfirmNoEscalation(ctx, env.RBAC, rbac.FullAuthority) != nil {
					return apierrors.NewForbidden(gr, o.Name, errors.New("must have cluster-admin privileges to use the aggregationRule"))
				}
			}
			return nil
		case *rbacv1.RoleBinding:
			if _, ok := genericapirequest.NamespaceFrom(ctx); !ok {
				return apierrors.NewBadRequest("namespace is required")
			}
			return binding(ctx, o.Name, o.RoleRef)
		case *rbacv1.ClusterRoleBinding:
			return binding(ctx, o.Name, o.RoleRef)
		}
		return nil
	}
}

// onlyGCFieldsChange reports whether an update changes nothing but the
// fields the garbage collector writes: owner references and finalizers.
func onlyGCFieldsChange(obj, old runtime.Object) bool {
	if old == nil {
		return false
	}
	copied := obj.DeepCopyObject()
	c, err1 := meta.Accessor(copied)
	o, err2 := meta.Accessor(old)
	if err1 != nil || err2 != nil {
		return false
	}
	c.SetOwnerReferences(o.GetOwnerReferences())
	c.SetFinalizers(o.GetFinalizers())
	c.SetSelfLink(o.GetSelfLink())
	c.SetManagedFields(o.GetManagedFields())
	return equality.Semantic.DeepEqual(copied, old)
}
