package validation

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// validJob is a job as the registry stores it: generated selector and labels.
func validJob() *batchv1.Job {
	uid := types.UID("1234")
	l := map[string]string{"controller-uid": string(uid), "job-name": "pi", batchv1.ControllerUidLabel: string(uid), batchv1.JobNameLabel: "pi"}
	spec := validPodSpec()
	spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: uid, ResourceVersion: "1"},
		Spec: batchv1.JobSpec{
			Parallelism:    ptr(int32(1)),
			Completions:    ptr(int32(1)),
			BackoffLimit:   ptr(int32(6)),
			CompletionMode: ptr(batchv1.NonIndexedCompletion),
			Suspend:        ptr(false),
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: string(uid)}},
			Template:       corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: spec},
		},
	}
}

func TestJob(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(j *batchv1.Job)
		want   []string
	}{
		{name: "valid", mutate: func(*batchv1.Job) {}},
		{name: "generated labels", mutate: func(j *batchv1.Job) {
			delete(j.Spec.Template.Labels, "job-name")
			j.Spec.Template.Labels[batchv1.JobNameLabel] = "other"
		}, want: []string{"FieldValueRequired spec.template.metadata.labels[job-name]", "FieldValueInvalid spec.template.metadata.labels[batch.kubernetes.io/job-name]"}},
		{name: "manual selector", mutate: func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}}
		}, want: []string{"FieldValueInvalid spec.template.metadata.labels"}},
		{name: "restart Always", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			want: []string{"FieldValueRequired spec.template.spec.restartPolicy"}},
		{name: "negative counts", mutate: func(j *batchv1.Job) {
			j.Spec.Parallelism, j.Spec.BackoffLimit, j.Spec.ActiveDeadlineSeconds = ptr(int32(-1)), ptr(int32(-1)), ptr(int64(-1))
		}, want: []string{"FieldValueInvalid spec.parallelism", "FieldValueInvalid spec.activeDeadlineSeconds", "FieldValueInvalid spec.backoffLimit"}},
		{name: "completion mode", mutate: func(j *batchv1.Job) { j.Spec.CompletionMode = ptr(batchv1.CompletionMode("Odd")) },
			want: []string{"FieldValueNotSupported spec.completionMode"}},
		{name: "per-index needs indexed", mutate: func(j *batchv1.Job) {
			j.Spec.BackoffLimitPerIndex = ptr(int32(1))
			j.Spec.MaxFailedIndexes = ptr(int32(1))
		},
			want: []string{"FieldValueInvalid spec.backoffLimitPerIndex", "FieldValueInvalid spec.maxFailedIndexes"}},
		{name: "indexed name too long for host names", mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Name = "a234567890123456789012345678901234567890123456789012345678901"
			j.Spec.Template.Labels["job-name"] = j.Name
			j.Spec.Template.Labels[batchv1.JobNameLabel] = j.Name
			j.Spec.Completions = ptr(int32(100))
		}, want: []string{"FieldValueInvalid metadata.name"}},
		{name: "pod failure policy", mutate: func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("nope"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3, 0, 3}}},
				{Action: "Explode"},
			}}
		}, want: []string{
			"FieldValueInvalid spec.podFailurePolicy.rules[0].onExitCodes.containerName",
			"FieldValueInvalid spec.podFailurePolicy.rules[0].onExitCodes.values[1]",
			"FieldValueDuplicate spec.podFailurePolicy.rules[0].onExitCodes.values[2]",
			"FieldValueInvalid spec.podFailurePolicy.rules[0].onExitCodes.values",
			"FieldValueNotSupported spec.podFailurePolicy.rules[1].action",
			"FieldValueInvalid spec.podFailurePolicy.rules[1]",
		}},
		{name: "success policy needs indexed", mutate: func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr(int32(1))}}}
		}, want: []string{"FieldValueInvalid spec.successPolicy"}},
		{name: "success policy rules", mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr(int32(5))
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr("0-2,1"), SucceededCount: ptr(int32(6))}, {}}}
		}, want: []string{
			"FieldValueInvalid spec.successPolicy.rules[0].succeededIndexes",
			"FieldValueInvalid spec.successPolicy.rules[0].succeededCount",
			"FieldValueInvalid spec.successPolicy.rules[0].succeededCount",
			"FieldValueRequired spec.successPolicy.rules[1]",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.mutate(j)
			checkErrs(t, Job(j), tc.want)
		})
	}
}

func TestJobUpdate(t *testing.T) {
	old := validJob()
	j := old.DeepCopy()
	j.Spec.Template.Spec.Containers[0].Image = "busybox"
	j.Spec.Completions = ptr(int32(3))
	checkErrs(t, JobUpdate(j, old), []string{"FieldValueInvalid spec.completions", "FieldValueInvalid spec.template"})

	// A suspended job that never started may change scheduling directives
	// and resources, but nothing else in the template.
	old.Spec.Suspend = ptr(true)
	j = old.DeepCopy()
	j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
	j.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: qty("1")}
	checkErrs(t, JobUpdate(j, old), nil)
	j.Spec.Template.Spec.Containers[0].Image = "busybox"
	checkErrs(t, JobUpdate(j, old), []string{"FieldValueInvalid spec.template.spec"})

	// Indexed jobs scale completions with parallelism.
	old = validJob()
	old.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
	j = old.DeepCopy()
	j.Spec.Completions, j.Spec.Parallelism = ptr(int32(4)), ptr(int32(4))
	checkErrs(t, JobUpdate(j, old), nil)
	j.Spec.Parallelism = ptr(int32(3))
	j.Spec.CompletionMode = ptr(batchv1.NonIndexedCompletion)
	checkErrs(t, JobUpdate(j, old), []string{"FieldValueInvalid spec.completions", "FieldValueInvalid spec.completionMode"})
}

func TestJobStatusUpdate(t *testing.T) {
	now := metav1.Now()
	old := validJob()
	old.Status = batchv1.JobStatus{Active: 1, StartTime: &now}
	tests := []struct {
		name   string
		mutate func(j *batchv1.Job)
		want   []string
	}{
		{name: "progress", mutate: func(j *batchv1.Job) { j.Status.Ready = ptr(int32(1)) }},
		{name: "more ready than active", mutate: func(j *batchv1.Job) { j.Status.Ready = ptr(int32(2)) },
			want: []string{"FieldValueInvalid status.ready"}},
		{name: "complete needs completionTime and criteria", mutate: func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		}, want: []string{"FieldValueRequired status.completionTime", "FieldValueInvalid status.conditions", "FieldValueInvalid status.active"}},
		{name: "finished properly", mutate: func(j *batchv1.Job) {
			j.Status.Active, j.Status.Succeeded, j.Status.CompletionTime = 0, 1, &now
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue}, {Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		}},
		{name: "uncounted", mutate: func(j *batchv1.Job) {
			j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a", ""}, Failed: []types.UID{"a"}}
		}, want: []string{"FieldValueInvalid status.uncountedTerminatedPods.succeeded[1]", "FieldValueDuplicate status.uncountedTerminatedPods.failed[0]"}},
		{name: "completed indexes on non-indexed job", mutate: func(j *batchv1.Job) { j.Status.CompletedIndexes = "0" },
			want: []string{"FieldValueInvalid status.completedIndexes"}},
		{name: "decrease failed", mutate: func(j *batchv1.Job) { j.Status.Failed = -1 },
			want: []string{"FieldValueInvalid status.failed", "FieldValueInvalid status.failed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := old.DeepCopy()
			tc.mutate(j)
			checkErrs(t, JobStatusUpdate(j, old), tc.want)
		})
	}
	if err := indexesOverlap("0-3,7", "4-6,7", 10); err == nil || err.Error() != "failedIndexes and completedIndexes overlap at index: 7" {
		t.Errorf("indexesOverlap = %v", err)
	}
}

func validCronJob() *batchv1.CronJob {
	j := validJob()
	j.Spec.Selector = nil
	j.Spec.Template.Labels = nil
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default", ResourceVersion: "1"},
		Spec: batchv1.CronJobSpec{
			Schedule:          "0 3 * * *",
			ConcurrencyPolicy: batchv1.AllowConcurrent,
			JobTemplate:       batchv1.JobTemplateSpec{Spec: j.Spec},
		},
	}
}

func TestCronJob(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(cj *batchv1.CronJob)
		want   []string
	}{
		{name: "valid", mutate: func(*batchv1.CronJob) {}},
		{name: "valid with timeZone and macro", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "@hourly"; cj.Spec.TimeZone = ptr("Europe/Paris") }},
		{name: "schedule required", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "" },
			want: []string{"FieldValueRequired spec.schedule"}},
		{name: "schedule parse", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "61 * * * *" },
			want: []string{"FieldValueInvalid spec.schedule"}},
		{name: "TZ in schedule", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "CRON_TZ=UTC 0 3 * * *" },
			want: []string{"FieldValueInvalid spec.schedule"}},
		{name: "time zones", mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr("Mars/Olympus") },
			want: []string{"FieldValueInvalid spec.timeZone"}},
		{name: "local time zone", mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr("Local") },
			want: []string{"FieldValueInvalid spec.timeZone"}},
		{name: "concurrency policy", mutate: func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = "Sometimes" },
			want: []string{"FieldValueNotSupported spec.concurrencyPolicy"}},
		{name: "job template", mutate: func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{}
			cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			cj.Spec.FailedJobsHistoryLimit = ptr(int32(-1))
		}, want: []string{"FieldValueRequired spec.jobTemplate.spec.template.spec.restartPolicy", "FieldValueInvalid spec.jobTemplate.spec.selector", "FieldValueInvalid spec.failedJobsHistoryLimit"}},
		{name: "name length", mutate: func(cj *batchv1.CronJob) { cj.Name = "a2345678901234567890123456789012345678901234567890123" },
			want: []string{"FieldValueInvalid metadata.name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cj := validCronJob()
			tc.mutate(cj)
			checkErrs(t, CronJob(cj), tc.want)
		})
	}
	old := validCronJob()
	old.Spec.Schedule = "TZ=UTC 0 3 * * *"
	cj := old.DeepCopy()
	cj.Spec.Schedule = "TZ=UTC 0 4 * * *"
	checkErrs(t, CronJobUpdate(cj, old), nil)
	cj.Spec.TimeZone = ptr("UTC")
	checkErrs(t, CronJobUpdate(cj, old), []string{"FieldValueInvalid spec.schedule"})
}
