// Package workload holds what the StatefulSet and DaemonSet controllers
// share about the pods they own: an index of pods by controller, claiming
// (adopting matching orphans, releasing pods that no longer match), pods
// made from a template, and readiness and availability as upstream counts
// them.
package workload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// byController is the pod index IndexPods adds: pods by the uid of their
// controller, orphans by "orphan/<namespace>".
const byController = "workload.kubelite.io/controller"

// IndexPods adds the by-controller index to a pod informer, unless it has
// it already. Call it before the informer starts.
func IndexPods(informer cache.SharedIndexInformer) error {
	if _, ok := informer.GetIndexer().GetIndexers()[byController]; ok {
		return nil
	}
	err := informer.AddIndexers(cache.Indexers{byController: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
			return []string{string(ref.UID)}, nil
		}
		return []string{"orphan/" + p.Namespace}, nil
	}})
	if err != nil {
		return fmt.Errorf("index pods by controller: %w", err)
	}
	return nil
}

// Candidates returns the pods of namespace ns that the owner with uid
// controls, and the orphans of ns, from an indexer IndexPods prepared.
func Candidates(pods cache.Indexer, ns string, uid types.UID) []*corev1.Pod {
	var out []*corev1.Pod
	for _, index := range []string{string(uid), "orphan/" + ns} {
		objs, _ := pods.ByIndex(byController, index)
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok && p.Namespace == ns {
				out = append(out, p)
			}
		}
	}
	return out
}

// Owner is what claiming needs of the object that owns pods.
type Owner struct {
	Object metav1.Object
	Kind   schema.GroupVersionKind
	// Selector selects the owner's pods; Member, if set, must also accept
	// a pod (a StatefulSet's pods carry its name).
	Selector labels.Selector
	Member   func(*corev1.Pod) bool
	// Fresh reads the owner from the server, not the cache: an owner that
	// is gone, replaced or being deleted adopts nothing.
	Fresh func(ctx context.Context) (metav1.Object, error)
}

func (o *Owner) matches(p *corev1.Pod) bool {
	return o.Selector.Matches(labels.Set(p.Labels)) && (o.Member == nil || o.Member(p))
}

// Claim returns the pods among candidates that owner owns once it has
// adopted the orphans it matches and released the pods it controls that no
// longer match. An owner being deleted neither adopts nor releases; pods
// being deleted are not adopted. Each change is a merge patch bound to the
// pod's uid and resourceVersion.
func Claim(ctx context.Context, client kubernetes.Interface, owner Owner, candidates []*corev1.Pod) ([]*corev1.Pod, error) {
	uid := owner.Object.GetUID()
	deleting := owner.Object.GetDeletionTimestamp() != nil
	var owned []*corev1.Pod
	var errs []error
	checked, canAdopt := false, false
	for _, p := range candidates {
		ref := metav1.GetControllerOfNoCopy(p)
		matches := owner.matches(p)
		switch {
		case ref != nil && ref.UID != uid:
			continue
		case ref != nil && matches:
			owned = append(owned, p)
			continue
		case ref != nil:
			if !deleting {
				refs := slices.DeleteFunc(slices.Clone(p.OwnerReferences), func(r metav1.OwnerReference) bool { return r.UID == uid })
				errs = append(errs, setOwners(ctx, client, p, refs, "release"))
			}
			continue
		case !matches || deleting || p.DeletionTimestamp != nil:
			continue
		}
		if !checked {
			checked = true
			fresh, err := owner.Fresh(ctx)
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("recheck %s before adopting: %w", klog.KObj(owner.Object), err))
			}
			canAdopt = err == nil && fresh.GetUID() == uid && fresh.GetDeletionTimestamp() == nil
		}
		if !canAdopt {
			continue
		}
		refs := append(slices.Clone(p.OwnerReferences), *metav1.NewControllerRef(owner.Object, owner.Kind))
		if err := setOwners(ctx, client, p, refs, "adopt"); err != nil {
			errs = append(errs, err)
			continue
		}
		owned = append(owned, p)
	}
	return owned, errors.Join(errs...)
}

func setOwners(ctx context.Context, client kubernetes.Interface, p *corev1.Pod, refs []metav1.OwnerReference, verb string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "uid": p.UID, "resourceVersion": p.ResourceVersion,
	}})
	if err != nil {
		return err
	}
	_, err = client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s pod %s: %w", verb, klog.KObj(p), err)
	}
	klog.FromContext(ctx).V(2).Info("Changed pod ownership", "action", verb, "pod", klog.KObj(p))
	return nil
}

// NewPod returns a pod made from template, controlled by owner: the
// template's labels, annotations, finalizers and spec, in owner's
// namespace. The caller names it.
func NewPod(template *corev1.PodTemplateSpec, owner metav1.Object, kind schema.GroupVersionKind) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       owner.GetNamespace(),
			Labels:          maps.Clone(template.Labels),
			Annotations:     maps.Clone(template.Annotations),
			Finalizers:      slices.Clone(template.Finalizers),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, kind)},
		},
		Spec: *template.Spec.DeepCopy(),
	}
}

// DeletePod deletes p on the condition that it is still the pod (uid) the
// decision was made for. A pod that is gone or replaced is no error.
func DeletePod(ctx context.Context, client kubernetes.Interface, p *corev1.Pod) error {
	uid := p.UID
	err := client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s: %w", klog.KObj(p), err)
	}
	return nil
}

// Ready reports whether p's Ready condition is true.
func Ready(p *corev1.Pod) bool {
	return readyCondition(p) != nil
}

func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if c := &p.Status.Conditions[i]; c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// Available reports whether p has been ready for minReadySeconds at now,
// and, if it is ready but not yet available, how long until it is.
func Available(p *corev1.Pod, minReadySeconds int32, now time.Time) (bool, time.Duration) {
	c := readyCondition(p)
	switch {
	case c == nil:
		return false, 0
	case minReadySeconds == 0:
		return true, 0
	case c.LastTransitionTime.IsZero():
		return false, 0
	}
	left := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
	if left < 0 {
		return true, 0
	}
	return false, max(left, time.Millisecond)
}
