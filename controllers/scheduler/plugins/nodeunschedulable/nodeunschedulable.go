// Package nodeunschedulable is the NodeUnschedulable filter: a cordoned
// node (spec.unschedulable) takes only pods that tolerate the
// node.kubernetes.io/unschedulable:NoSchedule taint.
package nodeunschedulable

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeUnschedulable"

// ErrReason is upstream's reason for a cordoned node.
const ErrReason = "node(s) were unschedulable"

// NodeUnschedulable is the plugin.
type NodeUnschedulable struct{}

var _ framework.FilterPlugin = (*NodeUnschedulable)(nil)

// New returns the plugin.
func New() *NodeUnschedulable { return &NodeUnschedulable{} }

// Name returns Name.
func (*NodeUnschedulable) Name() string { return Name }

// errUnschedulable is the filter's rejection, shared (framework.Rejection).
var errUnschedulable = framework.Rejection(Name, framework.UnschedulableAndUnresolvable, ErrReason)

// Filter rejects an unschedulable node unless the pod tolerates it.
func (*NodeUnschedulable) Filter(ctx context.Context, _ *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	if !node.Node().Spec.Unschedulable {
		return nil
	}
	taint := &corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	if corev1helpers.TolerationsTolerateTaint(klog.FromContext(ctx), pod.Spec.Tolerations, taint, false) {
		return nil
	}
	return errUnschedulable
}
