package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestBatchColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"jobs", Jobs(), []col{str("Name"), str("Status"), str("Completions"), str("Duration"), str("Age"), wideStr("Containers"), wideStr("Images"), wideStr("Selector")}},
		{"cronjobs", CronJobs(), []col{str("Name"), str("Schedule"), str("Timezone"), boolean("Suspend"), integer("Active"), str("Last Schedule"), str("Age"), wideStr("Containers"), wideStr("Images"), wideStr("Selector")}},
	})
}

func TestJobCells(t *testing.T) {
	cond := func(typ batchv1.JobConditionType, status corev1.ConditionStatus) batchv1.JobCondition {
		return batchv1.JobCondition{Type: typ, Status: status}
	}
	started := ptr.To(ago(10 * time.Minute))
	deleted := ptr.To(ago(time.Second))
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "1234"}}
	tests := []struct {
		name    string
		deleted *metav1.Time
		spec    batchv1.JobSpec
		status  batchv1.JobStatus
		want    []interface{}
	}{{
		name: "running with completions",
		spec: batchv1.JobSpec{Completions: ptr.To[int32](5), Parallelism: ptr.To[int32](2), Selector: selector,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pi", Image: "perl:5.34"}}}}},
		status: batchv1.JobStatus{Succeeded: 2, StartTime: started},
		want:   []interface{}{"pi", "Running", "2/5", "10m", "3h", "pi", "perl:5.34", "batch.kubernetes.io/controller-uid=1234"},
	}, {
		name:   "not started",
		spec:   batchv1.JobSpec{Completions: ptr.To[int32](1)},
		status: batchv1.JobStatus{},
		want:   []interface{}{"pi", "Running", "0/1", "", "3h", "", "", "<none>"},
	}, {
		name:   "complete: duration from start to completion",
		spec:   batchv1.JobSpec{Completions: ptr.To[int32](1)},
		status: batchv1.JobStatus{Succeeded: 1, StartTime: started, CompletionTime: ptr.To(ago(7 * time.Minute)), Conditions: []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue), cond(batchv1.JobComplete, corev1.ConditionTrue)}},
		want:   []interface{}{"pi", "Complete", "1/1", "3m", "3h", "", "", "<none>"},
	}, {
		name:   "work queue without parallelism",
		status: batchv1.JobStatus{Succeeded: 3},
		want:   []interface{}{"pi", "Running", "3/1", "", "3h", "", "", "<none>"},
	}, {
		name:   "work queue with parallelism 1",
		spec:   batchv1.JobSpec{Parallelism: ptr.To[int32](1)},
		status: batchv1.JobStatus{Succeeded: 0},
		want:   []interface{}{"pi", "Running", "0/1", "", "3h", "", "", "<none>"},
	}, {
		name:   "work queue with parallelism",
		spec:   batchv1.JobSpec{Parallelism: ptr.To[int32](4)},
		status: batchv1.JobStatus{Succeeded: 1},
		want:   []interface{}{"pi", "Running", "1/1 of 4", "", "3h", "", "", "<none>"},
	}, {
		name:    "failed beats terminating",
		deleted: deleted,
		status:  batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue), cond(batchv1.JobFailed, corev1.ConditionTrue)}},
		want:    []interface{}{"pi", "Failed", "0/1", "", "3h", "", "", "<none>"},
	}, {
		name:    "terminating beats suspended",
		deleted: deleted,
		status:  batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobSuspended, corev1.ConditionTrue)}},
		want:    []interface{}{"pi", "Terminating", "0/1", "", "3h", "", "", "<none>"},
	}, {
		name:   "suspended",
		status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobSuspended, corev1.ConditionTrue), cond(batchv1.JobFailureTarget, corev1.ConditionTrue)}},
		want:   []interface{}{"pi", "Suspended", "0/1", "", "3h", "", "", "<none>"},
	}, {
		name:   "resumed job is running",
		status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobSuspended, corev1.ConditionFalse)}},
		want:   []interface{}{"pi", "Running", "0/1", "", "3h", "", "", "<none>"},
	}, {
		name:   "failure target",
		status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue), cond(batchv1.JobFailureTarget, corev1.ConditionTrue)}},
		want:   []interface{}{"pi", "FailureTarget", "0/1", "", "3h", "", "", "<none>"},
	}, {
		name:   "success criteria met",
		status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue)}},
		want:   []interface{}{"pi", "SuccessCriteriaMet", "0/1", "", "3h", "", "", "<none>"},
	}, {
		name: "only the first condition of a type counts",
		status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			cond(batchv1.JobComplete, corev1.ConditionFalse), cond(batchv1.JobComplete, corev1.ConditionTrue),
		}},
		want: []interface{}{"pi", "Running", "0/1", "", "3h", "", "", "<none>"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "pi", CreationTimestamp: ago(3 * time.Hour), DeletionTimestamp: tt.deleted},
				Spec:       tt.spec,
				Status:     tt.status,
			}
			row := rowOf(t, Jobs(), job)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCronJobCells(t *testing.T) {
	template := batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "backup"}},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "backup", Image: "restic"}}}},
	}}
	tests := []struct {
		name   string
		spec   batchv1.CronJobSpec
		status batchv1.CronJobStatus
		want   []interface{}
	}{{
		name: "scheduled",
		spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", TimeZone: ptr.To("Europe/Berlin"), Suspend: ptr.To(false), JobTemplate: template},
		status: batchv1.CronJobStatus{
			Active:           []corev1.ObjectReference{{Name: "backup-1"}, {Name: "backup-2"}},
			LastScheduleTime: ptr.To(ago(4 * time.Minute)),
		},
		want: []interface{}{"backup", "*/5 * * * *", "Europe/Berlin", "False", int64(2), "4m", "5d", "backup", "restic", "app=backup"},
	}, {
		name: "suspended",
		spec: batchv1.CronJobSpec{Schedule: "@daily", Suspend: ptr.To(true)},
		want: []interface{}{"backup", "@daily", "<none>", "True", int64(0), "<none>", "5d", "", "", "<none>"},
	}, {
		name: "unset suspend and empty time zone",
		spec: batchv1.CronJobSpec{Schedule: "@hourly", TimeZone: ptr.To("")},
		want: []interface{}{"backup", "@hourly", "", "<unset>", int64(0), "<none>", "5d", "", "", "<none>"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "backup", CreationTimestamp: ago(5 * 24 * time.Hour)}, Spec: tt.spec, Status: tt.status}
			row := rowOf(t, CronJobs(), cj)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
