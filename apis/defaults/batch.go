package defaults

import (
	"maps"
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Job defaults a batch/v1 job:
//   - with neither completions nor parallelism set, both become 1; otherwise
//     only an unset parallelism becomes 1;
//   - backoffLimit 6, or MaxInt32 when backoffLimitPerIndex is set, so that
//     only the per-index limit applies;
//   - empty object labels are taken from the template's labels, if any;
//   - completionMode NonIndexed, suspend false, manualSelector false;
//   - podReplacementPolicy Failed with a podFailurePolicy and
//     TerminatingOrFailed without one;
//   - each podFailurePolicy onPodConditions pattern gets status True;
//   - the pod template as in PodTemplateSpec.
func Job(j *batchv1.Job) {
	spec := &j.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = new(int32(1))
	}
	setIfNil(&spec.Parallelism, int32(1))
	if spec.BackoffLimitPerIndex != nil {
		setIfNil(&spec.BackoffLimit, int32(math.MaxInt32))
	}
	setIfNil(&spec.BackoffLimit, int32(6))
	if spec.Template.Labels != nil && len(j.Labels) == 0 {
		j.Labels = maps.Clone(spec.Template.Labels)
	}
	setIfNil(&spec.CompletionMode, batchv1.NonIndexedCompletion)
	setIfNil(&spec.Suspend, false)
	if spec.PodFailurePolicy != nil {
		setIfNil(&spec.PodReplacementPolicy, batchv1.Failed)
	}
	setIfNil(&spec.PodReplacementPolicy, batchv1.TerminatingOrFailed)
	setIfNil(&spec.ManualSelector, false)
	jobSpec(spec)
}

// CronJob defaults a batch/v1 cron job: concurrencyPolicy Allow, suspend
// false, successfulJobsHistoryLimit 3 and failedJobsHistoryLimit 1. The job
// template only gets the defaults of its nested types (pod failure policy
// patterns and the pod template); the job-level defaults of Job are applied
// when a job is created from it.
func CronJob(cj *batchv1.CronJob) {
	spec := &cj.Spec
	setIfEmpty(&spec.ConcurrencyPolicy, batchv1.AllowConcurrent)
	setIfNil(&spec.Suspend, false)
	setIfNil(&spec.SuccessfulJobsHistoryLimit, int32(3))
	setIfNil(&spec.FailedJobsHistoryLimit, int32(1))
	jobSpec(&spec.JobTemplate.Spec)
}

// jobSpec defaults the nested types of a job spec: the status of every pod
// condition pattern in the pod failure policy, and the pod template.
func jobSpec(spec *batchv1.JobSpec) {
	if spec.PodFailurePolicy != nil {
		for i := range spec.PodFailurePolicy.Rules {
			patterns := spec.PodFailurePolicy.Rules[i].OnPodConditions
			for j := range patterns {
				setIfEmpty(&patterns[j].Status, corev1.ConditionTrue)
			}
		}
	}
	PodTemplateSpec(&spec.Template)
}
