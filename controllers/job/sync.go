package job

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// builtInManager is the spec.managedBy value of Jobs this controller runs.
const builtInManager = "kubernetes.io/job-controller"

// state is one sync's view of a Job: a copy of it whose status the sync
// writes, its pods, and what they add up to.
type state struct {
	key         string
	job         *batchv1.Job
	pods        []*corev1.Pod // every pod the Job controls
	active      []*corev1.Pod
	ready       int32
	terminating int32
	// uncountedSucceeded and uncountedFailed are the uids in
	// status.uncountedTerminatedPods when the sync began.
	uncountedSucceeded, uncountedFailed sets.Set[types.UID]
	// removing are the pods whose finalizer removal the cache does not show.
	removing sets.Set[types.UID]
	// succeeded and failed count what status says plus what it will say.
	succeeded, failed int32
	// succeededIndexes of an Indexed Job; completedIndexes holds the ones
	// status already listed.
	succeededIndexes, completedIndexes sets.Set[int]
	// finished is the condition the Job is heading for: FailureTarget or
	// SuccessCriteriaMet at first, then Failed or Complete.
	finished *batchv1.JobCondition
	backoff  backoff
	// failedIndexes and delayed are kept for backoffLimitPerIndex only
	// (see perindex.go).
	failedIndexes sets.Set[int]
	delayed       map[int]*corev1.Pod
}

// sync brings one Job (or, for an orphan key, one pod) to what it should
// be. It is level-triggered: safe to call any number of times.
func (c *Controller) sync(ctx context.Context, key string) error {
	if rest, ok := strings.CutPrefix(key, orphanPrefix); ok {
		return c.syncOrphan(ctx, rest)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	shared, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.memory.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if c.memory.stale(key, shared.ResourceVersion) {
		return nil // the update event of this controller's own write will queue it again
	}
	if m := shared.Spec.ManagedBy; m != nil && *m != builtInManager {
		return nil
	}
	if isFinished(shared) {
		c.memory.forget(key)
		return nil
	}
	if c.memory.finishPending(shared.UID) {
		return nil // the cache lags behind the finished status this controller wrote
	}
	if m := shared.Spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		c.events.Event(shared, corev1.EventTypeWarning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return nil
	}
	job := shared.DeepCopy()
	if job.Spec.BackoffLimit == nil || job.Spec.Parallelism == nil {
		return nil // the API server defaults both; nothing to go by
	}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	// Expectations first: a pod that shows up after this can only make the
	// next sync look again, never make this one act twice.
	satisfied := c.memory.satisfied(key)
	pods, claimErr := c.claim(ctx, job)
	if pods == nil && claimErr != nil {
		return claimErr
	}
	st := c.observe(key, job, pods)
	now := c.clock.Now()
	if job.Status.StartTime == nil && !isSuspended(job) {
		job.Status.StartTime = &metav1.Time{Time: now}
	}
	c.decide(ctx, st)

	var manageErr error
	active := int32(len(st.active))
	suspendChanged := false
	if st.finished != nil {
		deleted, deletedReady, err := c.deletePods(ctx, st, st.active, false)
		if int(deleted) != len(st.active) || !satisfied {
			st.finished = nil // not done until every pod is gone from the count
		}
		active -= deleted
		st.terminating += deleted
		st.ready -= deletedReady
		manageErr = err
	} else {
		managed := false
		if satisfied && job.DeletionTimestamp == nil {
			active, manageErr = c.manage(ctx, st)
			managed = true
		}
		var complete bool
		if job.Spec.Completions == nil {
			complete = st.succeeded > 0 && active == 0
		} else {
			complete = st.succeeded >= *job.Spec.Completions && active == 0
		}
		switch {
		case complete:
			st.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached,
				"Reached expected number of succeeded pods", now)
		case managed && isSuspended(job):
			if setCondition(job, corev1.ConditionTrue, batchv1.JobSuspended, "JobSuspended", "Job suspended", now) {
				suspendChanged = true
				c.events.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
				job.Status.StartTime = nil
			}
		case managed:
			if setCondition(job, corev1.ConditionFalse, batchv1.JobSuspended, "JobResumed", "Job resumed", now) {
				suspendChanged = true
				c.events.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
				// activeDeadlineSeconds counts the time the Job runs without a break.
				job.Status.StartTime = &metav1.Time{Time: now}
			}
		}
	}
	write := suspendChanged
	// While creations or deletions are outstanding the cache's pods are
	// stale: counting them would write a count that goes back and forth.
	if satisfied || job.Status.Ready == nil {
		write = write || active != job.Status.Active || job.Status.Ready == nil || *job.Status.Ready != st.ready ||
			job.Status.Terminating == nil || *job.Status.Terminating != st.terminating
		job.Status.Active = active
		job.Status.Ready = &st.ready
		job.Status.Terminating = &st.terminating
	}
	if err := c.track(ctx, st, write); err != nil {
		return errors.Join(fmt.Errorf("track status of job %s: %w", key, err), claimErr)
	}
	return errors.Join(manageErr, claimErr)
}

// observe counts the Job's pods.
func (c *Controller) observe(key string, job *batchv1.Job, pods []*corev1.Pod) *state {
	st := &state{
		key: key, job: job,
		uncountedSucceeded: sets.New(job.Status.UncountedTerminatedPods.Succeeded...),
		uncountedFailed:    sets.New(job.Status.UncountedTerminatedPods.Failed...),
		removing:           c.memory.finalizersBeingRemoved(key),
	}
	for _, p := range pods {
		st.pods = append(st.pods, p)
		switch {
		case isActive(p):
			st.active = append(st.active, p)
			if isReady(p) {
				st.ready++
			}
		case isTerminating(p):
			st.terminating++
		}
	}
	newSucceeded, newFailed := st.newlyFinished()
	failed := 0
	for _, p := range newFailed {
		if judgeFailure(job, p).counts {
			failed++
		}
	}
	st.succeeded = job.Status.Succeeded + int32(len(newSucceeded)+st.uncountedSucceeded.Len())
	st.failed = job.Status.Failed + int32(failed+st.uncountedFailed.Len())
	if isIndexed(job) {
		completions := int(*job.Spec.Completions)
		st.completedIndexes = parseIndexes(job.Status.CompletedIndexes, completions)
		st.succeededIndexes = st.completedIndexes.Clone()
		for _, p := range st.pods {
			if ix := completionIndex(p); p.Status.Phase == corev1.PodSucceeded && ix != noIndex && ix < completions {
				st.succeededIndexes.Insert(ix)
			}
		}
		st.succeeded = int32(st.succeededIndexes.Len())
		if perIndex(job) {
			st.observeIndexFailures(c.clock.Now())
		}
	}
	st.backoff = c.nextBackoff(key, newSucceeded, newFailed)
	return st
}

// newlyFinished returns the finished pods not counted yet: they still have
// the finalizer, are not in uncountedTerminatedPods and, for an Indexed
// Job, have a valid index.
func (st *state) newlyFinished() (succeeded, failed []*corev1.Pod) {
	for _, p := range st.pods {
		if !st.tracked(p) || st.uncountedSucceeded.Has(p.UID) || st.uncountedFailed.Has(p.UID) {
			continue
		}
		if isIndexed(st.job) {
			if ix := completionIndex(p); ix == noIndex || ix >= int(*st.job.Spec.Completions) {
				continue
			}
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			succeeded = append(succeeded, p)
		case isFailed(p, st.job):
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

// tracked reports whether the pod still carries the finalizer, as far as
// this controller knows.
func (st *state) tracked(p *corev1.Pod) bool { return hasFinalizer(p) && !st.removing.Has(p.UID) }

// decide sets st.finished when the Job has failed or its success policy is
// met, in upstream's order: an earlier verdict, the pod failure policy,
// backoffLimit, activeDeadlineSeconds, then the success policy. While the
// deadline is ahead, the Job is queued for when it passes.
func (c *Controller) decide(ctx context.Context, st *state) {
	job, now := st.job, c.clock.Now()
	if cond := findCondition(job, batchv1.JobSuccessCriteriaMet); cond != nil && cond.Status == corev1.ConditionTrue {
		st.finished = cond.DeepCopy()
		return
	}
	if cond := findCondition(job, batchv1.JobFailureTarget); cond != nil && cond.Status == corev1.ConditionTrue {
		st.finished = newCondition(batchv1.JobFailed, cond.Reason, cond.Message, now)
		return
	}
	if msg := failJobMessage(job, st.pods); msg != "" {
		st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonPodFailurePolicy, msg, now)
		return
	}
	switch {
	case st.failed > *job.Spec.BackoffLimit || pastBackoffLimitOnFailure(job, st.pods):
		st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded,
			"Job has reached the specified backoff limit", now)
		return
	case job.Spec.ActiveDeadlineSeconds != nil && job.Status.StartTime != nil && !isSuspended(job):
		left := time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second - now.Sub(job.Status.StartTime.Time)
		if left <= 0 {
			st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded,
				"Job was active longer than specified deadline", now)
			return
		}
		klog.FromContext(ctx).V(4).Info("Job has a deadline, will sync again", "job", klog.KObj(job), "in", left)
		c.loop.AddAfter(st.key, left)
	}
	if perIndex(job) {
		switch failed := st.failedIndexes.Len(); {
		case job.Spec.MaxFailedIndexes != nil && failed > int(*job.Spec.MaxFailedIndexes):
			st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonMaxFailedIndexesExceeded,
				"Job has exceeded the specified maximal number of failed indexes", now)
			return
		case failed > 0 && failed+st.succeededIndexes.Len() >= int(*job.Spec.Completions):
			st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonFailedIndexes, "Job has failed indexes", now)
			return
		}
	}
	if isIndexed(job) {
		if msg, ok := successPolicyMet(job, st.succeededIndexes); ok {
			st.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, msg, now)
		}
	}
}

// pastBackoffLimitOnFailure reports whether the restarts of the running
// pods of an OnFailure Job reach its backoffLimit.
func pastBackoffLimitOnFailure(job *batchv1.Job, pods []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			restarts += cs.RestartCount
		}
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
	}
	if *job.Spec.BackoffLimit == 0 {
		return restarts > 0
	}
	return restarts >= *job.Spec.BackoffLimit
}
