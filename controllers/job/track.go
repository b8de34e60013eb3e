package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
)

// maxUncounted caps status.uncountedTerminatedPods, as upstream: a sync
// stops counting there, so the status stays small and one big Job does not
// starve the others.
const maxUncounted = 500

// track counts the Job's finished pods and writes its status, in the order
// that never loses or doubles a count:
//
//  1. finished pods that still carry the finalizer go into
//     status.uncountedTerminatedPods (an Indexed Job's succeeded ones into
//     completedIndexes), with the FailureTarget or SuccessCriteriaMet
//     condition if the Job is heading there; the status is written;
//  2. their finalizers are removed;
//  3. uids whose finalizer is gone move from the uncounted lists into
//     succeeded and failed;
//  4. when nothing is left uncounted or terminating, the Job gets Failed
//     or Complete (with completionTime); the status is written.
//
// write says that the status already differs from what the cache holds.
func (c *Controller) track(ctx context.Context, st *state, write bool) error {
	job := st.job
	indexed := isIndexed(job)
	tracked := sets.New[types.UID]()
	for _, p := range st.pods {
		if st.tracked(p) {
			tracked.Insert(p.UID)
		}
	}
	if countReleased(&job.Status, tracked) {
		write = true
	}
	unc := job.Status.UncountedTerminatedPods
	var release []*corev1.Pod
	newIndexes, full := 0, false
	for _, p := range st.pods {
		if !st.tracked(p) {
			continue
		}
		failed := isFailed(p, job)
		ix := completionIndex(p)
		if job.DeletionTimestamp == nil && st.finished == nil && p.Status.Phase != corev1.PodSucceeded {
			if !failed {
				continue // still running, and the Job goes on
			}
			if d := st.delayed[ix]; d != nil && d.UID == p.UID {
				continue // kept until its replacement carries its index's failure count on
			}
		}
		release = append(release, p)
		validIndex := !indexed || (ix != noIndex && ix < int(*job.Spec.Completions))
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !st.uncountedFailed.Has(p.UID):
			if indexed {
				if validIndex && !st.completedIndexes.Has(ix) {
					newIndexes++
					write = true
				}
			} else if !st.uncountedSucceeded.Has(p.UID) {
				unc.Succeeded = append(unc.Succeeded, p.UID)
				write = true
			}
		case failed || (st.finished != nil && st.finished.Type != batchv1.JobSuccessCriteriaMet):
			// Once the Job fails, every pod that did not succeed counts as failed.
			if !st.uncountedFailed.Has(p.UID) && validIndex && judgeFailure(job, p).counts {
				unc.Failed = append(unc.Failed, p.UID)
				write = true
			}
		}
		if newIndexes+len(unc.Succeeded)+len(unc.Failed) >= maxUncounted {
			full = true
			break
		}
	}
	if indexed {
		s := formatIndexes(st.succeededIndexes)
		if s != job.Status.CompletedIndexes {
			write = true
		}
		job.Status.CompletedIndexes = s
		job.Status.Succeeded = int32(st.succeededIndexes.Len())
	}
	if perIndex(job) {
		if s := formatIndexes(st.failedIndexes); job.Status.FailedIndexes == nil || *job.Status.FailedIndexes != s {
			job.Status.FailedIndexes = &s
			write = true
		}
	}
	now := c.clock.Now()
	switch {
	case st.finished != nil && st.finished.Type == batchv1.JobFailureTarget:
		job.Status.Conditions = append(job.Status.Conditions, *st.finished)
		write = true
		st.finished = newCondition(batchv1.JobFailed, st.finished.Reason, st.finished.Message, now)
	case st.finished != nil && st.finished.Type == batchv1.JobSuccessCriteriaMet:
		if cond := findCondition(job, batchv1.JobSuccessCriteriaMet); cond == nil || cond.Status != corev1.ConditionTrue {
			job.Status.Conditions = append(job.Status.Conditions, *st.finished)
			write = true
		}
		st.finished = newCondition(batchv1.JobComplete, st.finished.Reason, st.finished.Message, now)
	}

	// 1.
	if write {
		if err := c.writeStatus(ctx, st); err != nil {
			return fmt.Errorf("add uncounted pods to status: %w", err)
		}
		c.memory.setBackoff(st.key, st.backoff)
		write = false
		job = st.job
	}
	// 2. and 3.
	var releaseErr error
	if len(release) > 0 {
		var gone []types.UID
		gone, releaseErr = c.release(ctx, st.key, release)
		tracked.Delete(gone...)
	}
	if countReleased(&job.Status, tracked) {
		write = true
	}
	if releaseErr != nil {
		if write {
			if err := c.writeStatus(ctx, st); err != nil {
				return errors.Join(releaseErr, fmt.Errorf("count released pods: %w", err))
			}
		}
		return releaseErr
	}
	// 4.
	finished := !full && c.finish(ctx, st)
	if !write && !finished {
		return nil
	}
	if err := c.writeStatus(ctx, st); err != nil {
		return fmt.Errorf("count released pods: %w", err)
	}
	if finished {
		c.memory.finishWritten(job.UID)
		c.recordFinished(st)
	}
	return nil
}

// countReleased moves the uids in status.uncountedTerminatedPods whose pod
// no longer carries the finalizer (not in tracked) into the succeeded and
// failed counters, and reports whether anything moved.
func countReleased(status *batchv1.JobStatus, tracked sets.Set[types.UID]) bool {
	unc := status.UncountedTerminatedPods
	keep := func(uids []types.UID) []types.UID {
		return slices.DeleteFunc(slices.Clone(uids), func(uid types.UID) bool { return !tracked.Has(uid) })
	}
	succeeded, failed := keep(unc.Succeeded), keep(unc.Failed)
	if len(succeeded) == len(unc.Succeeded) && len(failed) == len(unc.Failed) {
		return false
	}
	status.Succeeded += int32(len(unc.Succeeded) - len(succeeded))
	status.Failed += int32(len(unc.Failed) - len(failed))
	unc.Succeeded, unc.Failed = succeeded, failed
	return true
}

// release removes the tracking finalizer from the pods and returns the uids
// whose finalizer is gone (or whose pod is).
func (c *Controller) release(ctx context.Context, key string, pods []*corev1.Pod) ([]types.UID, error) {
	uids := make([]types.UID, len(pods))
	for i, p := range pods {
		uids[i] = p.UID
	}
	c.memory.removingFinalizers(key, uids...)
	ok := make([]bool, len(pods))
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Go(func() {
			err := c.removeFinalizer(ctx, p)
			if err != nil {
				c.memory.finalizerGone(key, p.UID) // no update is coming
			}
			if err != nil && !apierrors.IsNotFound(err) {
				errs[i] = err
				return
			}
			ok[i] = true
		})
	}
	wg.Wait()
	var gone []types.UID
	for i, uid := range uids {
		if ok[i] {
			gone = append(gone, uid)
		}
	}
	return gone, errors.Join(errs...)
}

// finish gives the Job its Complete or Failed condition when it is heading
// there and no pod is left uncounted or terminating, and reports whether
// it did.
func (c *Controller) finish(ctx context.Context, st *state) bool {
	job := st.job
	if st.finished == nil {
		return false
	}
	if n := len(job.Status.UncountedTerminatedPods.Succeeded) + len(job.Status.UncountedTerminatedPods.Failed); n > 0 {
		klog.FromContext(ctx).V(4).Info("Job not finished yet: pods uncounted", "job", klog.KObj(job), "uncounted", n)
		return false
	}
	if st.terminating > 0 {
		klog.FromContext(ctx).V(4).Info("Job not finished yet: pods terminating", "job", klog.KObj(job), "terminating", st.terminating)
		return false
	}
	f := st.finished
	setCondition(job, corev1.ConditionTrue, f.Type, f.Reason, f.Message, f.LastTransitionTime.Time)
	if f.Type == batchv1.JobComplete {
		t := metav1.NewTime(f.LastTransitionTime.Time)
		job.Status.CompletionTime = &t
	}
	return true
}

func (c *Controller) recordFinished(st *state) {
	job, f := st.job, st.finished
	if f.Type == batchv1.JobComplete {
		if job.Spec.Completions != nil && job.Status.Succeeded > *job.Spec.Completions {
			c.events.Event(job, corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
		}
		c.events.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
		return
	}
	c.events.Event(job, corev1.EventTypeWarning, f.Reason, f.Message)
}

// writeStatus writes st.job's status and keeps what the server returned.
func (c *Controller) writeStatus(ctx context.Context, st *state) error {
	base := st.job.ResourceVersion
	updated, err := c.client.BatchV1().Jobs(st.job.Namespace).UpdateStatus(ctx, st.job, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of job %s: %w", klog.KObj(st.job), err)
	}
	if updated.ResourceVersion != base { // a write that changed nothing keeps the version
		c.memory.wroteOver(st.key, base)
	}
	if updated.Status.UncountedTerminatedPods == nil {
		updated.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	st.job = updated
	return nil
}
