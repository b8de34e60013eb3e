package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kubelite/kubelite/apis"
	"github.com/kubelite/kubelite/auth/rbac"
	"github.com/kubelite/kubelite/auth/serviceaccount"
)

// Env is what the stores share: the scheme, the storage backend, and the settings
// that resource hooks read.
type Env struct {
	Scheme      *apis.Scheme
	RESTOptions generic.RESTOptionsGetter
	// Authorizer answers the access checks some writes make beyond the
	// request's own (may a user sign for a signer); nil allows them all.
	Authorizer authorizer.Authorizer
	// RBAC resolves users' RBAC rules, for the escalation checks on writes
	// of roles and bindings; nil checks nothing.
	RBAC *rbac.Resolver
	// ServiceCIDR is the range cluster IPs are allocated from.
	ServiceCIDR *net.IPNet
	// NodePorts is the range node ports are allocated from.
	NodePorts utilnet.PortRange
	// Tokens issues service account tokens (serviceaccounts/token); nil
	// serves no TokenRequest API.
	Tokens *serviceaccount.Issuer
	// NodeTransport reaches node agents' endpoints (pods/log, exec, attach,
	// portforward, nodes/proxy): TLS with the API server's client
	// certificate. Nil: those subresources answer 503.
	NodeTransport *http.Transport

	starts []func(ctx context.Context) error
	// stores holds every row's store: for hooks that write other resources,
	// and lookups of one resource's storage in another's.
	stores map[schema.GroupResource]*genericregistry.Store
}

// Get reads the object name of resource gr from its store, in the
// request's namespace for namespaced resources: one resource's storage
// looking up another's (a token's bound pod).
func (e *Env) Get(ctx context.Context, gr schema.GroupResource, name string) (runtime.Object, error) {
	s, ok := e.stores[gr]
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("no storage for %v", gr))
	}
	return s.Get(ctx, name, &metav1.GetOptions{})
}

// The serviceaccount.Getter of token authentication reads the stores too.
var _ serviceaccount.Getter = &Env{}

func (e *Env) ServiceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	return getTyped[*corev1.ServiceAccount](ctx, e, ns, "serviceaccounts", name)
}

func (e *Env) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	return getTyped[*corev1.Pod](ctx, e, ns, "pods", name)
}

func (e *Env) Secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return getTyped[*corev1.Secret](ctx, e, ns, "secrets", name)
}

func (e *Env) Node(ctx context.Context, name string) (*corev1.Node, error) {
	return getTyped[*corev1.Node](ctx, e, "", "nodes", name)
}

func getTyped[T runtime.Object](ctx context.Context, e *Env, ns, resource, name string) (T, error) {
	var zero T
	obj, err := e.Get(genericapirequest.WithNamespace(ctx, ns), schema.GroupResource{Resource: resource}, name)
	if err != nil {
		return zero, err
	}
	t, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("%s %s: unexpected type %T", resource, name, obj)
	}
	return t, nil
}

// Start runs the hooks' Start functions; call it once the API server serves.
func (e *Env) Start(ctx context.Context) error {
	for _, f := range e.starts {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

// NewStorage builds the REST storage of one row: the resource itself and its
// subresources, keyed as the generic API server expects ("pods", "pods/status").
func NewStorage(env *Env, row *Resource) (map[string]rest.Storage, error) {
	gr := row.GroupResource()
	st := newStrategy(env.Scheme, env.Authorizer, row)
	table := rest.NewDefaultTableConvertor(gr)
	if row.Table != nil {
		table = row.Table()
	}
	store := &genericregistry.Store{
		NewFunc:                   row.New,
		NewListFunc:               row.NewList,
		DefaultQualifiedResource:  gr,
		SingularQualifiedResource: schema.GroupResource{Group: gr.Group, Resource: row.Singular},
		CreateStrategy:            st,
		UpdateStrategy:            st,
		DeleteStrategy:            st,
		ResetFieldsStrategy:       st,
		ReturnDeletedObject:       row.GracefulDelete != nil,
		TableConvertor:            table,
	}
	fieldsFn := apis.SelectableFields()[row.GroupVersion.WithKind(row.Kind)]
	attrs := func(obj runtime.Object) (labels.Set, fields.Set, error) {
		l, f, err := defaultAttrs(row.Namespaced, obj)
		if err != nil || fieldsFn == nil {
			return l, f, err
		}
		for k, v := range fieldsFn(obj) {
			f[k] = v
		}
		return l, f, nil
	}
	opts := &generic.StoreOptions{RESTOptions: env.RESTOptions, AttrFunc: attrs}
	if fieldsFn != nil && row.Kind == "Pod" {
		opts.Indexers = podIndexers()
	}
	if err := store.CompleteWithOptions(opts); err != nil {
		return nil, fmt.Errorf("complete store for %v: %w", gr, err)
	}
	if env.stores == nil {
		env.stores = map[schema.GroupResource]*genericregistry.Store{}
	}
	env.stores[gr] = store
	if row.Hooks != nil {
		h, err := row.Hooks(env, store)
		if err != nil {
			return nil, fmt.Errorf("hooks for %v: %w", gr, err)
		}
		store.BeginCreate, store.BeginUpdate, store.AfterDelete = h.BeginCreate, h.BeginUpdate, h.AfterDelete
		if h.Start != nil {
			env.starts = append(env.starts, h.Start)
		}
	}

	storage := map[string]rest.Storage{row.Name: &REST{Store: store, row: row}}
	if row.Extend != nil {
		if err := row.Extend(env, store, storage); err != nil {
			return nil, fmt.Errorf("extend %v: %w", gr, err)
		}
	}
	if row.ValidateStatus != nil {
		statusStore := *store
		ss := statusStrategy{strategy: st}
		statusStore.UpdateStrategy = ss
		statusStore.ResetFieldsStrategy = ss
		statusStore.BeginCreate, statusStore.BeginUpdate = nil, nil
		storage[row.Name+"/status"] = &StatusREST{store: &statusStore}
	}
	return storage, nil
}

func defaultAttrs(namespaced bool, obj runtime.Object) (labels.Set, fields.Set, error) {
	if namespaced {
		return storage.DefaultNamespaceScopedAttr(obj)
	}
	return storage.DefaultClusterScopedAttr(obj)
}

// REST is the storage of a resource: the generic store plus discovery details.
type REST struct {
	*genericregistry.Store
	row *Resource
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// ShortNames returns the resource's short names for discovery.
func (r *REST) ShortNames() []string { return r.row.ShortNames }

// Categories returns the categories (such as "all") the resource belongs to.
func (r *REST) Categories() []string { return r.row.Categories }

// Update is the store's, with the errors of server-side apply made client
// errors (applyErrors).
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.Store.Update(ctx, name, applyErrors{objInfo}, createValidation, updateValidation, forceAllowCreate, options)
}

// applyErrors answers 400 for an apply patch the schema does not describe
// (a field the kind lacks, a string where a number goes). The field manager
// reports it as a plain error ("failed to create typed patch object (...):
// .spec: field not declared in schema"), which the handler would answer
// with 500, as upstream's does: the request, not the server, is at fault.
type applyErrors struct{ rest.UpdatedObjectInfo }

func (a applyErrors) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	obj, err := a.UpdatedObjectInfo.UpdatedObject(ctx, oldObj)
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) && strings.HasPrefix(err.Error(), "failed to create typed patch object") {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	}
	return obj, err
}

// StatusREST serves a /status subresource: get, and updates of the status alone.
type StatusREST struct {
	store *genericregistry.Store
}

var (
	_ rest.Patcher             = &StatusREST{}
	_ rest.ResetFieldsStrategy = &StatusREST{}
)

// New returns an empty object of the parent resource.
func (r *StatusREST) New() runtime.Object { return r.store.New() }

// Destroy does nothing: the parent store owns the storage.
func (r *StatusREST) Destroy() {}

// Get returns the whole object.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update changes the status of an object; the rest of it stays as stored.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create their parent.
	return r.store.Update(ctx, name, applyErrors{objInfo}, createValidation, updateValidation, false, options)
}

// GetResetFields returns the fields a status update never changes.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable uses the parent's columns.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
