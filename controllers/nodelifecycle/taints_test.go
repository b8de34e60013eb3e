package nodelifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNoScheduleTaints(t *testing.T) {
	cond := func(typ corev1.NodeConditionType, st corev1.ConditionStatus) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: st}
	}
	ns := func(key string) corev1.Taint { return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule} }
	tests := []struct {
		name          string
		conditions    []corev1.NodeCondition
		unschedulable bool
		want          []corev1.Taint
	}{
		{"ready", []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionTrue)}, false, nil},
		{"not ready", []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionFalse)}, false, []corev1.Taint{ns(corev1.TaintNodeNotReady)}},
		{"unknown", []corev1.NodeCondition{cond(corev1.NodeReady, corev1.ConditionUnknown)}, false, []corev1.Taint{ns(corev1.TaintNodeUnreachable)}},
		{"pressures", []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue),
			cond(corev1.NodeMemoryPressure, corev1.ConditionTrue),
			cond(corev1.NodeDiskPressure, corev1.ConditionTrue),
			cond(corev1.NodePIDPressure, corev1.ConditionTrue),
			cond(corev1.NodeNetworkUnavailable, corev1.ConditionTrue),
		}, false, []corev1.Taint{ns(corev1.TaintNodeMemoryPressure), ns(corev1.TaintNodeDiskPressure), ns(corev1.TaintNodePIDPressure), ns(corev1.TaintNodeNetworkUnavailable)}},
		{"pressure unknown", []corev1.NodeCondition{cond(corev1.NodeMemoryPressure, corev1.ConditionUnknown)}, false, nil},
		{"cordoned", nil, true, []corev1.Taint{ns(corev1.TaintNodeUnschedulable)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: tt.unschedulable}, Status: corev1.NodeStatus{Conditions: tt.conditions}}
			if diff := cmp.Diff(tt.want, noScheduleTaints(node)); diff != "" {
				t.Errorf("noScheduleTaints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredTaints(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	at := metav1.NewTime(now)
	user := corev1.Taint{Key: "example.com/dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}
	userNoExecute := corev1.Taint{Key: "example.com/evict", Effect: corev1.TaintEffectNoExecute}
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	notReadyNS := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
	unreachableNS := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}
	withTime := func(t corev1.Taint, ts metav1.Time) corev1.Taint { t.TimeAdded = &ts; return t }
	tests := []struct {
		name        string
		have, want  []corev1.Taint
		result      []corev1.Taint
		wantChanged bool
	}{
		{"nothing", nil, nil, nil, false},
		{"user taints kept", []corev1.Taint{user, userNoExecute}, nil, []corev1.Taint{user, userNoExecute}, false},
		{"add, NoExecute stamped", []corev1.Taint{user}, []corev1.Taint{unreachableNS, unreachable},
			[]corev1.Taint{user, unreachableNS, withTime(unreachable, at)}, true},
		{"kept with its time", []corev1.Taint{withTime(unreachable, earlier), unreachableNS}, []corev1.Taint{unreachableNS, unreachable},
			[]corev1.Taint{withTime(unreachable, earlier), unreachableNS}, false},
		{"swap", []corev1.Taint{user, notReadyNS}, []corev1.Taint{unreachableNS},
			[]corev1.Taint{user, unreachableNS}, true},
		{"recovered", []corev1.Taint{withTime(unreachable, earlier), unreachableNS, user}, nil, []corev1.Taint{user}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := &corev1.Node{Spec: corev1.NodeSpec{Taints: tt.have}}
			got, changed := desiredTaints(node, tt.want, now)
			if diff := cmp.Diff(tt.result, got); diff != "" {
				t.Errorf("taints (-want +got):\n%s", diff)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
		})
	}
}

func TestZones(t *testing.T) {
	tests := []struct {
		ready, notReady int
		want            zoneState
	}{
		{1, 0, zoneNormal},
		{0, 1, zoneFullDisruption},
		{1, 2, zoneNormal},
		{2, 3, zonePartialDisruption},
		{3, 3, zoneNormal},
		{60, 40, zoneNormal},
	}
	for _, tt := range tests {
		if got := classify(tt.ready, tt.notReady); got != tt.want {
			t.Errorf("classify(%d, %d) = %v, want %v", tt.ready, tt.notReady, got, tt.want)
		}
	}

	z := newZones()
	z.set("a1", "a", true)
	z.set("b1", "b", false)
	if st, all := z.state("b"); st != zoneFullDisruption || all {
		t.Errorf("b = %v, all %v; want full disruption, not all", st, all)
	}
	z.set("a1", "a", false)
	if _, all := z.state("a"); !all {
		t.Error("every zone without a ready node should be all disrupted")
	}
	z.remove("a1")
	z.set("b1", "b", true)
	if st, all := z.state("b"); st != zoneNormal || all {
		t.Errorf("b = %v, all %v after recovery; want normal", st, all)
	}
	if st, _ := z.state("a"); st != zoneNormal {
		t.Errorf("removed zone a = %v, want normal", st)
	}
}
