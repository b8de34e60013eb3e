package defaults

import (
	"math"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// defaultedJobSpec is spec with the job-level defaults of a job that has no
// pod failure policy and no per-index backoff limit.
func defaultedJobSpec(spec batchv1.JobSpec) batchv1.JobSpec {
	spec.BackoffLimit = new(int32(6))
	spec.CompletionMode = new(batchv1.NonIndexedCompletion)
	spec.Suspend = new(false)
	spec.PodReplacementPolicy = new(batchv1.TerminatingOrFailed)
	spec.ManualSelector = new(false)
	return spec
}

func TestJob(t *testing.T) {
	failurePolicy := func(status corev1.ConditionStatus) *batchv1.PodFailurePolicy {
		return &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:          batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: status}},
		}}}
	}
	runCases(t, Job, []defaultCase[batchv1.Job]{{
		name: "minimal job: completions and parallelism 1, labels from the template",
		in:   batchv1.Job{Spec: batchv1.JobSpec{Template: template()}},
		want: batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Labels: webLabels()},
			Spec: defaultedJobSpec(batchv1.JobSpec{
				Completions: new(int32(1)),
				Parallelism: new(int32(1)),
				Template:    defaultedTemplate(),
			}),
		},
	}, {
		name: "completions alone keeps completions, parallelism 1",
		in:   batchv1.Job{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"own": "x"}}, Spec: batchv1.JobSpec{Completions: new(int32(5)), Template: template()}},
		want: batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"own": "x"}},
			Spec: defaultedJobSpec(batchv1.JobSpec{
				Completions: new(int32(5)),
				Parallelism: new(int32(1)),
				Template:    defaultedTemplate(),
			}),
		},
	}, {
		name: "parallelism alone leaves completions unset",
		in:   batchv1.Job{Spec: batchv1.JobSpec{Parallelism: new(int32(3))}},
		want: batchv1.Job{Spec: defaultedJobSpec(batchv1.JobSpec{
			Parallelism: new(int32(3)),
			Template:    corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
		})},
	}, {
		name: "backoffLimitPerIndex makes backoffLimit MaxInt32",
		in: batchv1.Job{Spec: batchv1.JobSpec{
			CompletionMode:       new(batchv1.IndexedCompletion),
			BackoffLimitPerIndex: new(int32(2)),
		}},
		want: batchv1.Job{Spec: batchv1.JobSpec{
			Completions:          new(int32(1)),
			Parallelism:          new(int32(1)),
			BackoffLimit:         new(int32(math.MaxInt32)),
			BackoffLimitPerIndex: new(int32(2)),
			CompletionMode:       new(batchv1.IndexedCompletion),
			Suspend:              new(false),
			PodReplacementPolicy: new(batchv1.TerminatingOrFailed),
			ManualSelector:       new(false),
			Template:             corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
		}},
	}, {
		name: "backoffLimit kept beside backoffLimitPerIndex",
		in:   batchv1.Job{Spec: batchv1.JobSpec{BackoffLimit: new(int32(1)), BackoffLimitPerIndex: new(int32(2))}},
		want: batchv1.Job{Spec: batchv1.JobSpec{
			Completions:          new(int32(1)),
			Parallelism:          new(int32(1)),
			BackoffLimit:         new(int32(1)),
			BackoffLimitPerIndex: new(int32(2)),
			CompletionMode:       new(batchv1.NonIndexedCompletion),
			Suspend:              new(false),
			PodReplacementPolicy: new(batchv1.TerminatingOrFailed),
			ManualSelector:       new(false),
			Template:             corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
		}},
	}, {
		name: "pod failure policy: replacement Failed, condition status True",
		in:   batchv1.Job{Spec: batchv1.JobSpec{PodFailurePolicy: failurePolicy("")}},
		want: batchv1.Job{Spec: batchv1.JobSpec{
			Completions:          new(int32(1)),
			Parallelism:          new(int32(1)),
			BackoffLimit:         new(int32(6)),
			CompletionMode:       new(batchv1.NonIndexedCompletion),
			Suspend:              new(false),
			PodReplacementPolicy: new(batchv1.Failed),
			ManualSelector:       new(false),
			PodFailurePolicy:     failurePolicy(corev1.ConditionTrue),
			Template:             corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
		}},
	}, {
		name: "set fields kept",
		in: batchv1.Job{Spec: batchv1.JobSpec{
			Completions:          new(int32(0)),
			Parallelism:          new(int32(0)),
			BackoffLimit:         new(int32(0)),
			CompletionMode:       new(batchv1.IndexedCompletion),
			Suspend:              new(true),
			PodReplacementPolicy: new(batchv1.Failed),
			ManualSelector:       new(true),
			PodFailurePolicy:     failurePolicy(corev1.ConditionFalse),
		}},
		want: batchv1.Job{Spec: batchv1.JobSpec{
			Completions:          new(int32(0)),
			Parallelism:          new(int32(0)),
			BackoffLimit:         new(int32(0)),
			CompletionMode:       new(batchv1.IndexedCompletion),
			Suspend:              new(true),
			PodReplacementPolicy: new(batchv1.Failed),
			ManualSelector:       new(true),
			PodFailurePolicy:     failurePolicy(corev1.ConditionFalse),
			Template:             corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
		}},
	}})
}

func TestCronJob(t *testing.T) {
	pattern := func(status corev1.ConditionStatus) *batchv1.PodFailurePolicy {
		return &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:          batchv1.PodFailurePolicyActionFailJob,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.PodReady, Status: status}},
		}}}
	}
	runCases(t, CronJob, []defaultCase[batchv1.CronJob]{{
		name: "minimal cron job: job template gets nested defaults only",
		in: batchv1.CronJob{Spec: batchv1.CronJobSpec{
			Schedule: "*/5 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template:         template(),
				PodFailurePolicy: pattern(""),
			}},
		}},
		want: batchv1.CronJob{Spec: batchv1.CronJobSpec{
			Schedule:                   "*/5 * * * *",
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    new(false),
			SuccessfulJobsHistoryLimit: new(int32(3)),
			FailedJobsHistoryLimit:     new(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template:         defaultedTemplate(),
				PodFailurePolicy: pattern(corev1.ConditionTrue),
			}},
		}},
	}, {
		name: "set fields kept",
		in: batchv1.CronJob{Spec: batchv1.CronJobSpec{
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			Suspend:                    new(true),
			SuccessfulJobsHistoryLimit: new(int32(0)),
			FailedJobsHistoryLimit:     new(int32(0)),
		}},
		want: batchv1.CronJob{Spec: batchv1.CronJobSpec{
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			Suspend:                    new(true),
			SuccessfulJobsHistoryLimit: new(int32(0)),
			FailedJobsHistoryLimit:     new(int32(0)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
			}},
		}},
	}})
}
