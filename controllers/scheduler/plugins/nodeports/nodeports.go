// Package nodeports is the NodePorts filter: a pod's host ports must be
// free on the node (the same port and protocol on the same host IP, or on
// any IP when either side binds 0.0.0.0, is a conflict).
package nodeports

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodePorts"

// ErrReason is upstream's reason for a node whose ports are taken.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

// NodePorts is the plugin.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin = (*NodePorts)(nil)
	_ framework.FilterPlugin    = (*NodePorts)(nil)
)

// New returns the plugin.
func New() *NodePorts { return &NodePorts{} }

// Name returns Name.
func (*NodePorts) Name() string { return Name }

const stateKey framework.StateKey = Name

type ports []corev1.ContainerPort

func (p ports) Clone() framework.StateData { return p }

// PreFilter collects the pod's host ports once; a pod without any skips
// the filter.
func (*NodePorts) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	p := framework.HostPortsOf(pod)
	if len(p) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(stateKey, ports(p))
	return nil
}

// errPortsTaken is the filter's rejection, shared (framework.Rejection).
var errPortsTaken = framework.Rejection(Name, framework.Unschedulable, ErrReason)

// Filter rejects a node where one of the pod's host ports is in use. The
// pods holding the ports could be preempted, so the status is
// Unschedulable.
func (*NodePorts) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	var want []corev1.ContainerPort
	if d, err := state.Read(stateKey); err == nil {
		want = d.(ports)
	} else {
		want = framework.HostPortsOf(pod)
	}
	if !Fits(want, node.UsedPorts) {
		return errPortsTaken
	}
	return nil
}

// Fits reports whether every port in want is free in used.
func Fits(want []corev1.ContainerPort, used framework.HostPorts) bool {
	for _, p := range want {
		if used.Conflicts(p.HostIP, p.Protocol, p.HostPort) {
			return false
		}
	}
	return true
}
