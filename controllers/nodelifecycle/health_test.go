package nodelifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestObserve(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	created := metav1.NewTime(t0.Add(-time.Hour))
	node := func(heartbeat time.Time) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: created}}
		if !heartbeat.IsZero() {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.NewTime(heartbeat)}}
		}
		return n
	}
	lease := func(renew time.Time) *coordinationv1.Lease {
		r := metav1.NewMicroTime(renew)
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &r}}
	}
	hb := t0.Add(-time.Minute)

	h := observe(nil, node(hb), nil, t0)
	if !h.probe.Equal(t0) {
		t.Errorf("first sight: probe %v, want now %v", h.probe, t0)
	}
	if h := observe(nil, node(time.Time{}), nil, t0); !h.probe.Equal(created.Time) {
		t.Errorf("never posted Ready: probe %v, want creation %v", h.probe, created.Time)
	}
	t1 := t0.Add(10 * time.Second)
	if h = observe(h, node(hb), nil, t1); !h.probe.Equal(t0) {
		t.Errorf("same heartbeat, no lease: probe moved to %v", h.probe)
	}
	if h = observe(h, node(hb), lease(t0), t1); !h.probe.Equal(t1) {
		t.Errorf("lease renewed: probe %v, want %v", h.probe, t1)
	}
	t2 := t1.Add(10 * time.Second)
	if h = observe(h, node(hb), lease(t0), t2); !h.probe.Equal(t1) {
		t.Errorf("same lease: probe moved to %v", h.probe)
	}
	if h = observe(h, node(t2), lease(t0), t2); !h.probe.Equal(t2) {
		t.Errorf("new heartbeat: probe %v, want %v", h.probe, t2)
	}
}

func TestMarkUnknown(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-time.Hour))
	old := metav1.NewTime(now.Add(-time.Minute))
	at := metav1.NewTime(now)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: created},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: old, LastTransitionTime: old},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: old, LastTransitionTime: old},
			{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, LastHeartbeatTime: old, LastTransitionTime: old},
		}},
	}
	if !markUnknown(node, now) {
		t.Fatal("markUnknown reported no change of a Ready node")
	}
	want := []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: reasonUnknown, Message: messageUnknown, LastHeartbeatTime: old, LastTransitionTime: at},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionUnknown, Reason: reasonUnknown, Message: messageUnknown, LastHeartbeatTime: old, LastTransitionTime: at},
		{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, LastHeartbeatTime: old, LastTransitionTime: old},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionUnknown, Reason: reasonNeverUpdated, Message: messageNeverUpdated, LastHeartbeatTime: created, LastTransitionTime: at},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionUnknown, Reason: reasonNeverUpdated, Message: messageNeverUpdated, LastHeartbeatTime: created, LastTransitionTime: at},
	}
	if diff := cmp.Diff(want, node.Status.Conditions); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if markUnknown(node, now.Add(time.Minute)) {
		t.Error("markUnknown changed a node that is already Unknown")
	}
}
