package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// orphansOf is the index key of the pods of namespace ns that have no
// controller.
func orphansOf(ns string) string { return "orphan/" + ns }

// claim returns the Job's pods from the cache once it has adopted the
// orphans its selector matches (they get the controller reference and the
// tracking finalizer) and released the pods it controls that no longer
// match. Only a failure to read the cache returns no pods; failed adoptions
// and releases are returned as an error beside the pods. A Job being
// deleted (or without a selector) neither adopts nor releases; before the first
// adoption the Job is read from the server, so that one deleted or
// replaced since the cache saw it adopts nothing.
func (c *Controller) claim(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of job %s: %w", klog.KObj(job), err)
	}
	owned, err := c.pods.ByIndex(byController, string(job.UID))
	if err != nil {
		return nil, err
	}
	orphans, err := c.pods.ByIndex(byController, orphansOf(job.Namespace))
	if err != nil {
		return nil, err
	}
	var pods []*corev1.Pod
	var errs []error
	checked, canAdopt := false, false
	for _, obj := range slices.Concat(owned, orphans) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Namespace != job.Namespace {
			continue
		}
		ref := metav1.GetControllerOfNoCopy(p)
		matches := selector.Matches(labels.Set(p.Labels))
		switch {
		case ref != nil && ref.UID != job.UID:
			continue
		case ref != nil && (matches || job.DeletionTimestamp != nil || job.Spec.Selector == nil):
			pods = append(pods, p)
			continue
		case ref != nil:
			refs := slices.DeleteFunc(slices.Clone(p.OwnerReferences), func(r metav1.OwnerReference) bool { return r.UID == job.UID })
			errs = append(errs, c.patchOwnership(ctx, p, refs, p.Finalizers, "release"))
			continue
		case !matches || job.DeletionTimestamp != nil || p.DeletionTimestamp != nil:
			continue
		}
		if !checked {
			checked = true
			fresh, err := c.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("recheck job %s before adopting: %w", klog.KObj(job), err))
			}
			canAdopt = err == nil && fresh.UID == job.UID && fresh.DeletionTimestamp == nil
		}
		if !canAdopt {
			continue
		}
		adopted := p.DeepCopy()
		adopted.OwnerReferences = append(adopted.OwnerReferences, *metav1.NewControllerRef(job, jobKind))
		if !hasFinalizer(adopted) {
			adopted.Finalizers = append(adopted.Finalizers, batchv1.JobTrackingFinalizer)
		}
		if err := c.patchOwnership(ctx, p, adopted.OwnerReferences, adopted.Finalizers, "adopt"); err != nil {
			errs = append(errs, err)
			continue
		}
		pods = append(pods, adopted)
	}
	return pods, errors.Join(errs...)
}

// patchOwnership sets a pod's owner references and finalizers with a JSON
// merge patch bound to the pod's uid and resource version, so that it
// applies only to the state it was computed from. A pod that is gone is no
// error.
func (c *Controller) patchOwnership(ctx context.Context, p *corev1.Pod, refs []metav1.OwnerReference, finalizers []string, verb string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "finalizers": finalizers, "uid": p.UID, "resourceVersion": p.ResourceVersion,
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
	klog.FromContext(ctx).V(2).Info("Changed pod ownership", "action", verb, "pod", klog.KObj(p))
	return nil
}

// matchingJobs returns the keys of the Jobs of the pod's namespace whose
// selector matches it.
func (c *Controller) matchingJobs(p *corev1.Pod) []string {
	jobs, err := c.jobs.Jobs(p.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	for _, j := range jobs {
		s, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
		if err == nil && !s.Empty() && s.Matches(labels.Set(p.Labels)) {
			keys = append(keys, j.Namespace+"/"+j.Name)
		}
	}
	return keys
}
