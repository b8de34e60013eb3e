package registry

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
)

// scaler reads and writes the replica count of one kind of workload.
type scaler struct {
	// get returns desired replicas, observed replicas and the label selector.
	get func(obj runtime.Object) (spec, status int32, selector string)
	set func(obj runtime.Object, replicas int32)
}

func extendReplicationControllers(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	return addScale(store, storage, scaler{
		get: func(obj runtime.Object) (int32, int32, string) {
			rc := obj.(*corev1.ReplicationController)
			return replicas(rc.Spec.Replicas), rc.Status.Replicas, labels.SelectorFromSet(rc.Spec.Selector).String()
		},
		set: func(obj runtime.Object, n int32) { obj.(*corev1.ReplicationController).Spec.Replicas = &n },
	})
}

func extendDeployments(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	return addScale(store, storage, scaler{
		get: func(obj runtime.Object) (int32, int32, string) {
			d := obj.(*appsv1.Deployment)
			return replicas(d.Spec.Replicas), d.Status.Replicas, selectorString(d.Spec.Selector)
		},
		set: func(obj runtime.Object, n int32) { obj.(*appsv1.Deployment).Spec.Replicas = &n },
	})
}

func extendReplicaSets(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	return addScale(store, storage, scaler{
		get: func(obj runtime.Object) (int32, int32, string) {
			rs := obj.(*appsv1.ReplicaSet)
			return replicas(rs.Spec.Replicas), rs.Status.Replicas, selectorString(rs.Spec.Selector)
		},
		set: func(obj runtime.Object, n int32) { obj.(*appsv1.ReplicaSet).Spec.Replicas = &n },
	})
}

func extendStatefulSets(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	return addScale(store, storage, scaler{
		get: func(obj runtime.Object) (int32, int32, string) {
			ss := obj.(*appsv1.StatefulSet)
			return replicas(ss.Spec.Replicas), ss.Status.Replicas, selectorString(ss.Spec.Selector)
		},
		set: func(obj runtime.Object, n int32) { obj.(*appsv1.StatefulSet).Spec.Replicas = &n },
	})
}

// addScale adds the resource's /scale subresource.
func addScale(store *genericregistry.Store, storage map[string]rest.Storage, s scaler) error {
	storage[store.DefaultQualifiedResource.Resource+"/scale"] = &ScaleREST{store: store, scaler: s}
	return nil
}

// replicas is a workload's desired count, 1 when unset as defaulting makes it.
func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// selectorString renders a label selector as the Scale status shows it; an
// invalid selector shows as none.
func selectorString(sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	return s.String()
}

// ScaleREST serves the /scale subresource of a workload as an autoscaling/v1 Scale.
type ScaleREST struct {
	store  *genericregistry.Store
	scaler scaler
}

var (
	_ rest.Patcher                  = &ScaleREST{}
	_ rest.GroupVersionKindProvider = &ScaleREST{}
)

// GroupVersionKind says the subresource speaks autoscaling/v1 Scale.
func (r *ScaleREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return autoscalingv1.SchemeGroupVersion.WithKind("Scale")
}

// New returns an empty Scale.
func (r *ScaleREST) New() runtime.Object { return &autoscalingv1.Scale{} }

// Destroy does nothing: the parent store owns the storage.
func (r *ScaleREST) Destroy() {}

// Get returns the workload's scale.
func (r *ScaleREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return r.toScale(obj)
}

func (r *ScaleREST) toScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	m, err := metaOf(obj)
	if err != nil {
		return nil, err
	}
	spec, status, selector := r.scaler.get(obj)
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp,
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: spec},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: selector},
	}, nil
}

// Update sets the workload's desired replicas from a Scale.
func (r *ScaleREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	info := &scaleUpdate{r: r, inner: objInfo}
	obj, _, err := r.store.Update(ctx, name, info, toWorkloadCreate(createValidation), toWorkloadUpdate(r, updateValidation), false, options)
	if err != nil {
		return nil, false, err
	}
	s, err := r.toScale(obj)
	return s, false, err
}

// scaleUpdate turns an update of the Scale into an update of the workload.
type scaleUpdate struct {
	r     *ScaleREST
	inner rest.UpdatedObjectInfo
}

func (u *scaleUpdate) Preconditions() *metav1.Preconditions { return u.inner.Preconditions() }

func (u *scaleUpdate) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	if oldObj == nil {
		return nil, apierrors.NewNotFound(u.r.store.DefaultQualifiedResource, "")
	}
	old, err := u.r.toScale(oldObj)
	if err != nil {
		return nil, err
	}
	obj, err := u.inner.UpdatedObject(ctx, old)
	if err != nil {
		return nil, err
	}
	scale, ok := obj.(*autoscalingv1.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Scale, got %T", obj))
	}
	if scale.Spec.Replicas < 0 {
		return nil, apierrors.NewInvalid(autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind(), scale.Name,
			field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0")})
	}
	if scale.ResourceVersion != "" && scale.ResourceVersion != old.ResourceVersion {
		return nil, apierrors.NewConflict(u.r.store.DefaultQualifiedResource, scale.Name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	out := oldObj.DeepCopyObject()
	u.r.scaler.set(out, scale.Spec.Replicas)
	return out, nil
}

func toWorkloadCreate(f rest.ValidateObjectFunc) rest.ValidateObjectFunc {
	return f
}

func toWorkloadUpdate(r *ScaleREST, f rest.ValidateObjectUpdateFunc) rest.ValidateObjectUpdateFunc {
	if f == nil {
		return nil
	}
	return func(ctx context.Context, obj, old runtime.Object) error {
		s, err := r.toScale(obj)
		if err != nil {
			return err
		}
		o, err := r.toScale(old)
		if err != nil {
			return err
		}
		return f(ctx, s, o)
	}
}

func metaOf(obj runtime.Object) (*metav1.ObjectMeta, error) {
	type objectMeta interface{ GetObjectMeta() metav1.Object }
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if m, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no object meta in %T", obj)
}
