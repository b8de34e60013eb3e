package loop

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// PerNamespace returns a loop for a controller that keeps one object, called
// object, in every active namespace. Its keys are namespace names: a
// namespace is queued when it is added or changes, and when an object called
// object is added, changed or deleted in it (objects is the informer that
// holds them). sync is called only for namespaces that exist and are
// active; terminating ones are left alone. Run waits for both caches.
func PerNamespace(name string, namespaces coreinformers.NamespaceInformer, objects cache.SharedIndexInformer, object string,
	sync SyncFunc) (*Loop, error) {
	lister := namespaces.Lister()
	l := New(name, func(ctx context.Context, ns string) error {
		namespace, err := lister.Get(ns)
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		case namespace.Status.Phase != corev1.NamespaceActive:
			return nil
		}
		return sync(ctx, ns)
	})
	err := Watch(l, namespaces.Informer(), func(obj any) []string {
		if m, err := meta.Accessor(obj); err == nil {
			return []string{m.GetName()}
		}
		return nil
	}, false)
	if err != nil {
		return nil, err
	}
	err = Watch(l, objects, func(obj any) []string {
		if m, err := meta.Accessor(obj); err == nil && m.GetName() == object {
			return []string{m.GetNamespace()}
		}
		return nil
	}, true)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// OwnKey is a keys function for Watch that queues the object itself, by its
// "namespace/name" key.
func OwnKey(obj any) []string {
	key, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		return nil
	}
	return []string{key}
}

// Watch queues the keys that keys returns for each object informer adds or
// changes, and, with deletes, deletes (a tombstone's last known object is
// passed on). Run waits for the informer's cache and this handler.
func Watch(l *Loop, informer cache.SharedIndexInformer, keys func(obj any) []string, deletes bool) error {
	enqueue := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		for _, k := range keys(obj) {
			l.Add(k)
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, cur any) { enqueue(cur) },
	}
	if deletes {
		handler.DeleteFunc = enqueue
	}
	reg, err := informer.AddEventHandler(handler)
	if err != nil {
		return fmt.Errorf("%s: add event handler: %w", l.name, err)
	}
	l.WaitFor(informer.HasSynced, reg.HasSynced)
	return nil
}
