package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

func budget(app string, allowed int32) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: "default"},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed},
	}
}

// TestVictims encodes upstream's victim choice on one node: only pods of
// lower priority are candidates; all are removed, then the most important
// are put back while the pod still fits, those protected by a budget
// first.
func TestVictims(t *testing.T) {
	tests := []struct {
		name    string
		cpu     string
		pods    []*corev1.Pod
		pdbs    []*policyv1.PodDisruptionBudget
		pod     *corev1.Pod
		victims []string
		reason  string
	}{
		{
			name: "least important go first",
			cpu:  "4",
			pods: []*corev1.Pod{
				ft.MakePod("low-a").Req("cpu", "2").Priority(1).Obj(),
				ft.MakePod("low-b").Req("cpu", "1").Priority(2).Obj(),
				ft.MakePod("high").Req("cpu", "1").Priority(100).Obj(),
			},
			pod:     ft.MakePod("p").Req("cpu", "2").Priority(50).Obj(),
			victims: []string{"low-a"},
		},
		{
			name: "budget-protected pods are put back first",
			cpu:  "2",
			pods: []*corev1.Pod{
				ft.MakePod("low-a").Label("app", "a").Req("cpu", "1").Priority(1).Obj(),
				ft.MakePod("low-b").Label("app", "b").Req("cpu", "1").Priority(2).Obj(),
			},
			pdbs:    []*policyv1.PodDisruptionBudget{budget("a", 0)},
			pod:     ft.MakePod("p").Req("cpu", "1").Priority(50).Obj(),
			victims: []string{"low-b"},
		},
		{
			name:   "no pod of lower priority",
			cpu:    "1",
			pods:   []*corev1.Pod{ft.MakePod("same").Req("cpu", "1").Priority(50).Obj()},
			pod:    ft.MakePod("p").Req("cpu", "1").Priority(50).Obj(),
			reason: reasonNoVictims,
		},
		{
			name:   "evicting everything is not enough",
			cpu:    "2",
			pods:   []*corev1.Pod{ft.MakePod("low").Req("cpu", "1").Priority(1).Obj(), ft.MakePod("high").Req("cpu", "1").Priority(100).Obj()},
			pod:    ft.MakePod("p").Req("cpu", "2").Priority(50).Obj(),
			reason: "Insufficient cpu",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var placed []*corev1.Pod
			for _, p := range tt.pods {
				placed = append(placed, onNode(p, "n"))
			}
			snap := snapshotOf([]*corev1.Node{ft.MakeNode("n").Capacity("cpu", tt.cpu).Obj()}, placed...)
			s := &Scheduler{algo: newTestAlgorithm(nil)}
			state := framework.NewCycleState(snap)
			for _, pl := range s.algo.profile.preFilter {
				if st := pl.PreFilter(t.Context(), state, tt.pod); st.IsSkip() {
					state.SkipFilter(pl.Name())
				}
			}
			c, st := s.victimsOn(t.Context(), state, tt.pod, snap.ByName["n"].Clone(), tt.pdbs)
			if tt.reason != "" {
				if st.Message() != tt.reason {
					t.Errorf("status = %q, want %q", st.Message(), tt.reason)
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("status = %q", st.Message())
			}
			var names []string
			for _, v := range c.victims {
				names = append(names, v.Name)
			}
			if diff := cmp.Diff(tt.victims, names); diff != "" {
				t.Errorf("victims (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPickCandidate: fewest budget violations, then the lowest highest
// victim priority, then the lowest priority sum, then the fewest victims.
func TestPickCandidate(t *testing.T) {
	p := func(prio int32) *corev1.Pod { return ft.MakePod("v").Priority(prio).Obj() }
	tests := []struct {
		name string
		cs   []candidate
		want string
	}{
		{"violations", []candidate{{node: "a", victims: []*corev1.Pod{p(1)}, violations: 1}, {node: "b", victims: []*corev1.Pod{p(5), p(5)}}}, "b"},
		{"highest priority", []candidate{{node: "a", victims: []*corev1.Pod{p(10)}}, {node: "b", victims: []*corev1.Pod{p(5), p(5)}}}, "b"},
		{"sum", []candidate{{node: "a", victims: []*corev1.Pod{p(5), p(5)}}, {node: "b", victims: []*corev1.Pod{p(5), p(1)}}}, "b"},
		{"count", []candidate{{node: "a", victims: []*corev1.Pod{p(5), p(5)}}, {node: "b", victims: []*corev1.Pod{p(5)}}}, "b"},
		{"first of equals", []candidate{{node: "a", victims: []*corev1.Pod{p(5)}}, {node: "b", victims: []*corev1.Pod{p(5)}}}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickCandidate(tt.cs).node; got != tt.want {
				t.Errorf("picked %s, want %s", got, tt.want)
			}
		})
	}
}
