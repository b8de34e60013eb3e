package servicepods

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// Watch queues a Service's namespace/name key on l whenever the Service is
// added, changed or deleted, and whenever a pod its selector matches (before
// or after the change) is added, deleted, or changes in a way its endpoints
// show: readiness, IPs, deletion, labels, hostname or subdomain. Run waits
// for both caches.
func Watch(l *loop.Loop, services coreinformers.ServiceInformer, pods coreinformers.PodInformer) error {
	if err := loop.Watch(l, services.Informer(), loop.OwnKey, true); err != nil {
		return err
	}
	lister := services.Lister()
	enqueue := func(pod *corev1.Pod) {
		for _, key := range selecting(lister, pod) {
			l.Add(key)
		}
	}
	reg, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				enqueue(pod)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*corev1.Pod)
			pod, ok2 := obj.(*corev1.Pod)
			if !ok1 || !ok2 || old.ResourceVersion == pod.ResourceVersion {
				return
			}
			membership := !equality.Semantic.DeepEqual(old.Labels, pod.Labels) ||
				old.Spec.Hostname != pod.Spec.Hostname || old.Spec.Subdomain != pod.Spec.Subdomain
			if membership {
				enqueue(old)
				enqueue(pod)
				return
			}
			if endpointsChanged(old, pod) {
				enqueue(pod)
			}
		},
		DeleteFunc: func(obj any) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				enqueue(pod)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("add pod event handler: %w", err)
	}
	l.WaitFor(pods.Informer().HasSynced, reg.HasSynced)
	return nil
}

// endpointsChanged reports whether a pod update changes what an endpoint of
// it says. Name, namespace and uid never change, and the node is set before
// the pod has an IP.
func endpointsChanged(old, pod *corev1.Pod) bool {
	return (old.DeletionTimestamp == nil) != (pod.DeletionTimestamp == nil) ||
		Ready(old) != Ready(pod) ||
		old.Status.Phase != pod.Status.Phase ||
		old.Status.PodIP != pod.Status.PodIP ||
		!slices.Equal(old.Status.PodIPs, pod.Status.PodIPs) ||
		old.Spec.NodeName != pod.Spec.NodeName
}

// selecting returns the keys of the Services in the pod's namespace whose
// selector matches it.
func selecting(services corelisters.ServiceLister, pod *corev1.Pod) []string {
	list, err := services.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	set := labels.Set(pod.Labels)
	for _, svc := range list {
		if svc.Spec.Selector == nil {
			continue
		}
		if labels.SelectorFromValidatedSet(svc.Spec.Selector).Matches(set) {
			keys = append(keys, svc.Namespace+"/"+svc.Name)
		}
	}
	return keys
}
