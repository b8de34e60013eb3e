package cronjob_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestCronJob runs the CronJob controller in a real server with a simulated
// node (there is no scheduler in the test server; the job's pods are bound
// by hand). A CronJob scheduled every minute gets its Job within a minute,
// which runs to completion and is recorded in the CronJob's status.
func TestCronJob(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:   t.TempDir(),
		Simulated: app.SimulatedNodesConfig{Count: 1},
	})
	c := s.Client
	ctx := context.Background()
	ns := "cron"
	s.CreateNamespace(t, ns)

	// Validation: the time zone goes in spec.timeZone, not the schedule.
	bad := cronJob("tz", "CRON_TZ=UTC */1 * * * *")
	if _, err := c.BatchV1().CronJobs(ns).Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("create with CRON_TZ in the schedule: %v, want 422 Invalid", err)
	}

	cj, err := c.BatchV1().CronJobs(ns).Create(ctx, cronJob("every-minute", "*/1 * * * *"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var job *batchv1.Job
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 75*time.Second, true, func(ctx context.Context) (bool, error) {
		jobs, err := c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(jobs.Items) == 0 {
			return false, err
		}
		job = &jobs.Items[0]
		return true, nil
	})
	if err != nil {
		t.Fatalf("no job within 75 s: %v", err)
	}
	scheduled, err := time.Parse(time.RFC3339, job.Annotations[batchv1.CronJobScheduledTimestampAnnotation])
	if err != nil {
		t.Fatalf("scheduled timestamp annotation: %v", err)
	}
	if want := "every-minute-" + strconv.FormatInt(scheduled.Unix()/60, 10); job.Name != want || scheduled.Second() != 0 {
		t.Errorf("job %s scheduled at %v, want name %s and a whole minute", job.Name, scheduled, want)
	}
	t.Logf("job %s created %v after its start time", job.Name, job.CreationTimestamp.Sub(scheduled))
	if !metav1.IsControlledBy(job, cj) {
		t.Errorf("job owners %v, want the CronJob as controller", job.OwnerReferences)
	}

	// The simulated node runs the job's pod, which exits 0 after a second.
	bindPods(t, s, ns)
	got := waitCronJob(t, s, ns, "every-minute", func(cj *batchv1.CronJob) bool {
		return cj.Status.LastSuccessfulTime != nil && len(cj.Status.Active) == 0
	})
	if got.Status.LastScheduleTime == nil || !got.Status.LastScheduleTime.Time.Equal(scheduled) {
		t.Errorf("lastScheduleTime %v, want %v", got.Status.LastScheduleTime, scheduled)
	}
	for _, reason := range []string{"SuccessfulCreate", "SawCompletedJob"} {
		waitEvent(t, s, ns, "every-minute", reason)
	}
}

func cronJob(name, schedule string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.CronJobSpec{
			Schedule:          schedule,
			ConcurrencyPolicy: batchv1.ForbidConcurrent,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit: ptr.To[int32](0),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
				}},
			}},
		},
	}
}

// bindPods binds the namespace's pods to the simulated node as they appear,
// until the test ends.
func bindPods(t *testing.T, s *testserver.Server, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName="})
			if err != nil {
				return false, nil
			}
			for _, p := range pods.Items {
				_ = s.Client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
					ObjectMeta: metav1.ObjectMeta{Name: p.Name, UID: p.UID},
					Target:     corev1.ObjectReference{Kind: "Node", Name: "kubelite-sim-0000"},
				}, metav1.CreateOptions{})
			}
			return false, nil
		})
	}()
}

func waitCronJob(t *testing.T, s *testserver.Server, ns, name string, done func(*batchv1.CronJob) bool) *batchv1.CronJob {
	t.Helper()
	var cj *batchv1.CronJob
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		cj, err = s.Client.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && done(cj), nil
	})
	if err != nil {
		t.Fatalf("cronjob %s/%s: status %+v: %v", ns, name, cj.Status, err)
	}
	return cj
}

func waitEvent(t *testing.T, s *testserver.Server, ns, name, reason string) {
	t.Helper()
	selector := fields.Set{"involvedObject.kind": "CronJob", "involvedObject.name": name, "reason": reason}.AsSelector().String()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		events, err := s.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: selector})
		return err == nil && len(events.Items) > 0, nil
	})
	if err != nil {
		t.Error(fmt.Errorf("no %s event for cronjob %s/%s: %w", reason, ns, name, err))
	}
}
