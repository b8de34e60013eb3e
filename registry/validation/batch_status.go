package validation

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// JobStatusUpdate validates a write to a Job's status. Like upstream (with
// JobManagedBy, GA), most consistency rules apply only when the fields
// they read changed, so that statuses written by older servers stay
// updatable.
func JobStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	errs := objectMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)
	st, ost := &job.Status, &old.Status
	p := field.NewPath("status")
	cp := p.Child("conditions")
	omit := field.OmitValueType{}
	has := func(j *batchv1.Job, t batchv1.JobConditionType) bool { return conditionTrue(j.Status.Conditions, t) }
	changed := func(t batchv1.JobConditionType) bool { return has(job, t) != has(old, t) }
	finished := func(j *batchv1.Job) bool { return has(j, batchv1.JobComplete) || has(j, batchv1.JobFailed) }
	complete, failed := has(job, batchv1.JobComplete), has(job, batchv1.JobFailed)
	successMet, failureTarget := has(job, batchv1.JobSuccessCriteriaMet), has(job, batchv1.JobFailureTarget)
	isFinished := finished(job)
	finishedChanged := finished(job) != finished(old)
	completeChanged, failedChanged := changed(batchv1.JobComplete), changed(batchv1.JobFailed)
	completedIdxChanged := st.CompletedIndexes != ost.CompletedIndexes
	failedIdxChanged := !apiequality.Semantic.DeepEqual(st.FailedIndexes, ost.FailedIndexes)
	activeChanged := st.Active != ost.Active
	startChanged := !apiequality.Semantic.DeepEqual(st.StartTime, ost.StartTime)
	completionChanged := !apiequality.Semantic.DeepEqual(st.CompletionTime, ost.CompletionTime)
	readyChanged := !apiequality.Semantic.DeepEqual(st.Ready, ost.Ready)
	terminatingChanged := !apiequality.Semantic.DeepEqual(st.Terminating, ost.Terminating)
	uncountedChanged := !apiequality.Semantic.DeepEqual(st.UncountedTerminatedPods, ost.UncountedTerminatedPods)
	suspendedZero := job.Spec.Suspend != nil && *job.Spec.Suspend && job.Spec.Completions != nil && *job.Spec.Completions == 0
	resuming := has(old, batchv1.JobSuspended) && conditionFalse(st.Conditions, batchv1.JobSuspended)

	errs = append(errs, nonNegativeCounts(p, count{"active", int64(st.Active)}, count{"succeeded", int64(st.Succeeded)}, count{"failed", int64(st.Failed)})...)
	errs = append(errs, optNonNegative(st.Ready, p.Child("ready"))...)
	errs = append(errs, optNonNegative(st.Terminating, p.Child("terminating"))...)
	if u := st.UncountedTerminatedPods; u != nil {
		seen := map[types.UID]bool{}
		up := p.Child("uncountedTerminatedPods")
		for _, l := range []struct {
			name string
			uids []types.UID
		}{{"succeeded", u.Succeeded}, {"failed", u.Failed}} {
			for i, uid := range l.uids {
				switch {
				case uid == "":
					errs = append(errs, field.Invalid(up.Child(l.name).Index(i), uid, "must not be empty"))
				case seen[uid]:
					errs = append(errs, field.Duplicate(up.Child(l.name).Index(i), uid))
				}
				seen[uid] = uid != "" || seen[uid]
			}
		}
	}
	if (completeChanged || failedChanged) && complete && failed {
		errs = append(errs, field.Invalid(cp, omit, "cannot set Complete=True and Failed=true conditions"))
	}
	if (completeChanged || changed(batchv1.JobFailureTarget)) && complete && failureTarget {
		errs = append(errs, field.Invalid(cp, omit, "cannot set Complete=True and FailureTarget=true conditions"))
	}
	if (completeChanged || completionChanged) && st.CompletionTime != nil && !complete {
		errs = append(errs, field.Invalid(p.Child("completionTime"), st.CompletionTime, "cannot set completionTime when there is no Complete=True condition"))
	}
	if (completeChanged || completionChanged) && st.CompletionTime == nil && complete {
		errs = append(errs, field.Required(p.Child("completionTime"), "completionTime is required for Complete jobs"))
	}
	if (startChanged || completionChanged) && st.StartTime != nil && st.CompletionTime != nil && st.CompletionTime.Before(st.StartTime) {
		errs = append(errs, field.Invalid(p.Child("completionTime"), st.CompletionTime, "must be equal to or after `startTime`"))
	}
	if (failedChanged || failedIdxChanged) && failed && !failureTarget {
		errs = append(errs, field.Invalid(cp, omit, "cannot set Failed=True condition without the FailureTarget=true condition"))
	}
	if (completeChanged || changed(batchv1.JobSuccessCriteriaMet)) && complete && !successMet {
		errs = append(errs, field.Invalid(cp, omit, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"))
	}
	if (finishedChanged || activeChanged) && st.Active > 0 && isFinished {
		errs = append(errs, field.Invalid(p.Child("active"), st.Active, "active>0 is invalid for finished job"))
	}
	if (finishedChanged || startChanged) && !suspendedZero && st.StartTime == nil && isFinished {
		errs = append(errs, field.Required(p.Child("startTime"), "startTime is required for finished job"))
	}
	if (finishedChanged || uncountedChanged) && isFinished && st.UncountedTerminatedPods != nil &&
		len(st.UncountedTerminatedPods.Failed)+len(st.UncountedTerminatedPods.Succeeded) > 0 {
		errs = append(errs, field.Invalid(p.Child("uncountedTerminatedPods"), st.UncountedTerminatedPods, "must be empty for finished job"))
	}
	errs = append(errs, statusIndexes(job, completedIdxChanged, failedIdxChanged, p)...)
	if (finishedChanged || terminatingChanged) && st.Terminating != nil && *st.Terminating > 0 && isFinished {
		errs = append(errs, field.Invalid(p.Child("terminating"), st.Terminating, "terminating>0 is invalid for finished job"))
	}
	if (readyChanged || activeChanged) && st.Ready != nil && *st.Ready > st.Active {
		errs = append(errs, field.Invalid(p.Child("ready"), *st.Ready, "cannot set more ready pods than active"))
	}
	if successMet && failed {
		errs = append(errs, field.Invalid(cp, omit, "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
	}
	if successMet && failureTarget {
		errs = append(errs, field.Invalid(cp, omit, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
	}
	if job.Spec.SuccessPolicy != nil && !successMet && complete {
		errs = append(errs, field.Invalid(cp, omit, "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True"))
	}

	// Transitions.
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete, batchv1.JobFailureTarget} {
		if has(old, t) && !has(job, t) {
			errs = append(errs, field.Invalid(cp, omit, fmt.Sprintf("cannot disable the terminal %s=True condition", t)))
		}
	}
	if st.Failed < ost.Failed {
		errs = append(errs, field.Invalid(p.Child("failed"), st.Failed, "cannot decrease the failed counter"))
	}
	elastic := isIndexed(&job.Spec) && apiequality.Semantic.DeepEqual(job.Spec.Completions, job.Spec.Parallelism)
	if !elastic && st.Succeeded < ost.Succeeded {
		errs = append(errs, field.Invalid(p.Child("succeeded"), st.Succeeded, "cannot decrease the succeeded counter"))
	}
	if st.CompletionTime != nil && ost.CompletionTime != nil && !st.CompletionTime.Equal(ost.CompletionTime) {
		errs = append(errs, field.Invalid(p.Child("completionTime"), st.CompletionTime, "field is immutable"))
	}
	if startChanged && !resuming && ost.StartTime != nil && (job.Spec.Suspend == nil || !*job.Spec.Suspend) {
		errs = append(errs, field.Invalid(p.Child("startTime"), st.StartTime, "field is immutable for unsuspended job once set"))
	}
	if has(old, batchv1.JobSuccessCriteriaMet) && !successMet {
		errs = append(errs, field.Invalid(cp, omit, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	if has(old, batchv1.JobComplete) && !has(old, batchv1.JobSuccessCriteriaMet) && successMet {
		errs = append(errs, field.Invalid(cp, omit, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"))
	}
	return errs
}

// statusIndexes checks completedIndexes and failedIndexes when they change.
func statusIndexes(job *batchv1.Job, completedChanged, failedChanged bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	st, spec := &job.Status, &job.Spec
	if completedChanged && spec.Completions != nil {
		if _, err := parseIndexes(st.CompletedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("completedIndexes"), st.CompletedIndexes, "error parsing completedIndexes: "+err.Error()))
		}
	}
	if failedChanged && spec.Completions != nil && spec.BackoffLimitPerIndex != nil && st.FailedIndexes != nil {
		if _, err := parseIndexes(*st.FailedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("failedIndexes"), st.FailedIndexes, "error parsing failedIndexes: "+err.Error()))
		}
	}
	if completedChanged && st.CompletedIndexes != "" && !isIndexed(spec) {
		errs = append(errs, field.Invalid(p.Child("completedIndexes"), st.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode"))
	}
	if failedChanged && spec.BackoffLimitPerIndex == nil && st.FailedIndexes != nil {
		errs = append(errs, field.Invalid(p.Child("failedIndexes"), *st.FailedIndexes, "cannot set non-null failedIndexes when backoffLimitPerIndex is null"))
	}
	if (failedChanged || completedChanged) && spec.Completions != nil && st.FailedIndexes != nil {
		if err := indexesOverlap(st.CompletedIndexes, *st.FailedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("failedIndexes"), *st.FailedIndexes, err.Error()))
		}
	}
	return errs
}

func conditionTrue(list []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	return jobCondition(list, t, corev1.ConditionTrue)
}

func conditionFalse(list []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	return jobCondition(list, t, corev1.ConditionFalse)
}

func jobCondition(list []batchv1.JobCondition, t batchv1.JobConditionType, s corev1.ConditionStatus) bool {
	for _, c := range list {
		if c.Type == t && c.Status == s {
			return true
		}
	}
	return false
}
