// Package noderesources holds the plugins about a node's resources:
// NodeResourcesFit, which filters out nodes without room for the pod's
// requests and prefers the least allocated nodes, and
// NodeResourcesBalancedAllocation, which prefers nodes whose cpu and
// memory stay evenly used.
package noderesources

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// FitName is the fit plugin's name.
const FitName = "NodeResourcesFit"

// ReasonTooManyPods is upstream's reason for a node at its pod count.
const ReasonTooManyPods = "Too many pods"

// Fit is the NodeResourcesFit plugin: a pod fits a node when the node's
// allocatable covers what the node's pods already request plus the pod's
// requests, for cpu, memory, ephemeral storage, every extended resource the
// pod asks for, and the pod count. Requests count init containers,
// sidecars and overhead as upstream (framework.PodRequests). Its score is
// upstream's default LeastAllocated over cpu and memory, weight 1 each.
type Fit struct{}

var (
	_ framework.PreFilterPlugin = (*Fit)(nil)
	_ framework.FilterPlugin    = (*Fit)(nil)
	_ framework.PreScorePlugin  = (*Fit)(nil)
	_ framework.ScorePlugin     = (*Fit)(nil)
)

// NewFit returns the plugin.
func NewFit() *Fit { return &Fit{} }

// Name returns FitName.
func (*Fit) Name() string { return FitName }

const (
	filterKey framework.StateKey = FitName + "/filter"
	scoreKey  framework.StateKey = FitName + "/score"
)

type requests struct{ framework.Resource }

func (r *requests) Clone() framework.StateData { return r }

// PreFilter computes the pod's requests once.
func (*Fit) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	state.Write(filterKey, &requests{framework.PodRequests(pod)})
	return nil
}

// Filter rejects a node without room for the pod. Every shortfall is a
// reason; when the pod asks for more than the node's allocatable, no
// preemption can help and the status is UnschedulableAndUnresolvable.
func (*Fit) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	var req framework.Resource
	if d, err := state.Read(filterKey); err == nil {
		req = d.(*requests).Resource
	} else {
		req = framework.PodRequests(pod)
	}
	short := Insufficient(req, node)
	if len(short) == 0 {
		return nil
	}
	code := framework.Unschedulable
	reasons := make([]string, 0, len(short))
	for _, s := range short {
		reasons = append(reasons, s.Reason)
		if s.Unresolvable {
			code = framework.UnschedulableAndUnresolvable
		}
	}
	return framework.NewStatus(code, reasons...)
}

// Shortfall is one resource the node lacks for a pod.
type Shortfall struct {
	Resource corev1.ResourceName
	// Reason is upstream's text: "Too many pods", "Insufficient cpu".
	Reason string
	// Unresolvable is set when the pod asks for more than the node's
	// allocatable, so that removing pods cannot help.
	Unresolvable bool
}

// Insufficient lists what node lacks for a pod that requests req: first
// the pod count, then cpu, memory, ephemeral storage and other resources.
func Insufficient(req framework.Resource, node *framework.NodeInfo) []Shortfall {
	var out []Shortfall
	alloc, used := &node.Allocatable, &node.Requested
	if int64(len(node.Pods))+1 > alloc.AllowedPodNumber {
		out = append(out, Shortfall{Resource: corev1.ResourcePods, Reason: ReasonTooManyPods})
	}
	check := func(name corev1.ResourceName, want, have, inUse int64) {
		if want > 0 && want > have-inUse {
			out = append(out, Shortfall{Resource: name, Reason: fmt.Sprintf("Insufficient %s", name), Unresolvable: want > have})
		}
	}
	check(corev1.ResourceCPU, req.MilliCPU, alloc.MilliCPU, used.MilliCPU)
	check(corev1.ResourceMemory, req.Memory, alloc.Memory, used.Memory)
	check(corev1.ResourceEphemeralStorage, req.EphemeralStorage, alloc.EphemeralStorage, used.EphemeralStorage)
	for _, name := range sortedNames(req.Scalar) {
		check(name, req.Scalar[name], alloc.Scalar[name], used.Scalar[name])
	}
	return out
}

// PreScore computes the pod's non-zero requests once.
func (*Fit) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(scoreKey, &requests{framework.PodNonZeroRequests(pod)})
	return nil
}

// Score is upstream's LeastAllocated: for cpu and memory, the share of
// allocatable left free once the pod is placed (counting missing requests
// as the non-zero defaults), times MaxNodeScore, averaged.
func (*Fit) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(scoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	req := d.(*requests).Resource
	return LeastAllocated(req, node), nil
}

// LeastAllocated scores node for a pod with non-zero requests req.
func LeastAllocated(req framework.Resource, node *framework.NodeInfo) int64 {
	var sum, n int64
	for _, r := range [...]struct{ want, used, alloc int64 }{
		{req.MilliCPU, node.NonZeroRequested.MilliCPU, node.Allocatable.MilliCPU},
		{req.Memory, node.NonZeroRequested.Memory, node.Allocatable.Memory},
	} {
		if r.alloc == 0 {
			continue
		}
		n++
		requested := r.used + r.want
		if requested > r.alloc {
			continue
		}
		sum += (r.alloc - requested) * framework.MaxNodeScore / r.alloc
	}
	if n == 0 {
		return 0
	}
	return sum / n
}
