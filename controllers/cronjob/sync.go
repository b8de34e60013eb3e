package cronjob

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// syncCronJob reconciles one CronJob and writes its status if it changed.
// It returns when to sync it again (zero: only on the next change).
func (c *Controller) syncCronJob(ctx context.Context, cached *batchv1.CronJob) (time.Duration, error) {
	jobs, err := c.jobsOf(cached)
	if err != nil {
		return 0, err
	}
	cj := cached.DeepCopy()
	cleaned := c.cleanup(ctx, cj, jobs)
	cj, next, changed, err := c.reconcile(ctx, cj, jobs)
	if cleaned || changed {
		if _, uerr := c.client.BatchV1().CronJobs(cj.Namespace).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); uerr != nil {
			if apierrors.IsNotFound(uerr) {
				return 0, nil
			}
			return 0, fmt.Errorf("update status of cronjob %s/%s: %w", cj.Namespace, cj.Name, uerr)
		}
	}
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Sync of cronjob failed", "cronjob", klog.KObj(cj), "err", err)
	}
	return next, err
}

// finished returns the type of a Job's True Complete or Failed condition.
func finished(j *batchv1.Job) (batchv1.JobConditionType, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type, true
		}
	}
	return "", false
}

// cleanup deletes the oldest finished Jobs beyond the history limits. It
// reports whether status.active changed.
func (c *Controller) cleanup(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		switch t, _ := finished(j); t {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	changed := false
	for _, h := range []struct {
		jobs  []*batchv1.Job
		limit *int32
	}{{succeeded, cj.Spec.SuccessfulJobsHistoryLimit}, {failed, cj.Spec.FailedJobsHistoryLimit}} {
		if h.limit == nil || len(h.jobs) <= int(*h.limit) {
			continue
		}
		slices.SortFunc(h.jobs, byStartTime)
		for _, j := range h.jobs[:len(h.jobs)-int(*h.limit)] {
			if c.deleteJob(ctx, cj, j) {
				changed = true
			}
		}
	}
	return changed
}

// byStartTime orders Jobs by start time, those not started last, then by
// name.
func byStartTime(a, b *batchv1.Job) int {
	sa, sb := a.Status.StartTime, b.Status.StartTime
	switch {
	case sa == nil && sb != nil:
		return 1
	case sa != nil && sb == nil:
		return -1
	case sa != nil && !sa.Equal(sb):
		return sa.Compare(sb.Time)
	}
	return strings.Compare(a.Name, b.Name)
}

// reconcile updates cj's status from its Jobs and starts a Job if one is
// due. It returns the CronJob (a fresher copy if the cache was stale), when
// to sync again, and whether the status changed.
func (c *Controller) reconcile(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (*batchv1.CronJob, time.Duration, bool, error) {
	changed := false
	children := map[types.UID]bool{}
	for _, j := range jobs {
		children[j.UID] = true
		active := isActive(cj, j.UID)
		kind, done := finished(j)
		switch {
		case !active && !done:
			// The cached CronJob may predate the status write that listed
			// this Job: ask the server before calling the Job unexpected.
			fresh, err := c.client.BatchV1().CronJobs(cj.Namespace).Get(ctx, cj.Name, metav1.GetOptions{})
			if err != nil {
				return cj, 0, changed, fmt.Errorf("get cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
			}
			if isActive(fresh, j.UID) {
				cj = fresh
				continue
			}
			c.events.Eventf(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		case done:
			if active {
				removeActive(cj, j.UID)
				c.events.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, kind)
				changed = true
			}
			if t := j.Status.CompletionTime; kind == batchv1.JobComplete && t != nil &&
				(cj.Status.LastSuccessfulTime == nil || t.After(cj.Status.LastSuccessfulTime.Time)) {
				cj.Status.LastSuccessfulTime = t
				changed = true
			}
		}
	}
	// Active Jobs the cache does not have: gone, or just created.
	for _, r := range slices.Clone(cj.Status.Active) {
		if children[r.UID] {
			continue
		}
		_, err := c.client.BatchV1().Jobs(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			c.events.Eventf(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", r.Name)
			removeActive(cj, r.UID)
			changed = true
		case err != nil:
			return cj, 0, changed, fmt.Errorf("get job %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	next, started, err := c.start(ctx, cj)
	return cj, next, changed || started, err
}

// start creates the Job of the most recent missed start time, if the
// CronJob may run one now. It returns when to sync again and whether the
// status changed.
func (c *Controller) start(ctx context.Context, cj *batchv1.CronJob) (time.Duration, bool, error) {
	logger := klog.FromContext(ctx)
	if cj.DeletionTimestamp != nil {
		return 0, false, nil
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			c.events.Eventf(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return 0, false, nil
		}
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return 0, false, nil
	}
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		c.events.Eventf(cj, corev1.EventTypeWarning, "UnsupportedSchedule",
			"CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", cj.Spec.Schedule)
	}
	sched, err := parse(cj)
	if err != nil {
		c.events.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, false, nil
	}
	now := c.clock.Now()
	m, err := mostRecent(cj, now, sched, true)
	if err != nil {
		c.events.Eventf(cj, corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return 0, false, nil
	}
	if m.count > tooManyMissed {
		c.events.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes",
			"too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
		logger.Info("Too many missed start times", "cronjob", klog.KObj(cj))
	}
	next := untilNext(cj, now, sched)
	if m.last == nil {
		return next, false, nil
	}
	scheduled := *m.last
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		c.events.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return next, false, nil
	}
	name := jobName(cj, scheduled)
	if slices.ContainsFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.Name == name }) ||
		cj.Status.LastScheduleTime.Equal(&metav1.Time{Time: scheduled}) {
		return next, false, nil
	}
	changed := false
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.events.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return next, false, nil
		}
	case batchv1.ReplaceConcurrent:
		for _, r := range slices.Clone(cj.Status.Active) {
			j, err := c.client.BatchV1().Jobs(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				removeActive(cj, r.UID)
				changed = true
				continue
			}
			if err != nil {
				c.events.Eventf(cj, corev1.EventTypeWarning, "FailedGet", "Get job: %v", err)
				return 0, changed, err
			}
			if !c.deleteJob(ctx, cj, j) {
				return 0, changed, fmt.Errorf("could not replace job %s/%s", j.Namespace, j.Name)
			}
			changed = true
		}
	}

	want, err := jobFor(cj, scheduled)
	if err != nil {
		return 0, changed, err
	}
	job, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, want, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		// Created before, but the status write that followed was lost.
		job, err = c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return 0, changed, err
		}
		if !metav1.IsControlledBy(job, cj) || isActive(cj, job.UID) {
			return 0, changed, nil
		}
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return 0, changed, err
	case err != nil:
		c.events.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return 0, changed, err
	default:
		logger.V(2).Info("Created job", "job", klog.KObj(job), "cronjob", klog.KObj(cj))
		c.events.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", job.Name)
	}
	cj.Status.Active = append(cj.Status.Active, corev1.ObjectReference{
		Kind: "Job", APIVersion: "batch/v1", Namespace: job.Namespace, Name: job.Name,
		UID: job.UID, ResourceVersion: job.ResourceVersion,
	})
	cj.Status.LastScheduleTime = &metav1.Time{Time: scheduled}
	return untilNext(cj, now, sched), true, nil
}
