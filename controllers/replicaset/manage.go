package replicaset

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// manage creates or deletes pods so that the set owns as many active pods
// as its replicas, at most the burst limit per sync. Creations run in
// slow-start batches; the expected creations and deletions are recorded
// first, so that the next sync waits until the cache shows them.
func (c *Controller) manage(ctx context.Context, key string, s *set, owned []*corev1.Pod) error {
	logger := klog.FromContext(ctx)
	diff := len(owned) - int(s.replicas)
	switch {
	case diff < 0:
		n := min(-diff, c.burst)
		if s.template == nil {
			return fmt.Errorf("create pods for %s: no pod template", key)
		}
		logger.V(2).Info("Too few replicas", "set", klog.KObj(s.meta), "need", s.replicas, "creating", n)
		c.expects.Expect(key, n, nil)
		created, err := slowStart(n, func() error { return c.createPod(ctx, s) })
		for range n - created {
			c.expects.Created(key) // never coming
		}
		return err
	case diff > 0:
		n := min(diff, c.burst)
		logger.V(2).Info("Too many replicas", "set", klog.KObj(s.meta), "need", s.replicas, "deleting", n)
		victims := podsToDelete(owned, c.related(s, owned), n, c.clock.Now())
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = p.Namespace + "/" + p.Name
		}
		c.expects.Expect(key, 0, keys)
		var wg sync.WaitGroup
		errs := make([]error, len(victims))
		for i, p := range victims {
			wg.Go(func() {
				if errs[i] = c.deletePod(ctx, s, p); errs[i] != nil {
					c.expects.Deleted(key, keys[i]) // never coming
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return nil
}

// createPod creates one pod from the set's template, controlled by the set.
// In a terminating namespace nothing can be created, which is no error.
func (c *Controller) createPod(ctx context.Context, s *set) error {
	t := s.template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    s.meta.Name + "-",
			Namespace:       s.meta.Namespace,
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			Finalizers:      slices.Clone(t.Finalizers),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(s.meta, c.kind.gvk())},
		},
		Spec: *t.Spec.DeepCopy(),
	}
	if len(pod.Labels) == 0 {
		return fmt.Errorf("create pod for %s: the pod template has no labels", klog.KObj(s.meta))
	}
	created, err := c.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil
	}
	if err != nil {
		c.events.Eventf(s.object, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pod for %s: %w", klog.KObj(s.meta), err)
	}
	klog.FromContext(ctx).V(4).Info("Created pod", "set", klog.KObj(s.meta), "pod", klog.KObj(created))
	c.events.Eventf(s.object, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.Name)
	return nil
}

// deletePod deletes one of the set's pods, on the condition that it is the
// same pod (uid) the decision was made for.
func (c *Controller) deletePod(ctx context.Context, s *set, p *corev1.Pod) error {
	uid := p.UID
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or replaced by another pod of that name
	}
	if err != nil {
		c.events.Eventf(s.object, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s: %w", klog.KObj(p), err)
	}
	c.events.Eventf(s.object, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
	return nil
}

// related returns the pods that count when deciding which pods share a
// node: the set's own and, if the set has a controller (a Deployment), the
// pods of that controller's other sets.
func (c *Controller) related(s *set, owned []*corev1.Pod) []*corev1.Pod {
	ref := metav1.GetControllerOfNoCopy(s.meta)
	if ref == nil {
		return owned
	}
	siblings, err := c.kind.list(s.meta.Namespace)
	if err != nil {
		return owned
	}
	var out []*corev1.Pod
	for _, sib := range siblings {
		if r := metav1.GetControllerOfNoCopy(sib.meta); r == nil || r.UID != ref.UID {
			continue
		}
		for _, p := range c.candidates(s.meta.Namespace, sib.meta.UID) {
			if metav1.IsControlledBy(p, sib.meta) {
				out = append(out, p)
			}
		}
	}
	return out
}
