package table

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

// Jobs returns the table convertor for jobs: Name, Status, Completions,
// Duration, Age, and wide Containers, Images, Selector.
//
// Status is the first that applies of Complete, Failed, Terminating (deletion
// started), Suspended, FailureTarget, SuccessCriteriaMet and Running, each
// condition judged by the first condition of its type. Completions reads
// "succeeded/completions", or for a job without completions "succeeded/1",
// with " of P" added when the parallelism P is above 1. Duration runs from
// the start time to the completion time, or to now while the job is not
// complete; it is empty before the job starts.
func Jobs() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Status", "Status of the job."),
		column("Completions", batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
		column("Duration", "Time required to complete the job."),
		ageColumn(),
		wide(column("Containers", containersDoc)),
		wide(column("Images", imagesDoc)),
		wide(column("Selector", batchv1.JobSpec{}.SwaggerDoc()["selector"])),
	}
	return newConvertor(columns, cells(jobCells))
}

func jobCells(job *batchv1.Job, now time.Time) []interface{} {
	names, images := containerCells(job.Spec.Template.Spec.Containers)
	return []interface{}{
		job.Name,
		jobStatus(job),
		jobCompletions(job),
		jobDuration(job.Status, now),
		age(job.CreationTimestamp, now),
		names,
		images,
		metav1.FormatLabelSelector(job.Spec.Selector),
	}
}

// jobStatus is the Status cell.
func jobStatus(job *batchv1.Job) string {
	switch conds := job.Status.Conditions; {
	case jobCondition(conds, batchv1.JobComplete):
		return "Complete"
	case jobCondition(conds, batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case jobCondition(conds, batchv1.JobSuspended):
		return "Suspended"
	case jobCondition(conds, batchv1.JobFailureTarget):
		return "FailureTarget"
	case jobCondition(conds, batchv1.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	default:
		return "Running"
	}
}

// jobCondition reports whether the first condition of type typ is True.
func jobCondition(conds []batchv1.JobCondition, typ batchv1.JobConditionType) bool {
	for _, c := range conds {
		if c.Type == typ {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// jobCompletions is the Completions cell.
func jobCompletions(job *batchv1.Job) string {
	if c := job.Spec.Completions; c != nil {
		return fmt.Sprintf("%d/%d", job.Status.Succeeded, *c)
	}
	if p := ptr.Deref(job.Spec.Parallelism, 0); p > 1 {
		return fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, p)
	}
	return fmt.Sprintf("%d/1", job.Status.Succeeded)
}

// jobDuration is the Duration cell.
func jobDuration(status batchv1.JobStatus, now time.Time) string {
	switch {
	case status.StartTime == nil:
		return ""
	case status.CompletionTime == nil:
		return duration.HumanDuration(now.Sub(status.StartTime.Time))
	default:
		return duration.HumanDuration(status.CompletionTime.Sub(status.StartTime.Time))
	}
}

// CronJobs returns the table convertor for cron jobs: Name, Schedule,
// Timezone, Suspend, Active, Last Schedule, Age, and wide Containers, Images,
// Selector (all three from the job template).
//
// Timezone and Last Schedule are "<none>" when unset. Suspend reads "True",
// "False" or "<unset>"; like upstream, that column is declared boolean but
// holds these strings. Active counts the running jobs.
func CronJobs() rest.TableConvertor {
	spec := batchv1.CronJobSpec{}.SwaggerDoc()
	status := batchv1.CronJobStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Schedule", spec["schedule"]),
		column("Timezone", spec["timeZone"]),
		typed(column("Suspend", spec["suspend"]), "boolean"),
		typed(column("Active", status["active"]), "integer"),
		column("Last Schedule", status["lastScheduleTime"]),
		ageColumn(),
		wide(column("Containers", containersDoc)),
		wide(column("Images", imagesDoc)),
		wide(column("Selector", batchv1.JobSpec{}.SwaggerDoc()["selector"])),
	}
	return newConvertor(columns, cells(cronJobCells))
}

func cronJobCells(cj *batchv1.CronJob, now time.Time) []interface{} {
	last, zone := "<none>", "<none>"
	if t := cj.Status.LastScheduleTime; t != nil {
		last = age(*t, now)
	}
	if z := cj.Spec.TimeZone; z != nil {
		zone = *z
	}
	job := cj.Spec.JobTemplate.Spec
	names, images := containerCells(job.Template.Spec.Containers)
	return []interface{}{
		cj.Name,
		cj.Spec.Schedule,
		zone,
		boolPtrCell(cj.Spec.Suspend),
		int64(len(cj.Status.Active)),
		last,
		age(cj.CreationTimestamp, now),
		names,
		images,
		metav1.FormatLabelSelector(job.Selector),
	}
}

// boolPtrCell formats *b as "True" or "False", or "<unset>" if b is nil.
func boolPtrCell(b *bool) string {
	switch {
	case b == nil:
		return "<unset>"
	case *b:
		return "True"
	default:
		return "False"
	}
}
