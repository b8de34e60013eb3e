package nodelifecycle

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// podReady reports whether pod's Ready condition is True.
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// markPodsNotReady sets the Ready condition of node's pods False, as
// upstream's MarkPodsNotReady, each once per not-ready spell of the node (h
// remembers which), with a NodeNotReady event. Pods without a Ready
// condition are left alone.
func (c *Controller) markPodsNotReady(ctx context.Context, node *corev1.Node, h *health) error {
	var errs []error
	for _, pod := range c.pods.Pods(node.Name) {
		if !podReady(pod) || h.marked[pod.UID] {
			continue
		}
		updated := pod.DeepCopy()
		for i := range updated.Status.Conditions {
			if cond := &updated.Status.Conditions[i]; cond.Type == corev1.PodReady {
				cond.Status = corev1.ConditionFalse
				cond.LastTransitionTime = metav1.NewTime(c.clock.Now())
			}
		}
		_, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("mark pod %s/%s not ready: %w", pod.Namespace, pod.Name, err))
			continue
		}
		if h.marked == nil {
			h.marked = map[types.UID]bool{}
		}
		h.marked[pod.UID] = true
		klog.FromContext(ctx).V(2).Info("Marked pod not ready", "pod", klog.KObj(pod), "node", klog.KObj(node))
		c.events.Event(updated, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	}
	return errors.Join(errs...)
}
