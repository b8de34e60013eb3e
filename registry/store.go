package registry

import (
	"context"
	"fmt"
	"net"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kubelite/kubelite/apis"
)

// Env is what the stores share: the scheme, the storage backend, and the settings
// that resource hooks read.
type Env struct {
	Scheme      *apis.Scheme
	RESTOptions generic.RESTOptionsGetter
	// ServiceCIDR is the range cluster IPs are allocated from.
	ServiceCIDR *net.IPNet
	// NodePorts is the range node ports are allocated from.
	NodePorts utilnet.PortRange

	starts []func(ctx context.Context) error
	// stores holds every row's store, for hooks that write other resources.
	stores map[schema.GroupResource]*genericregistry.Store
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
	st := newStrategy(env.Scheme, row)
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
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields returns the fields a status update never changes.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable uses the parent's columns.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
