package job

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func TestIndexes(t *testing.T) {
	for _, tc := range []struct {
		in          string
		completions int
		want        []int
		out         string
	}{
		{in: "", completions: 5, want: nil, out: ""},
		{in: "0", completions: 5, want: []int{0}, out: "0"},
		{in: "0,1", completions: 5, want: []int{0, 1}, out: "0,1"},
		{in: "0-2,4", completions: 5, want: []int{0, 1, 2, 4}, out: "0-2,4"},
		{in: "1,3-7", completions: 5, want: []int{1, 3, 4}, out: "1,3,4"},
		{in: "x,2", completions: 5, want: []int{2}, out: "2"},
	} {
		got := parseIndexes(tc.in, tc.completions)
		if diff := cmp.Diff(tc.want, sets.List(got)); diff != "" && len(tc.want)+got.Len() > 0 {
			t.Errorf("parseIndexes(%q) (-want +got):\n%s", tc.in, diff)
		}
		if s := formatIndexes(got); s != tc.out {
			t.Errorf("formatIndexes(parseIndexes(%q)) = %q, want %q", tc.in, s, tc.out)
		}
	}
}

func failedPod(exitCode int32, conds ...corev1.PodConditionType) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode}},
		}}},
	}
	for _, c := range conds {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue})
	}
	return p
}

func TestJudgeFailure(t *testing.T) {
	policy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
			{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: ptr.To("main"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{1, 2}}},
		{Action: batchv1.PodFailurePolicyActionIgnore, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}}},
	}}
	job := &batchv1.Job{Spec: batchv1.JobSpec{PodFailurePolicy: policy}}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want failureVerdict
	}{
		{"disruption ignored", failedPod(42, corev1.DisruptionTarget), failureVerdict{action: batchv1.PodFailurePolicyActionIgnore}},
		{"exit 42 fails the job", failedPod(42), failureVerdict{action: batchv1.PodFailurePolicyActionFailJob, counts: true,
			message: "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1"}},
		{"exit 3 counts", failedPod(3), failureVerdict{action: batchv1.PodFailurePolicyActionCount, counts: true}},
		{"exit 1 ignored", failedPod(1), failureVerdict{action: batchv1.PodFailurePolicyActionIgnore}},
		{"exit 2 matches nothing", failedPod(2), failureVerdict{counts: true}},
		{"exit 0 matches nothing", failedPod(0), failureVerdict{counts: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := judgeFailure(job, tc.pod)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(failureVerdict{})); diff != "" {
				t.Errorf("judgeFailure (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSuccessPolicy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rules     []batchv1.SuccessPolicyRule
		succeeded []int
		want      string
	}{
		{"indexes all succeeded", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,2")}}, []int{0, 2}, "Matched rules at index 0"},
		{"indexes missing one", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-2")}}, []int{0, 2}, ""},
		{"count among indexes", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("1-3"), SucceededCount: ptr.To[int32](2)}}, []int{0, 1, 3}, "Matched rules at index 0"},
		{"count anywhere, second rule", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("4")}, {SucceededCount: ptr.To[int32](2)}}, []int{0, 1}, "Matched rules at index 1"},
		{"nothing succeeded", []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](0)}}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := &batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr.To[int32](5), SuccessPolicy: &batchv1.SuccessPolicy{Rules: tc.rules}}}
			got, ok := successPolicyMet(job, sets.New(tc.succeeded...))
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("successPolicyMet = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(now)
	c := &Controller{clock: clk, backoff: 10 * time.Second, maxBackoff: 6 * time.Minute, memory: newMemory(clk)}
	for _, tc := range []struct {
		failures int
		ago      time.Duration
		want     time.Duration
	}{
		{0, 0, 0},
		{1, 0, 10 * time.Second},
		{1, 4 * time.Second, 6 * time.Second},
		{2, 0, 20 * time.Second},
		{3, 0, 40 * time.Second},
		{6, 0, 320 * time.Second},
		{7, 0, 6 * time.Minute},
		{30, time.Minute, 5 * time.Minute},
		{2, time.Minute, 0},
	} {
		if got := c.backoffLeft(backoff{failures: tc.failures, lastFailure: now.Add(-tc.ago)}); got != tc.want {
			t.Errorf("backoffLeft(%d failures, last %v ago) = %v, want %v", tc.failures, tc.ago, got, tc.want)
		}
	}

	// A success resets the record; failures after it count.
	at := func(d time.Duration, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(now.Add(d))}},
		}}}}
	}
	c.memory.setBackoff("ns/j", backoff{failures: 3, lastFailure: now.Add(-time.Hour)})
	got := c.nextBackoff("ns/j", []*corev1.Pod{at(-3*time.Second, corev1.PodSucceeded)},
		[]*corev1.Pod{at(-5*time.Second, corev1.PodFailed), at(-2*time.Second, corev1.PodFailed), at(-time.Second, corev1.PodFailed)})
	if want := (backoff{failures: 2, lastFailure: now.Add(-time.Second)}); got != want {
		t.Errorf("nextBackoff = %+v, want %+v", got, want)
	}
}
