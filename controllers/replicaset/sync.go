package replicaset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// sync brings one set's pods to its replica count and writes its status.
// It claims the active pods it should own first (adopting matching orphans,
// releasing owned pods that no longer match), creates or deletes pods only
// when the cache has caught up with its previous creates and deletes, and
// writes status only when it changed.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	s, err := c.kind.get(ns, name)
	if apierrors.IsNotFound(err) {
		c.expects.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if s.selector == nil {
		return loop.Terminal(fmt.Errorf("%s %s has an invalid or empty selector", c.kind.gvk().Kind, key))
	}
	ready := c.expects.Satisfied(key)

	var candidates, terminatingPods []*corev1.Pod
	for _, p := range c.candidates(ns, s.meta.UID) {
		switch {
		case active(p):
			candidates = append(candidates, p)
		case terminating(p) && metav1.IsControlledBy(p, s.meta) && s.selector.Matches(labels.Set(p.Labels)):
			terminatingPods = append(terminatingPods, p)
		}
	}
	owned, claimErr := c.claim(ctx, s, candidates)

	var manageErr error
	if ready && claimErr == nil && s.meta.DeletionTimestamp == nil {
		manageErr = c.manage(ctx, key, s, owned)
	}
	st, next := c.status(s, owned, terminatingPods, manageErr)
	if err := c.kind.writeStatus(ctx, s, st); err != nil {
		return errors.Join(claimErr, manageErr, err)
	}
	if err := errors.Join(claimErr, manageErr); err != nil {
		return err
	}
	if next > 0 {
		c.loop.AddAfter(key, next)
	}
	return nil
}

// candidates returns the pods the set owns and the orphans of its namespace.
func (c *Controller) candidates(ns string, uid types.UID) []*corev1.Pod {
	var out []*corev1.Pod
	for _, index := range []string{string(uid), "orphan/" + ns} {
		objs, _ := c.pods.ByIndex(byController, index)
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok && p.Namespace == ns {
				out = append(out, p)
			}
		}
	}
	return out
}

// claim returns the pods the set owns once it has adopted the orphans its
// selector matches and released the pods it owns that no longer match. A
// set being deleted neither adopts nor releases. Before the first adoption
// the set is read from the server, so that a set deleted or replaced since
// the cache saw it adopts nothing.
func (c *Controller) claim(ctx context.Context, s *set, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	var owned []*corev1.Pod
	var errs []error
	checked, canAdopt := false, false
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		matches := s.selector.Matches(labels.Set(p.Labels))
		switch {
		case ref != nil && ref.UID != s.meta.UID:
			continue
		case ref != nil && matches:
			owned = append(owned, p)
			continue
		case ref != nil:
			if s.meta.DeletionTimestamp == nil {
				errs = append(errs, c.setOwners(ctx, s, p, without(p.OwnerReferences, s.meta.UID), "release"))
			}
			continue
		case !matches || s.meta.DeletionTimestamp != nil || p.DeletionTimestamp != nil:
			continue
		}
		if !checked {
			checked = true
			fresh, err := c.kind.fresh(ctx, s.meta.Namespace, s.meta.Name)
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("recheck %s before adopting: %w", klog.KObj(s.meta), err))
			}
			canAdopt = err == nil && fresh.meta.UID == s.meta.UID && fresh.meta.DeletionTimestamp == nil
		}
		if !canAdopt {
			continue
		}
		refs := append(slices.Clone(p.OwnerReferences), *metav1.NewControllerRef(s.meta, c.kind.gvk()))
		if err := c.setOwners(ctx, s, p, refs, "adopt"); err != nil {
			errs = append(errs, err)
			continue
		}
		owned = append(owned, p)
	}
	return owned, errors.Join(errs...)
}

// setOwners replaces a pod's owner references with a JSON merge patch that
// carries the pod's uid and resource version, so that it applies only to the
// state it was computed from. A pod that is gone is no error.
func (c *Controller) setOwners(ctx context.Context, s *set, p *corev1.Pod, refs []metav1.OwnerReference, verb string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "uid": p.UID, "resourceVersion": p.ResourceVersion,
	}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s pod %s: %w", verb, klog.KObj(p), err)
	}
	klog.FromContext(ctx).V(2).Info("Changed pod ownership", "action", verb, "pod", klog.KObj(p), "owner", klog.KObj(s.meta))
	return nil
}

func without(refs []metav1.OwnerReference, uid types.UID) []metav1.OwnerReference {
	return slices.DeleteFunc(slices.Clone(refs), func(r metav1.OwnerReference) bool { return r.UID == uid })
}

// status computes the set's status from the pods it owns. It also returns,
// when some ready pods are not yet available (minReadySeconds), how soon the
// first becomes available, so the set is synced again then.
func (c *Controller) status(s *set, owned, terminatingPods []*corev1.Pod, manageErr error) (status, time.Duration) {
	now := c.clock.Now()
	st := status{
		replicas:           int32(len(owned)),
		terminating:        ptr.To(int32(len(terminatingPods))),
		observedGeneration: s.meta.Generation,
	}
	var templateLabels labels.Selector = labels.Everything()
	if s.template != nil {
		templateLabels = labels.SelectorFromSet(s.template.Labels)
	}
	var next time.Duration
	for _, p := range owned {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			st.fullyLabeled++
		}
		if readySince(p) == nil {
			continue
		}
		st.ready++
		ok, left := available(p, s.minReadySeconds, now)
		if ok {
			st.available++
		} else if left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	if manageErr != nil {
		st.failure = s.status.failure
		if st.failure == nil {
			reason := ""
			switch diff := len(owned) - int(s.replicas); {
			case diff < 0:
				reason = "FailedCreate"
			case diff > 0:
				reason = "FailedDelete"
			}
			st.failure = &condition{reason: reason, message: manageErr.Error(), since: metav1.NewTime(now)}
		}
	}
	return st, next
}

// slowStart calls fn count times, in batches of 1, 2, 4, ... calls run
// concurrently; after a batch with a failure it stops. It returns how many
// calls succeeded and the first failure. A quota or admission error thus
// costs a few requests, not count.
func slowStart(count int, fn func() error) (int, error) {
	done := 0
	for batch := min(count, 1); batch > 0; batch = min(2*batch, count-done) {
		var wg sync.WaitGroup
		errs := make(chan error, batch)
		for range batch {
			wg.Go(func() {
				if err := fn(); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		failed := len(errs)
		done += batch - failed
		if failed > 0 {
			return done, <-errs
		}
	}
	return done, nil
}
