package registry

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Resource is the policy row of one served resource.
type Resource struct {
	// GroupVersion the resource is served at: its group's preferred version, in
	// which it is stored.
	GroupVersion schema.GroupVersion
	// OlderVersions are further versions of the group that serve the same
	// objects from the same store (autoscaling/v1 beside autoscaling/v2); the
	// scheme converts between them.
	OlderVersions []string
	// Name is the plural resource name (pods); Singular its singular (pod).
	Name, Singular string
	// Kind of the objects (Pod).
	Kind string
	// Namespaced is true for resources that live in a namespace.
	Namespaced bool
	// ShortNames and Categories as shown by discovery (po; all).
	ShortNames, Categories []string

	// New and NewList return empty objects of the resource's types.
	New, NewList func() runtime.Object

	// Validate checks a whole object on create; ValidateUpdate an update against the
	// old object. Both are required.
	Validate       func(obj runtime.Object) field.ErrorList
	ValidateUpdate func(obj, old runtime.Object) field.ErrorList
	// ValidateStatus, when set, gives the resource a /status subresource, whose
	// updates change only the status.
	ValidateStatus func(obj, old runtime.Object) field.ErrorList
	// AuthorizeStatus, when set, checks on a write to the /status subresource
	// that the caller may make it (a signer signing a pod certificate); it
	// runs after ValidateStatus found no error.
	AuthorizeStatus func(ctx context.Context, authz authorizer.UnconditionalAuthorizer, obj, old runtime.Object) field.ErrorList
	// KeepStatusOnCreate keeps the status a client sends on create (nodes report
	// their own); otherwise a resource with a status subresource starts with none.
	KeepStatusOnCreate bool
	// TrackGeneration sets metadata.generation to 1 on create and increments it
	// whenever the spec changes.
	TrackGeneration bool
	// AllowCreateOnUpdate lets PUT create a missing object.
	AllowCreateOnUpdate bool
	// OrphanByDefault makes a delete that names no propagation policy orphan
	// the object's dependents (the API server adds the orphan finalizer and
	// the garbage collector releases them) instead of deleting them in the
	// background, as upstream keeps for v1 ReplicationControllers and
	// batch/v1 Jobs.
	OrphanByDefault bool

	// PrepareForCreate and PrepareForUpdate run after the generic preparation.
	PrepareForCreate func(ctx context.Context, obj runtime.Object)
	PrepareForUpdate func(obj, old runtime.Object)
	// PrepareForStatusUpdate runs after the generic preparation of a write to
	// the /status subresource (which keeps the old spec).
	PrepareForStatusUpdate func(obj, old runtime.Object)
	// GracefulDelete, when set, decides the grace period of a delete: it sets
	// options.GracePeriodSeconds and returns true for a graceful deletion.
	GracefulDelete func(obj runtime.Object, options *metav1.DeleteOptions) bool

	// Table returns the convertor for kubectl get's columns.
	Table func() rest.TableConvertor

	// Hooks builds the store's transaction hooks (allocation of cluster IPs, ...).
	Hooks func(env *Env, store *genericregistry.Store) (Hooks, error)
	// Extend adds subresources or replaces the main REST storage (binding, finalize,
	// scale). It gets the built store and returns extra storage keyed by
	// "resource/subresource", or replaces entries of the map it is given.
	Extend func(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error
}

// Hooks are a store's optional transaction hooks; see genericregistry.Store.
type Hooks struct {
	BeginCreate genericregistry.BeginCreateFunc
	BeginUpdate genericregistry.BeginUpdateFunc
	AfterDelete genericregistry.AfterDeleteFunc
	// Start runs once the API server serves, for work that reads the store.
	Start func(ctx context.Context) error
}

// GroupResource returns the row's group and resource.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.GroupVersion.Group, Resource: r.Name}
}

// GroupVersions returns every version the row is served at, the preferred
// one first.
func (r *Resource) GroupVersions() []schema.GroupVersion {
	gvs := []schema.GroupVersion{r.GroupVersion}
	for _, v := range r.OlderVersions {
		gvs = append(gvs, schema.GroupVersion{Group: r.GroupVersion.Group, Version: v})
	}
	return gvs
}

// typed adapts a typed validation function to a row's untyped one.
func typed[T runtime.Object](f func(T) field.ErrorList) func(runtime.Object) field.ErrorList {
	return func(obj runtime.Object) field.ErrorList { return f(obj.(T)) }
}

// typedUpdate adapts a typed update validation function to a row's untyped one.
func typedUpdate[T runtime.Object](f func(T, T) field.ErrorList) func(runtime.Object, runtime.Object) field.ErrorList {
	return func(obj, old runtime.Object) field.ErrorList { return f(obj.(T), old.(T)) }
}
