package disruption_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestBudgetStatus runs the controller in a real server: a new budget is
// processed (observedGeneration catches up), a spec change is processed
// again, and pods becoming Ready allow disruptions.
func TestBudgetStatus(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	pdbs := s.Client.PolicyV1().PodDisruptionBudgets("default")
	pdb, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			MinAvailable: ptr.To(intstr.FromInt32(1)),
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := waitFor(ctx, t, s, func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.ObservedGeneration == p.Generation
	})
	if got.Status.DisruptionsAllowed != 0 || len(got.Status.Conditions) != 1 || got.Status.Conditions[0].Reason != policyv1.InsufficientPodsReason {
		t.Errorf("status with no pods = %+v", got.Status)
	}

	for _, name := range []string{"a", "b"} {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
			// No scheduler takes it: the test writes its status itself, and a
			// scheduler's write in between would make that a conflict.
			Spec: corev1.PodSpec{SchedulerName: "no-scheduler", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		p, err := s.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		if _, err := s.Client.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(ctx, t, s, func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.CurrentHealthy == 2 && p.Status.ExpectedPods == 2 && p.Status.DisruptionsAllowed == 1
	})

	pdb, err = pdbs.Get(ctx, pdb.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb.Spec.MinAvailable = ptr.To(intstr.FromInt32(2))
	if _, err := pdbs.Update(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, s, func(p *policyv1.PodDisruptionBudget) bool {
		return p.Generation == 2 && p.Status.ObservedGeneration == 2 && p.Status.DisruptionsAllowed == 0 && p.Status.DesiredHealthy == 2
	})
}

func waitFor(ctx context.Context, t *testing.T, s *testserver.Server, cond func(*policyv1.PodDisruptionBudget) bool) *policyv1.PodDisruptionBudget {
	t.Helper()
	var last *policyv1.PodDisruptionBudget
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := s.Client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return cond(p), nil
	})
	if err != nil {
		t.Fatalf("budget status never got there; last: generation %d, status %+v", last.Generation, last.Status)
	}
	return last
}

// TestEviction drives pods/eviction against budgets the controller keeps
// current, on pods a simulated node runs: an eviction the budget forbids is
// a 429 naming the budget and deletes nothing; one it allows takes a
// disruption (the pod is named in disruptedPods), marks the pod with
// DisruptionTarget and deletes it; the next is refused until the budget
// allows again; a pod that never started is evicted without asking.
func TestEviction(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Simulated: app.SimulatedNodesConfig{Count: 1}})
	ctx := t.Context()
	pods := s.Client.CoreV1().Pods("default")
	for _, name := range []string{"a", "b", "c"} {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pdbs := s.Client.PolicyV1().PodDisruptionBudgets("default")
	if _, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			MinAvailable: ptr.To(intstr.FromInt32(3)),
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, s, func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.ObservedGeneration == p.Generation && p.Status.CurrentHealthy == 3
	})
	evict := func(name string) error {
		return pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}})
	}
	refused := func(name, cause string) {
		t.Helper()
		err := evict(name)
		if !apierrors.IsTooManyRequests(err) {
			t.Fatalf("evict %s: want 429, got %v", name, err)
		}
		st := err.(apierrors.APIStatus).Status()
		if st.Message != "Cannot evict pod as it would violate the pod's disruption budget." || st.Details == nil ||
			len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != policyv1.DisruptionBudgetCause || st.Details.Causes[0].Message != cause {
			t.Fatalf("evict %s: status %+v", name, st)
		}
		if p, err := pods.Get(ctx, name, metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
			t.Fatalf("refused eviction touched pod %s: %v", name, err)
		}
	}
	refused("a", "The disruption budget web needs 3 healthy pods and has 3 currently")

	pdb, err := pdbs.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb.Spec.MinAvailable = ptr.To(intstr.FromInt32(2))
	if _, err := pdbs.Update(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, s, func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.ObservedGeneration == p.Generation && p.Status.DisruptionsAllowed == 1
	})
	before, err := pdbs.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := evict("a"); err != nil {
		t.Fatalf("evict a with a disruption allowed: %v", err)
	}
	// The eviction writes the budget before it deletes the pod; the
	// disruption controller may then drop the entry of the pod, being
	// deleted, at once (as upstream's), so the written version is looked for
	// among all the budget's versions since, not in the latest.
	w, err := pdbs.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=web", ResourceVersion: before.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var seen []policyv1.PodDisruptionBudgetStatus
	timeout := time.After(10 * time.Second)
	for written := false; !written; {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("budget watch closed; versions seen: %+v", seen)
			}
			if got, ok := e.Object.(*policyv1.PodDisruptionBudget); ok {
				seen = append(seen, got.Status)
				_, disrupted := got.Status.DisruptedPods["a"]
				written = disrupted && got.Status.DisruptionsAllowed == 0
			}
		case <-timeout:
			t.Fatalf("no version of the budget after the eviction has allowed 0 and pod a disrupted: %+v", seen)
		}
	}
	if p, err := pods.Get(ctx, "a", metav1.GetOptions{}); err == nil {
		if p.DeletionTimestamp == nil || !hasCondition(p, corev1.DisruptionTarget, "EvictionByEvictionAPI") {
			t.Errorf("evicted pod: deletionTimestamp %v, conditions %+v", p.DeletionTimestamp, p.Status.Conditions)
		}
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	refused("b", "The disruption budget web needs 2 healthy pods and has 2 currently")

	// Not yet started (no node takes it): evicted without the budget.
	pending := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pending", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			NodeSelector: map[string]string{"no": "such-node"}},
	}
	if _, err := pods.Create(ctx, pending, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := evict("pending"); err != nil {
		t.Fatalf("evict a pending pod: %v", err)
	}
	if _, err := pods.Get(ctx, "pending", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("evicted pending pod: want NotFound, got %v", err)
	}
}

func hasCondition(p *corev1.Pod, typ corev1.PodConditionType, reason string) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue && c.Reason == reason {
			return true
		}
	}
	return false
}
