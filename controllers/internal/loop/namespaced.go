package loop

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/cache"
)

// WatchNamespaces queues a namespace's name whenever a namespace is added
// or changes, for controllers that keep something in every namespace. Run
// waits for the informer's cache.
func WatchNamespaces(l *Loop, namespaces cache.SharedIndexInformer) error {
	return watch(l, namespaces, func(obj any) (string, bool) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return "", false
		}
		return m.GetName(), true
	}, false)
}

// WatchNamed queues the namespace of every object called name that is
// added, changed or deleted, so the controller that keeps that object in
// each namespace sees it edited or gone. Run waits for the informer's cache.
func WatchNamed(l *Loop, informer cache.SharedIndexInformer, name string) error {
	return watch(l, informer, func(obj any) (string, bool) {
		m, err := meta.Accessor(obj)
		if err != nil || m.GetName() != name {
			return "", false
		}
		return m.GetNamespace(), true
	}, true)
}

func watch(l *Loop, informer cache.SharedIndexInformer, key func(any) (string, bool), deletes bool) error {
	enqueue := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		if k, ok := key(obj); ok {
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
