package job

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// syncOrphan removes the tracking finalizer from the pod podKey names when
// no Job controls it any more (it was orphaned, or its Job deleted), so
// that the pod is not kept forever. The Job is looked up on the server,
// not in the cache, before the finalizer goes.
func (c *Controller) syncOrphan(ctx context.Context, podKey string) error {
	obj, exists, err := c.pods.GetByKey(podKey)
	if err != nil || !exists {
		return err
	}
	p, ok := obj.(*corev1.Pod)
	if !ok || !hasFinalizer(p) {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.Kind == jobKind.Kind && isBatchAPIVersion(ref.APIVersion) {
		j, err := c.client.BatchV1().Jobs(p.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case err == nil && j.UID == ref.UID:
			return nil // its Job still runs it
		case err != nil && !apierrors.IsNotFound(err):
			return fmt.Errorf("get job of pod %s: %w", klog.KObj(p), err)
		}
	}
	klog.FromContext(ctx).V(2).Info("Removing tracking finalizer of orphan pod", "pod", klog.KObj(p))
	if err := c.removeFinalizer(ctx, p); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
