package tainttoleration

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// TestFilter: upstream rejects a node for an untolerated NoSchedule or
// NoExecute taint, unresolvably, and ignores PreferNoSchedule taints.
func TestFilter(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *corev1.Node
		want framework.Code
	}{
		{"no taints", ft.MakePod("p").Obj(), ft.MakeNode("n").Obj(), framework.Success},
		{"NoSchedule untolerated", ft.MakePod("p").Obj(), ft.MakeNode("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(), framework.UnschedulableAndUnresolvable},
		{"NoExecute untolerated", ft.MakePod("p").Obj(), ft.MakeNode("n").Taint("k", "v", corev1.TaintEffectNoExecute).Obj(), framework.UnschedulableAndUnresolvable},
		{"PreferNoSchedule is not a filter", ft.MakePod("p").Obj(), ft.MakeNode("n").Taint("k", "v", corev1.TaintEffectPreferNoSchedule).Obj(), framework.Success},
		{"tolerated by Equal", ft.MakePod("p").Toleration("k", corev1.TolerationOpEqual, "v", corev1.TaintEffectNoSchedule).Obj(),
			ft.MakeNode("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(), framework.Success},
		{"value differs", ft.MakePod("p").Toleration("k", corev1.TolerationOpEqual, "w", corev1.TaintEffectNoSchedule).Obj(),
			ft.MakeNode("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(), framework.UnschedulableAndUnresolvable},
		{"tolerated by Exists with no effect", ft.MakePod("p").Toleration("k", corev1.TolerationOpExists, "", "").Obj(),
			ft.MakeNode("n").Taint("k", "v", corev1.TaintEffectNoExecute).Obj(), framework.Success},
		{"one of two tolerated", ft.MakePod("p").Toleration("a", corev1.TolerationOpExists, "", "").Obj(),
			ft.MakeNode("n").Taint("a", "", corev1.TaintEffectNoSchedule).Taint("b", "", corev1.TaintEffectNoSchedule).Obj(), framework.UnschedulableAndUnresolvable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := New().Filter(t.Context(), nil, tt.pod, ft.NodeInfo(tt.node))
			if got.Code() != tt.want {
				t.Errorf("code = %v, want %v", got.Code(), tt.want)
			}
			if tt.want != framework.Success && got.Message() != ErrReason {
				t.Errorf("message = %q", got.Message())
			}
		})
	}
}

// TestScore: upstream counts untolerated PreferNoSchedule taints and
// reverses the normalized count, so no such taints scores 100.
func TestScore(t *testing.T) {
	pod := ft.MakePod("p").Toleration("ok", corev1.TolerationOpExists, "", corev1.TaintEffectPreferNoSchedule).Obj()
	nodes := []*corev1.Node{
		ft.MakeNode("clean").Obj(),
		ft.MakeNode("one").Taint("a", "", corev1.TaintEffectPreferNoSchedule).Obj(),
		ft.MakeNode("two").Taint("a", "", corev1.TaintEffectPreferNoSchedule).Taint("b", "", corev1.TaintEffectPreferNoSchedule).Obj(),
		ft.MakeNode("tolerated").Taint("ok", "", corev1.TaintEffectPreferNoSchedule).Taint("x", "", corev1.TaintEffectNoSchedule).Obj(),
	}
	p := New()
	state := framework.NewCycleState(nil)
	p.PreScore(t.Context(), state, pod, nil)
	var scores []framework.NodeScore
	for _, n := range nodes {
		s, st := p.Score(t.Context(), state, pod, ft.NodeInfo(n))
		if !st.IsSuccess() {
			t.Fatal(st.AsError())
		}
		scores = append(scores, framework.NodeScore{Name: n.Name, Score: s})
	}
	p.NormalizeScore(t.Context(), state, pod, scores)
	want := map[string]int64{"clean": 100, "one": 50, "two": 0, "tolerated": 100}
	if diff := cmp.Diff(want, ft.ScoreMap(scores)); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
}

// TestConditionTaints: the plugin reads taints only, as upstream's; a
// node's conditions count once the node lifecycle controller has turned
// them into taints.
func TestConditionTaints(t *testing.T) {
	node := func(ct corev1.NodeConditionType, st corev1.ConditionStatus, taints ...string) *corev1.Node {
		n := ft.MakeNode("n").Obj()
		n.Status.Conditions = []corev1.NodeCondition{{Type: ct, Status: st}}
		for _, key := range taints {
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
		return n
	}
	tolerateNotReady := ft.MakePod("ds").Toleration(corev1.TaintNodeNotReady, corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule).Obj()
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *corev1.Node
		want framework.Code
	}{
		{"ready", ft.MakePod("p").Obj(), node(corev1.NodeReady, corev1.ConditionTrue), framework.Success},
		{"not ready, not yet tainted", ft.MakePod("p").Obj(), node(corev1.NodeReady, corev1.ConditionFalse), framework.Success},
		{"not ready, tainted", ft.MakePod("p").Obj(), node(corev1.NodeReady, corev1.ConditionFalse, corev1.TaintNodeNotReady), framework.UnschedulableAndUnresolvable},
		{"not ready, tolerated", tolerateNotReady, node(corev1.NodeReady, corev1.ConditionFalse, corev1.TaintNodeNotReady), framework.Success},
		{"unreachable", tolerateNotReady, node(corev1.NodeReady, corev1.ConditionUnknown, corev1.TaintNodeUnreachable), framework.UnschedulableAndUnresolvable},
		{"memory pressure", ft.MakePod("p").Obj(), node(corev1.NodeMemoryPressure, corev1.ConditionTrue, corev1.TaintNodeMemoryPressure), framework.UnschedulableAndUnresolvable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New().Filter(t.Context(), nil, tt.pod, ft.NodeInfo(tt.node)); got.Code() != tt.want {
				t.Errorf("code = %v, want %v", got.Code(), tt.want)
			}
		})
	}
}
