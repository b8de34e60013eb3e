package job_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// node is the simulated node the tests' pods are bound to (there is no
// scheduler in the test server).
const node = "kubelite-sim-0000"

// TestJobs runs the Job controller in a real server with one simulated
// node, whose Job containers exit 0 a second after they start unless a
// pod's annotation or command says otherwise.
func TestJobs(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:     t.TempDir(),
		Simulated:   app.SimulatedNodesConfig{Count: 1},
		Controllers: app.ControllersConfig{JobBackoff: 200 * time.Millisecond},
	})
	c := s.Client

	t.Run("completions and parallelism", func(t *testing.T) {
		t.Parallel()
		ns := "job-complete"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "work", 3, 2)
		created := create(t, c, j)
		maxRunning := 0
		got := waitJobFunc(t, c, ns, "work", "Complete", func(j *batchv1.Job) bool {
			running := 0
			for _, p := range jobPods(t, c, ns, created) {
				if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
					running++
				}
			}
			maxRunning = max(maxRunning, running, int(j.Status.Active))
			return hasCondition(j, batchv1.JobComplete, corev1.ConditionTrue)
		})
		if maxRunning != 2 {
			t.Errorf("at most %d pods ran at once, want parallelism 2", maxRunning)
		}
		wantCondition(t, got, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods")
		wantCondition(t, got, batchv1.JobComplete, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods")
		if got.Status.Succeeded != 3 || got.Status.Failed != 0 || got.Status.Active != 0 {
			t.Errorf("status succeeded/failed/active = %d/%d/%d, want 3/0/0", got.Status.Succeeded, got.Status.Failed, got.Status.Active)
		}
		if got.Status.StartTime == nil || got.Status.CompletionTime == nil || got.Status.CompletionTime.Before(got.Status.StartTime) {
			t.Errorf("startTime %v, completionTime %v", got.Status.StartTime, got.Status.CompletionTime)
		}
		if u := got.Status.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
			t.Errorf("uncountedTerminatedPods = %+v, want empty", u)
		}
		pods := jobPods(t, c, ns, got)
		if len(pods) != 3 {
			t.Errorf("job has %d pods, want 3", len(pods))
		}
		for _, p := range pods {
			if p.Status.Phase != corev1.PodSucceeded || slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
				t.Errorf("pod %s: phase %s, finalizers %v; want Succeeded without the tracking finalizer", p.Name, p.Status.Phase, p.Finalizers)
			}
		}
	})

	t.Run("backoffLimit", func(t *testing.T) {
		t.Parallel()
		ns := "job-backoff"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "fail", 1, 1)
		j.Spec.BackoffLimit = ptr.To[int32](2)
		j.Spec.Template.Annotations = map[string]string{"container.sim.kubelite.io/main": "exit=1"}
		create(t, c, j)
		got := waitJob(t, c, ns, "fail", batchv1.JobFailed)
		wantCondition(t, got, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
		wantCondition(t, got, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
		if got.Status.Failed != 3 || got.Status.Succeeded != 0 {
			t.Errorf("status failed/succeeded = %d/%d, want 3/0", got.Status.Failed, got.Status.Succeeded)
		}
		if n := len(jobPods(t, c, ns, got)); n != 3 {
			t.Errorf("job has %d pods, want 3", n)
		}
	})

	t.Run("activeDeadlineSeconds", func(t *testing.T) {
		t.Parallel()
		ns := "job-deadline"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "slow", 2, 2)
		j.Spec.ActiveDeadlineSeconds = ptr.To[int64](2)
		j.Spec.Template.Annotations = map[string]string{"container.sim.kubelite.io/main": "exit=never"}
		create(t, c, j)
		got := waitJob(t, c, ns, "slow", batchv1.JobFailed)
		wantCondition(t, got, batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline")
		if got.Status.Active != 0 || got.Status.Failed != 2 {
			t.Errorf("status active/failed = %d/%d, want 0/2", got.Status.Active, got.Status.Failed)
		}
		for _, p := range jobPods(t, c, ns, got) {
			if slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
				t.Errorf("pod %s still has the tracking finalizer", p.Name)
			}
		}
	})

	t.Run("suspend and resume", func(t *testing.T) {
		t.Parallel()
		ns := "job-suspend"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "later", 2, 2)
		j.Spec.Suspend = ptr.To(true)
		create(t, c, j)
		got := waitJobFunc(t, c, ns, "later", "Suspended", func(j *batchv1.Job) bool {
			return hasCondition(j, batchv1.JobSuspended, corev1.ConditionTrue)
		})
		wantCondition(t, got, batchv1.JobSuspended, "JobSuspended", "Job suspended")
		if got.Status.StartTime != nil {
			t.Errorf("suspended job has startTime %v", got.Status.StartTime)
		}
		time.Sleep(time.Second)
		if n := len(jobPods(t, c, ns, got)); n != 0 {
			t.Fatalf("suspended job has %d pods, want 0", n)
		}
		setSuspend(t, c, got, false)
		got = waitJob(t, c, ns, "later", batchv1.JobComplete)
		if cond := findCondition(got, batchv1.JobSuspended); cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != "JobResumed" {
			t.Errorf("Suspended condition after resume = %+v, want False JobResumed", cond)
		}
		if got.Status.Succeeded != 2 {
			t.Errorf("succeeded = %d, want 2", got.Status.Succeeded)
		}
	})

	t.Run("suspend a running job", func(t *testing.T) {
		t.Parallel()
		ns := "job-suspend-running"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "running", 2, 2)
		j.Spec.Template.Annotations = map[string]string{"container.sim.kubelite.io/main": "exit=never"}
		create(t, c, j)
		got := waitJobFunc(t, c, ns, "running", "active 2", func(j *batchv1.Job) bool { return j.Status.Active == 2 })
		setSuspend(t, c, got, true)
		got = waitJobFunc(t, c, ns, "running", "suspended without pods", func(j *batchv1.Job) bool {
			return hasCondition(j, batchv1.JobSuspended, corev1.ConditionTrue) && j.Status.Active == 0 &&
				ptr.Deref(j.Status.Terminating, 1) == 0 && len(jobPods(t, c, ns, j)) == 0
		})
		if got.Status.Failed != 0 || got.Status.StartTime != nil {
			t.Errorf("suspended job: failed %d, startTime %v; want 0 and unset", got.Status.Failed, got.Status.StartTime)
		}
	})

	t.Run("no completions: done at the first success", func(t *testing.T) {
		t.Parallel()
		ns := "job-work-queue"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "queue", 1, 3)
		j.Spec.Completions = nil
		create(t, c, j)
		got := waitJob(t, c, ns, "queue", batchv1.JobComplete)
		if got.Status.Succeeded != 3 {
			t.Errorf("succeeded %d, want 3 (all pods started together and succeeded)", got.Status.Succeeded)
		}
	})

	t.Run("Indexed", func(t *testing.T) {
		t.Parallel()
		ns := "job-indexed"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "idx", 3, 3)
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		create(t, c, j)
		got := waitJob(t, c, ns, "idx", batchv1.JobComplete)
		if got.Status.CompletedIndexes != "0-2" || got.Status.Succeeded != 3 {
			t.Errorf("completedIndexes %q, succeeded %d; want 0-2, 3", got.Status.CompletedIndexes, got.Status.Succeeded)
		}
		var indexes []int
		for _, p := range jobPods(t, c, ns, got) {
			ix, err := strconv.Atoi(p.Annotations[batchv1.JobCompletionIndexAnnotation])
			if err != nil {
				t.Fatalf("pod %s: completion index annotation: %v", p.Name, err)
			}
			indexes = append(indexes, ix)
			if p.Labels[batchv1.JobCompletionIndexAnnotation] != strconv.Itoa(ix) || p.Spec.Hostname != "idx-"+strconv.Itoa(ix) {
				t.Errorf("pod %s: index label %q, hostname %q", p.Name, p.Labels[batchv1.JobCompletionIndexAnnotation], p.Spec.Hostname)
			}
			if !slices.ContainsFunc(p.Spec.Containers[0].Env, func(e corev1.EnvVar) bool { return e.Name == "JOB_COMPLETION_INDEX" }) {
				t.Errorf("pod %s has no JOB_COMPLETION_INDEX", p.Name)
			}
		}
		slices.Sort(indexes)
		if !slices.Equal(indexes, []int{0, 1, 2}) {
			t.Errorf("pod indexes %v, want [0 1 2]", indexes)
		}
	})

	t.Run("podFailurePolicy FailJob", func(t *testing.T) {
		t.Parallel()
		ns := "job-pfp"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "pfp", 1, 1)
		j.Spec.Template.Spec.Containers[0].Command = []string{"sh", "-c", "exit 42"}
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:      batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
		}}}
		create(t, c, j)
		got := waitJob(t, c, ns, "pfp", batchv1.JobFailed)
		pods := jobPods(t, c, ns, got)
		if len(pods) != 1 {
			t.Fatalf("job has %d pods, want 1", len(pods))
		}
		msg := "Container main for pod " + ns + "/" + pods[0].Name + " failed with exit code 42 matching FailJob rule at index 0"
		wantCondition(t, got, batchv1.JobFailed, batchv1.JobReasonPodFailurePolicy, msg)
	})

	t.Run("backoffLimitPerIndex", func(t *testing.T) {
		t.Parallel()
		ns := "job-per-index"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "per-index", 2, 2)
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
		j.Spec.Template.Annotations = map[string]string{"container.sim.kubelite.io/main": "exit=1"}
		create(t, c, j)
		got := waitJob(t, c, ns, "per-index", batchv1.JobFailed)
		wantCondition(t, got, batchv1.JobFailed, batchv1.JobReasonFailedIndexes, "Job has failed indexes")
		if got.Status.FailedIndexes == nil || *got.Status.FailedIndexes != "0,1" || got.Status.Failed != 4 {
			t.Errorf("failedIndexes %v, failed %d; want 0,1 and 4", ptr.Deref(got.Status.FailedIndexes, "<nil>"), got.Status.Failed)
		}
		counts := map[string]int{}
		for _, p := range jobPods(t, c, ns, got) {
			counts[p.Annotations[batchv1.JobCompletionIndexAnnotation]+"/"+p.Annotations[batchv1.JobIndexFailureCountAnnotation]]++
		}
		if diff := cmp.Diff(map[string]int{"0/0": 1, "0/1": 1, "1/0": 1, "1/1": 1}, counts); diff != "" {
			t.Errorf("pods by index/failure count (-want +got):\n%s", diff)
		}
	})

	t.Run("podFailurePolicy FailIndex", func(t *testing.T) {
		t.Parallel()
		ns := "job-fail-index"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "fail-index", 2, 2)
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.BackoffLimitPerIndex = ptr.To[int32](3)
		j.Spec.Template.Spec.Containers[0].Command = []string{"sh", "-c", "exit 42"}
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:      batchv1.PodFailurePolicyActionFailIndex,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
		}}}
		create(t, c, j)
		got := waitJob(t, c, ns, "fail-index", batchv1.JobFailed)
		wantCondition(t, got, batchv1.JobFailed, batchv1.JobReasonFailedIndexes, "Job has failed indexes")
		if got.Status.Failed != 2 || ptr.Deref(got.Status.FailedIndexes, "") != "0,1" {
			t.Errorf("failed %d, failedIndexes %v; want 2 and 0,1", got.Status.Failed, ptr.Deref(got.Status.FailedIndexes, "<nil>"))
		}
	})

	t.Run("podFailurePolicy Ignore", func(t *testing.T) {
		t.Parallel()
		ns := "job-ignore"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "ignore", 1, 1)
		j.Spec.BackoffLimit = ptr.To[int32](0)
		j.Spec.Template.Annotations = map[string]string{"container.sim.kubelite.io/main": "exit=1"}
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:      batchv1.PodFailurePolicyActionIgnore,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}},
		}}}
		created := create(t, c, j)
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			return len(jobPods(t, c, ns, created)) >= 3, nil
		})
		if err != nil {
			t.Fatalf("ignored failures not replaced: %v", err)
		}
		got, err := c.BatchV1().Jobs(ns).Get(t.Context(), "ignore", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Failed != 0 || hasCondition(got, batchv1.JobFailed, corev1.ConditionTrue) {
			t.Errorf("job with only ignored failures: failed %d, conditions %+v", got.Status.Failed, got.Status.Conditions)
		}
	})

	t.Run("deleted job releases its pods", func(t *testing.T) {
		t.Parallel()
		ns := "job-orphan"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "orphaning", 1, 1)
		j.Spec.Template.Annotations = map[string]string{"container.sim.kubelite.io/main": "exit=never"}
		created := create(t, c, j)
		var pods []corev1.Pod
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			pods = jobPods(t, c, ns, created)
			return len(pods) == 1 && pods[0].Status.Phase == corev1.PodRunning, nil
		})
		if err != nil {
			t.Fatalf("pod not running: %v", err)
		}
		if !slices.Contains(pods[0].Finalizers, batchv1.JobTrackingFinalizer) {
			t.Errorf("running pod has finalizers %v, want the tracking finalizer", pods[0].Finalizers)
		}
		// Without a propagation policy a Job orphans its pods.
		if err := c.BatchV1().Jobs(ns).Delete(t.Context(), "orphaning", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods(ns).Get(ctx, pods[0].Name, metav1.GetOptions{})
			return err == nil && !slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer), nil
		})
		if err != nil {
			t.Errorf("orphaned pod keeps the tracking finalizer: %v", err)
		}
	})

	t.Run("adopts an orphan", func(t *testing.T) {
		t.Parallel()
		ns := "job-adopt"
		s.CreateNamespace(t, ns)
		orphan, err := c.CoreV1().Pods(ns).Create(t.Context(), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: map[string]string{"app": "batch"}},
			Spec: corev1.PodSpec{NodeName: node, RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j := newJob(ns, "adopter", 1, 1)
		j.Spec.ManualSelector = ptr.To(true)
		j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "batch"}}
		j.Spec.Template.Labels = map[string]string{"app": "batch"}
		created := create(t, c, j)
		err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods(ns).Get(ctx, orphan.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			ref := metav1.GetControllerOf(p)
			return ref != nil && ref.UID == created.UID && slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer), nil
		})
		if err != nil {
			t.Fatalf("orphan not adopted with the tracking finalizer: %v", err)
		}
		got := waitJobFunc(t, c, ns, "adopter", "active 1", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
		time.Sleep(time.Second)
		pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=batch"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 1 {
			t.Errorf("job %s with an adopted running pod has %d pods, want 1", got.Name, len(pods.Items))
		}
	})

	t.Run("successPolicy", func(t *testing.T) {
		t.Parallel()
		ns := "job-success-policy"
		s.CreateNamespace(t, ns)
		j := newJob(ns, "leader", 3, 1)
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0")}}}
		create(t, c, j)
		got := waitJob(t, c, ns, "leader", batchv1.JobComplete)
		wantCondition(t, got, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, "Matched rules at index 0")
		wantCondition(t, got, batchv1.JobComplete, batchv1.JobReasonSuccessPolicy, "Matched rules at index 0")
		if !slices.Contains([]string{"0", "0,1", "0-2"}, got.Status.CompletedIndexes) {
			t.Errorf("completedIndexes %q", got.Status.CompletedIndexes)
		}
	})
}
