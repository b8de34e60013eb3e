package bootstrap

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/component-helpers/auth/rbac/reconciliation"
)

// The reconciliation helpers Get each object before they create or update
// it, and look its namespace up before each namespaced create: on a fresh
// server, half of the policy's ~300 requests are reads of what is not there,
// and all of them run before the API server reports ready. A pass therefore
// lists each kind once and answers each object's first Get from that list;
// a later Get of the same object (a retry after a conflict, or after the
// object appeared or went meanwhile) reads the server.

// listing holds one kind's objects as listed at the start of a pass, by
// namespace/name. A nil listing (the list failed) answers nothing.
type listing[T any] struct {
	resource schema.GroupResource
	items    map[string]T

	mu     sync.Mutex
	served map[string]bool
}

func newListing[T any](resource schema.GroupResource, items map[string]T) *listing[T] {
	return &listing[T]{resource: resource, items: items, served: map[string]bool{}}
}

// get is the listed object (or NotFound) the first time namespace/name is
// asked for, and live's answer afterwards.
func (l *listing[T]) get(namespace, name string, live func(namespace, name string) (T, error)) (T, error) {
	if l == nil {
		return live(namespace, name)
	}
	key := namespace + "/" + name
	l.mu.Lock()
	first := !l.served[key]
	l.served[key] = true
	obj, ok := l.items[key]
	l.mu.Unlock()
	switch {
	case !first:
		return live(namespace, name)
	case !ok:
		var zero T
		return zero, apierrors.NewNotFound(l.resource, name)
	}
	return obj, nil
}

// listedRoles answers a role modifier's first Gets from a listing.
type listedRoles struct {
	reconciliation.RuleOwnerModifier
	listing *listing[reconciliation.RuleOwner]
}

func (m listedRoles) Get(namespace, name string) (reconciliation.RuleOwner, error) {
	return m.listing.get(namespace, name, m.RuleOwnerModifier.Get)
}

// listedBindings answers a binding modifier's first Gets from a listing.
type listedBindings struct {
	reconciliation.RoleBindingModifier
	listing *listing[reconciliation.RoleBinding]
}

func (m listedBindings) Get(namespace, name string) (reconciliation.RoleBinding, error) {
	return m.listing.get(namespace, name, m.RoleBindingModifier.Get)
}

// listAll is a listing of items, each wrapped for the reconciliation helpers.
func listAll[I any, P interface {
	*I
	metav1.Object
}, T any](resource string, items []I, wrap func(P) T) *listing[T] {
	byKey := make(map[string]T, len(items))
	for i := range items {
		obj := P(&items[i])
		byKey[obj.GetNamespace()+"/"+obj.GetName()] = wrap(obj)
	}
	return newListing(rbacv1.Resource(resource), byKey)
}

// knownNamespaces answers Gets of namespaces it has seen exist without a
// request. The role and binding modifiers look the namespace up before each
// create, to create it if it is missing; a namespace of the policy is
// deleted during a pass only by someone racing the server's own start-up.
type knownNamespaces struct {
	corev1client.NamespaceInterface

	mu   sync.Mutex
	seen map[string]bool
}

func (k *knownNamespaces) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Namespace, error) {
	k.mu.Lock()
	seen := k.seen[name]
	k.mu.Unlock()
	if seen {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, nil
	}
	ns, err := k.NamespaceInterface.Get(ctx, name, opts)
	if err == nil {
		k.mu.Lock()
		k.seen[name] = true
		k.mu.Unlock()
	}
	return ns, err
}
