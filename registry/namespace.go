package registry

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/util/dryrun"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// prepareNamespace starts a namespace Active, with the finalizer that keeps it
// until its content is gone and the label that names it.
func prepareNamespace(_ context.Context, obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	if !hasFinalizer(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	nameLabel(ns)
}

// prepareNamespaceUpdate keeps the spec's finalizers: only namespaces/finalize
// changes them.
func prepareNamespaceUpdate(obj, old runtime.Object) {
	ns, oldNS := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	ns.Spec.Finalizers = oldNS.Spec.Finalizers
	nameLabel(ns)
}

func nameLabel(ns *corev1.Namespace) {
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

func hasFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// extendNamespaces replaces the namespace storage with one whose delete marks the
// namespace Terminating while spec finalizers remain, and adds namespaces/finalize.
func extendNamespaces(env *Env, store *registry.Store, storage map[string]rest.Storage) error {
	main := storage["namespaces"].(*REST)
	storage["namespaces"] = &NamespaceREST{REST: main}
	// An update of a namespace marked for deletion removes it only once nothing
	// finalizes it, spec.finalizers included.
	store.ShouldDeleteDuringUpdate = func(ctx context.Context, key string, obj, existing runtime.Object) bool {
		ns, ok := obj.(*corev1.Namespace)
		return ok && len(ns.Spec.Finalizers) == 0 && registry.ShouldDeleteDuringUpdate(ctx, key, obj, existing)
	}
	finalizeStore := *store
	fs := finalizeStrategy{strategy: store.UpdateStrategy.(strategy)}
	finalizeStore.UpdateStrategy = fs
	finalizeStore.ResetFieldsStrategy = fs
	storage["namespaces/finalize"] = &FinalizeREST{store: &finalizeStore}
	return nil
}

// NamespaceREST is the namespaces storage. Deleting a namespace first marks it
// Terminating; it goes once its spec finalizers are removed through
// namespaces/finalize (the namespace controller does that after deleting the
// namespace's content).
type NamespaceREST struct {
	*REST
}

// Delete marks the namespace for deletion, or deletes it when nothing finalizes it.
func (r *NamespaceREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if options == nil {
		options = metav1.NewDeleteOptions(0)
	}
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	if options.Preconditions.UID == nil {
		options.Preconditions.UID = &ns.UID
	} else if *options.Preconditions.UID != ns.UID {
		return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name,
			fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *options.Preconditions.UID, ns.UID))
	}
	if options.Preconditions.ResourceVersion != nil && *options.Preconditions.ResourceVersion != ns.ResourceVersion {
		return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name,
			fmt.Errorf("precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *options.Preconditions.ResourceVersion, ns.ResourceVersion))
	}
	if ns.DeletionTimestamp.IsZero() || len(ns.Spec.Finalizers) > 0 {
		if deleteValidation != nil {
			if err := deleteValidation(ctx, ns); err != nil {
				return nil, false, err
			}
		}
		if ns.DeletionTimestamp.IsZero() {
			key, err := r.KeyFunc(ctx, name)
			if err != nil {
				return nil, false, err
			}
			out := &corev1.Namespace{}
			preconditions := storage.Preconditions{UID: options.Preconditions.UID, ResourceVersion: options.Preconditions.ResourceVersion}
			err = r.Storage.GuaranteedUpdate(ctx, key, out, false, &preconditions,
				storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
					cur := existing.(*corev1.Namespace)
					if cur.DeletionTimestamp.IsZero() {
						now := metav1.Now()
						cur.DeletionTimestamp = &now
						cur.Status.Phase = corev1.NamespaceTerminating
					}
					return cur, nil
				}), dryrun.IsDryRun(options.DryRun), nil)
			if err != nil {
				return nil, false, err
			}
			ns = out
		}
		if len(ns.Spec.Finalizers) > 0 {
			return ns, false, nil
		}
	}
	return r.REST.Delete(ctx, name, deleteValidation, options)
}

// finalizeStrategy changes only the spec's finalizers.
type finalizeStrategy struct {
	strategy
}

func (finalizeStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	ns, oldNS := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	finalizers := ns.Spec.Finalizers
	*ns = *oldNS.DeepCopy()
	ns.Spec.Finalizers = finalizers
}

func (finalizeStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"v1": fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// FinalizeREST serves namespaces/finalize.
type FinalizeREST struct {
	store *registry.Store
}

// New returns an empty Namespace.
func (r *FinalizeREST) New() runtime.Object { return &corev1.Namespace{} }

// Destroy does nothing: the namespace store owns the storage.
func (r *FinalizeREST) Destroy() {}

// Update replaces the namespace's spec finalizers.
func (r *FinalizeREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields returns the fields a finalize never changes.
func (r *FinalizeREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}
