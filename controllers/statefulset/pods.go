package statefulset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/workload"
)

// createPod creates a pod's claims, then the pod, then gives the claims
// the owners the retention policy asks for. In a terminating namespace
// nothing can be created, which is no error.
func (c *Controller) createPod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	if err := c.createClaims(ctx, set, p, ordinalOf(p)); err != nil {
		c.podEvent("create", set, p, err)
		return err
	}
	created, err := c.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("create pod %s: %w", klog.KObj(p), err) // the cache is behind: retry
	case err != nil:
		c.podEvent("create", set, p, err)
		return fmt.Errorf("create pod %s: %w", klog.KObj(p), err)
	}
	klog.FromContext(ctx).V(2).Info("Created pod", "statefulSet", klog.KObj(set), "pod", klog.KObj(created))
	if err := c.updateClaimOwners(ctx, set, created); err != nil {
		c.podEvent("update", set, created, err)
		return err
	}
	c.podEvent("create", set, created, nil)
	return nil
}

// fixPod restores a pod's identity (name labels) and storage (claim
// volumes), creating missing claims, and its claims' owners. A conflict is
// retried by the next sync.
func (c *Controller) fixPod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	p = p.DeepCopy()
	if !c.claimsMatch(set, p) {
		if err := c.updateClaimOwners(ctx, set, p); err != nil {
			c.podEvent("update", set, p, err)
			return err
		}
	}
	if identityMatches(set, p) && storageMatches(set, p) {
		return nil
	}
	setIdentity(set, p)
	if !storageMatches(set, p) {
		setStorage(set, p)
		if err := c.createClaims(ctx, set, p, ordinalOf(p)); err != nil {
			c.podEvent("update", set, p, err)
			return err
		}
	}
	_, err := c.client.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	c.podEvent("update", set, p, err)
	if err != nil {
		return fmt.Errorf("update pod %s: %w", klog.KObj(p), err)
	}
	return nil
}

// deletePod deletes one of the set's pods, if it is still the pod (uid)
// the decision was made for.
func (c *Controller) deletePod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	err := workload.DeletePod(ctx, c.client, p)
	c.podEvent("delete", set, p, err)
	return err
}
