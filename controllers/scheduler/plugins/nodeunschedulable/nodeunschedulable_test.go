package nodeunschedulable

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// TestFilter: upstream lets a pod onto a cordoned node only when it
// tolerates node.kubernetes.io/unschedulable:NoSchedule.
func TestFilter(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *corev1.Node
		want framework.Code
	}{
		{"schedulable node", ft.MakePod("p").Obj(), ft.MakeNode("n").Obj(), framework.Success},
		{"cordoned node", ft.MakePod("p").Obj(), ft.MakeNode("n").Unschedulable().Obj(), framework.UnschedulableAndUnresolvable},
		{"cordoned node, tolerated", ft.MakePod("p").Toleration(corev1.TaintNodeUnschedulable, corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule).Obj(),
			ft.MakeNode("n").Unschedulable().Obj(), framework.Success},
		{"cordoned node, tolerate everything", ft.MakePod("p").Toleration("", corev1.TolerationOpExists, "", "").Obj(),
			ft.MakeNode("n").Unschedulable().Obj(), framework.Success},
		{"cordoned node, wrong effect tolerated", ft.MakePod("p").Toleration(corev1.TaintNodeUnschedulable, corev1.TolerationOpExists, "", corev1.TaintEffectNoExecute).Obj(),
			ft.MakeNode("n").Unschedulable().Obj(), framework.UnschedulableAndUnresolvable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := New().Filter(t.Context(), nil, tt.pod, ft.NodeInfo(tt.node))
			if got.Code() != tt.want {
				t.Errorf("code = %v, want %v (%q)", got.Code(), tt.want, got.Message())
			}
			if tt.want != framework.Success && got.Message() != ErrReason {
				t.Errorf("message = %q, want %q", got.Message(), ErrReason)
			}
		})
	}
}
