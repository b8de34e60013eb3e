package workload

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// PodEvents turns a pod informer's events into what a controller of pods
// (ReplicaSet, DaemonSet) needs: its expectations met as its creates and
// deletes show up, and the keys of the controllers that may care queued.
type PodEvents struct {
	// KeyOf returns the key of the controller that ref names, or "" if ref
	// is not one of this controller's objects.
	KeyOf func(namespace string, ref *metav1.OwnerReference) string
	// Matching returns the keys of the controllers whose selector matches an
	// orphan pod (candidates to adopt it).
	Matching func(pod *corev1.Pod) []string
	// Expectations are the controller's; Enqueue queues a key.
	Expectations *Expectations
	Enqueue      func(key string)
}

// Handler is the event handler to add to the pod informer.
func (e PodEvents) Handler() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.changed(nil, obj) },
		UpdateFunc: e.changed,
		DeleteFunc: e.deleted,
	}
}

// changed records what a pod's add or update means to its controller's
// expectations and queues the controllers that may care: its controller
// (old and new), or, for an orphan whose labels or owner changed, every
// controller whose selector matches it.
func (e PodEvents) changed(oldObj, obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	old, _ := oldObj.(*corev1.Pod)
	if old != nil && old.ResourceVersion == p.ResourceVersion {
		return // a resync: nothing changed
	}
	if old != nil {
		if ref := metav1.GetControllerOfNoCopy(old); ref != nil {
			if cur := metav1.GetControllerOfNoCopy(p); cur == nil || cur.UID != ref.UID {
				if key := e.KeyOf(p.Namespace, ref); key != "" {
					e.Enqueue(key)
				}
			}
		}
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		key := e.KeyOf(p.Namespace, ref)
		if key == "" {
			return
		}
		switch {
		case old == nil:
			e.Expectations.Created(key)
			if p.DeletionTimestamp != nil {
				e.Expectations.Deleted(key, p.Namespace+"/"+p.Name)
			}
		case p.DeletionTimestamp != nil && old.DeletionTimestamp == nil:
			e.Expectations.Deleted(key, p.Namespace+"/"+p.Name)
		}
		e.Enqueue(key)
		return
	}
	if old == nil || !labels.Equals(old.Labels, p.Labels) || metav1.GetControllerOfNoCopy(old) != nil {
		for _, key := range e.Matching(p) {
			e.Enqueue(key)
		}
	}
}

// deleted records a deleted pod with its controller and queues it.
func (e PodEvents) deleted(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if key := e.KeyOf(p.Namespace, ref); key != "" {
			e.Expectations.Deleted(key, p.Namespace+"/"+p.Name)
			e.Enqueue(key)
		}
	}
}
