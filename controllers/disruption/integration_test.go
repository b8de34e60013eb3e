package disruption_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

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
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
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
