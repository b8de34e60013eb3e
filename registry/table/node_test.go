package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func readyCondition(s corev1.ConditionStatus) corev1.NodeCondition {
	return corev1.NodeCondition{Type: corev1.NodeReady, Status: s}
}

func TestNodeStatusAndRoles(t *testing.T) {
	tests := []struct {
		name          string
		labels        map[string]string
		conditions    []corev1.NodeCondition
		unschedulable bool
		status, roles string
	}{
		{name: "ready", conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionTrue)}, status: "Ready", roles: "<none>"},
		{name: "not ready", conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionFalse)}, status: "NotReady", roles: "<none>"},
		{name: "ready unknown", conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionUnknown)}, status: "NotReady", roles: "<none>"},
		{name: "no ready condition", conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue}}, status: "Unknown", roles: "<none>"},
		{name: "no conditions, cordoned", unschedulable: true, status: "Unknown,SchedulingDisabled", roles: "<none>"},
		{name: "ready, cordoned", conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionTrue)}, unschedulable: true, status: "Ready,SchedulingDisabled", roles: "<none>"},
		{name: "last ready condition wins", conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionTrue), readyCondition(corev1.ConditionFalse)}, status: "NotReady", roles: "<none>"},
		{name: "role labels sorted", labels: map[string]string{
			"node-role.kubernetes.io/worker":        "",
			"node-role.kubernetes.io/control-plane": "",
			"kubernetes.io/hostname":                "n1",
		}, status: "Unknown", roles: "control-plane,worker"},
		{name: "legacy role label and duplicates", labels: map[string]string{
			"kubernetes.io/role":             "master",
			"node-role.kubernetes.io/master": "true",
			"node-role.kubernetes.io/":       "",
		}, status: "Unknown", roles: "master"},
		{name: "empty legacy role label", labels: map[string]string{"kubernetes.io/role": ""}, status: "Unknown", roles: "<none>"},
		{name: "empty legacy role label beside a role", labels: map[string]string{
			"kubernetes.io/role":             "",
			"node-role.kubernetes.io/worker": "",
		}, status: "Unknown", roles: "worker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: tt.labels},
				Spec:       corev1.NodeSpec{Unschedulable: tt.unschedulable},
				Status:     corev1.NodeStatus{Conditions: tt.conditions},
			}
			row := rowOf(t, Nodes(), node)
			if diff := cmp.Diff([]interface{}{tt.status, tt.roles}, row.Cells[1:3]); diff != "" {
				t.Errorf("status and roles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodeCells(t *testing.T) {
	tests := []struct {
		name string
		node *corev1.Node
		want []interface{}
	}{{
		name: "full",
		node: &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: ago(3 * 24 * time.Hour)},
			Status: corev1.NodeStatus{
				Conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionTrue)},
				Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeHostName, Address: "n1"},
					{Type: corev1.NodeExternalIP, Address: "203.0.113.5"},
					{Type: corev1.NodeInternalIP, Address: "10.0.0.5"},
					{Type: corev1.NodeInternalIP, Address: "10.0.0.6"},
				},
				NodeInfo: corev1.NodeSystemInfo{
					KubeletVersion:          "v1.37.2",
					OSImage:                 "Debian GNU/Linux 13",
					KernelVersion:           "6.12.0",
					Architecture:            "amd64",
					ContainerRuntimeVersion: "containerd://2.4.2",
				},
			},
		},
		want: []interface{}{"n1", "Ready", "<none>", "3d", "v1.37.2", "10.0.0.5", "203.0.113.5", "Debian GNU/Linux 13", "6.12.0 (amd64)", "containerd://2.4.2"},
	}, {
		name: "empty",
		node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}},
		want: []interface{}{"n2", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
	}, {
		name: "architecture without kernel",
		node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n3"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{Architecture: "arm64"}}},
		want: []interface{}{"n3", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>", "<unknown> (arm64)", "<unknown>"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, Nodes(), tt.node)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
