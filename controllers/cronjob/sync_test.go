package cronjob

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// base is a whole hour, in UTC.
var base = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func cronJob(schedule string, created time.Time) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "cj", Namespace: "ns", UID: "cj-uid", CreationTimestamp: metav1.NewTime(created)},
		Spec: batchv1.CronJobSpec{
			Schedule:          schedule,
			ConcurrencyPolicy: batchv1.AllowConcurrent,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"l": "v"}, Annotations: map[string]string{"a": "b"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				}}},
			},
		},
	}
}

// ownedJob is a Job of cj started at start, finished with cond if set.
func ownedJob(cj *batchv1.CronJob, name string, start time.Time, cond batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: cj.Namespace, UID: types.UID(name + "-uid"),
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
	}}
	j.Status.StartTime = &metav1.Time{Time: start}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
		j.Status.CompletionTime = &metav1.Time{Time: start.Add(time.Second)}
	}
	return j
}

func activeRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace, Name: j.Name, UID: j.UID}
}

type result struct {
	next    time.Duration
	created []string // names of the Jobs created
	deleted []string
	status  *batchv1.CronJobStatus // the status written, nil if none
	events  []string               // reasons
}

// run syncs cj once at now, with jobs in the cache and on the server.
func run(t *testing.T, cj *batchv1.CronJob, now time.Time, jobs ...*batchv1.Job) (result, map[string]*batchv1.Job) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	objs := []runtime.Object{cj}
	for _, j := range jobs {
		objs = append(objs, j)
	}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	events := record.NewFakeRecorder(100)
	c, err := New(Config{
		Client: client, CronJobs: factory.Batch().V1().CronJobs(), Jobs: factory.Batch().V1().Jobs(),
		Events: events, Clock: testingclock.NewFakeClock(now),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if err := factory.Batch().V1().Jobs().Informer().GetIndexer().Add(j); err != nil {
			t.Fatal(err)
		}
	}
	next, err := c.syncCronJob(ctx, cj)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	r := result{next: next}
	created := map[string]*batchv1.Job{}
	for _, a := range client.Actions() {
		switch {
		case a.GetVerb() == "create" && a.GetResource().Resource == "jobs":
			j := a.(interface{ GetObject() runtime.Object }).GetObject().(*batchv1.Job)
			r.created = append(r.created, j.Name)
			created[j.Name] = j
		case a.GetVerb() == "delete" && a.GetResource().Resource == "jobs":
			r.deleted = append(r.deleted, a.(interface{ GetName() string }).GetName())
		case a.GetVerb() == "update" && a.GetSubresource() == "status":
			s := a.(interface{ GetObject() runtime.Object }).GetObject().(*batchv1.CronJob).Status
			r.status = &s
		}
	}
	close(events.Events)
	for e := range events.Events {
		r.events = append(r.events, strings.Fields(e)[1])
	}
	return r, created
}

func minutes(t time.Time) string { return "cj-" + strconv.FormatInt(t.Unix()/60, 10) }

func TestStart(t *testing.T) {
	created := base.Add(30 * time.Second)
	t.Run("due", func(t *testing.T) {
		r, jobs := run(t, cronJob("*/1 * * * *", created), base.Add(70*time.Second))
		name := minutes(base.Add(time.Minute))
		if diff := cmp.Diff([]string{name}, r.created); diff != "" {
			t.Fatalf("created (-want +got):\n%s", diff)
		}
		j := jobs[name]
		if got := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2026-11-26T10:01:00Z" {
			t.Errorf("scheduled timestamp = %q", got)
		}
		if j.Labels["l"] != "v" || j.Annotations["a"] != "b" || !metav1.IsControlledBy(j, cronJob("", created)) {
			t.Errorf("job metadata %+v does not come from the template and the CronJob", j.ObjectMeta)
		}
		if r.status == nil || len(r.status.Active) != 1 || r.status.Active[0].Name != name ||
			!r.status.LastScheduleTime.Equal(&metav1.Time{Time: base.Add(time.Minute)}) {
			t.Errorf("status = %+v", r.status)
		}
		if r.next != 50*time.Second+nextDelta {
			t.Errorf("next sync in %v, want 50.1s", r.next)
		}
		if diff := cmp.Diff([]string{"SuccessfulCreate"}, r.events); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("not yet due", func(t *testing.T) {
		r, _ := run(t, cronJob("@hourly", created), base.Add(50*time.Minute))
		if len(r.created) != 0 || r.status != nil || r.next != 10*time.Minute+nextDelta {
			t.Errorf("got %+v; want nothing created, next sync in 10m0.1s", r)
		}
	})
	t.Run("suspended", func(t *testing.T) {
		cj := cronJob("*/1 * * * *", created)
		cj.Spec.Suspend = ptr.To(true)
		r, _ := run(t, cj, base.Add(5*time.Minute))
		if len(r.created) != 0 || r.next != 0 {
			t.Errorf("got %+v; want nothing created and no requeue", r)
		}
	})
	t.Run("already scheduled", func(t *testing.T) {
		cj := cronJob("*/1 * * * *", created)
		cj.Status.LastScheduleTime = &metav1.Time{Time: base.Add(time.Minute)}
		r, _ := run(t, cj, base.Add(70*time.Second))
		if len(r.created) != 0 || r.next != 50*time.Second+nextDelta {
			t.Errorf("got %+v; want nothing created, next sync in 50.1s", r)
		}
	})
	t.Run("starting deadline passed", func(t *testing.T) {
		cj := cronJob("*/5 * * * *", created)
		cj.Spec.StartingDeadlineSeconds = ptr.To[int64](10)
		r, _ := run(t, cj, base.Add(5*time.Minute+30*time.Second))
		if len(r.created) != 0 || r.next != 4*time.Minute+30*time.Second+nextDelta {
			t.Errorf("got %+v; want nothing created, next sync in 4m30.1s", r)
		}
	})
	t.Run("too many missed", func(t *testing.T) {
		r, _ := run(t, cronJob("*/1 * * * *", created), base.Add(3*time.Hour+10*time.Second))
		if diff := cmp.Diff([]string{minutes(base.Add(3 * time.Hour))}, r.created); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"TooManyMissedTimes", "SuccessfulCreate"}, r.events); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("time zone", func(t *testing.T) {
		cj := cronJob("0 9 * * *", base.Add(-48*time.Hour))
		cj.Spec.TimeZone = ptr.To("Asia/Tokyo")
		// 09:00 in Tokyo is 00:00 UTC.
		midnight := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
		cj.Status.LastScheduleTime = &metav1.Time{Time: midnight.Add(-24 * time.Hour)}
		r, jobs := run(t, cj, midnight.Add(30*time.Second))
		name := minutes(midnight)
		if diff := cmp.Diff([]string{name}, r.created); diff != "" {
			t.Fatalf("created (-want +got):\n%s", diff)
		}
		if got := jobs[name].Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2026-11-26T09:00:00+09:00" {
			t.Errorf("scheduled timestamp = %q", got)
		}
	})
}

func TestConcurrency(t *testing.T) {
	created := base.Add(-time.Minute)
	now := base.Add(10 * time.Second)
	for _, tc := range []struct {
		policy  batchv1.ConcurrencyPolicy
		created int
		deleted []string
		events  []string
	}{
		{batchv1.AllowConcurrent, 1, nil, []string{"SuccessfulCreate"}},
		{batchv1.ForbidConcurrent, 0, nil, []string{"JobAlreadyActive"}},
		{batchv1.ReplaceConcurrent, 1, []string{"running"}, []string{"SuccessfulDelete", "SuccessfulCreate"}},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			cj := cronJob("*/1 * * * *", created)
			cj.Spec.ConcurrencyPolicy = tc.policy
			running := ownedJob(cj, "running", created, "")
			cj.Status.Active = []corev1.ObjectReference{activeRef(running)}
			cj.Status.LastScheduleTime = &metav1.Time{Time: created}
			r, _ := run(t, cj, now, running)
			if len(r.created) != tc.created {
				t.Errorf("created %v, want %d", r.created, tc.created)
			}
			if diff := cmp.Diff(tc.deleted, r.deleted); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.events, r.events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if tc.policy == batchv1.ReplaceConcurrent && (len(r.status.Active) != 1 || r.status.Active[0].Name == "running") {
				t.Errorf("active %v, want only the new job", r.status.Active)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	cj := cronJob("@hourly", base.Add(-5*time.Hour))
	cj.Status.LastScheduleTime = &metav1.Time{Time: base}
	cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](1)
	cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](0)
	done := ownedJob(cj, "done", base, batchv1.JobComplete)
	cj.Status.Active = []corev1.ObjectReference{activeRef(done)}
	jobs := []*batchv1.Job{
		ownedJob(cj, "old", base.Add(-3*time.Hour), batchv1.JobComplete),
		ownedJob(cj, "older", base.Add(-4*time.Hour), batchv1.JobComplete),
		ownedJob(cj, "failed", base.Add(-2*time.Hour), batchv1.JobFailed),
		done,
	}
	r, _ := run(t, cj, base.Add(time.Minute), jobs...)
	if diff := cmp.Diff([]string{"older", "old", "failed"}, r.deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"SuccessfulDelete", "SuccessfulDelete", "SuccessfulDelete", "SawCompletedJob"}, r.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if r.status == nil || len(r.status.Active) != 0 || !r.status.LastSuccessfulTime.Equal(done.Status.CompletionTime) {
		t.Errorf("status = %+v; want no active job and the last success of %q", r.status, "done")
	}
}

func TestMissingJob(t *testing.T) {
	cj := cronJob("@hourly", base.Add(-time.Hour))
	cj.Status.LastScheduleTime = &metav1.Time{Time: base}
	cj.Status.Active = []corev1.ObjectReference{{Kind: "Job", Namespace: "ns", Name: "gone", UID: "gone-uid"}}
	r, _ := run(t, cj, base.Add(time.Minute))
	if r.status == nil || len(r.status.Active) != 0 {
		t.Errorf("status = %+v, want the missing job dropped", r.status)
	}
	if diff := cmp.Diff([]string{"MissingJob"}, r.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
