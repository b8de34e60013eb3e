package noderesources

import (
	"context"
	"math"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// BalancedName is the balanced allocation plugin's name.
const BalancedName = "NodeResourcesBalancedAllocation"

// Balanced is the NodeResourcesBalancedAllocation plugin. It scores how
// evenly a node's cpu and memory are used (as fractions of allocatable,
// counting actual requests), and rewards placements that make the node
// more even: MaxNodeScore/2 + (MaxNodeScore/2 + with - without)/2, where
// with and without are the node's balance with and without the pod, each
// (1 - the standard deviation of the fractions) * MaxNodeScore. A pod
// that requests neither scores 0 everywhere, as upstream.
type Balanced struct{}

var (
	_ framework.PreScorePlugin = (*Balanced)(nil)
	_ framework.ScorePlugin    = (*Balanced)(nil)
)

// NewBalanced returns the plugin.
func NewBalanced() *Balanced { return &Balanced{} }

// Name returns BalancedName.
func (*Balanced) Name() string { return BalancedName }

const balancedKey framework.StateKey = BalancedName

// PreScore computes the pod's requests, and skips a pod that requests
// neither cpu nor memory.
func (*Balanced) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	req := framework.PodRequests(pod)
	if req.MilliCPU == 0 && req.Memory == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(balancedKey, &requests{req})
	return nil
}

// Score scores node's balance for the pod.
func (*Balanced) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(balancedKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	return BalancedScore(d.(*requests).Resource, node), nil
}

// BalancedScore scores node for a pod that requests req. It allocates
// nothing: it runs for every feasible node in every cycle.
func BalancedScore(req framework.Resource, node *framework.NodeInfo) int64 {
	var with, without, alloc [2]int64
	n := 0
	for _, r := range [...]struct{ want, used, alloc int64 }{
		{req.MilliCPU, node.Requested.MilliCPU, node.Allocatable.MilliCPU},
		{req.Memory, node.Requested.Memory, node.Allocatable.Memory},
	} {
		if r.alloc == 0 {
			continue
		}
		with[n], without[n], alloc[n] = r.used+r.want, r.used, r.alloc
		n++
	}
	half := framework.MaxNodeScore / 2
	return half + (half+balance(with[:n], alloc[:n])-balance(without[:n], alloc[:n]))/2
}

// balance is (1 - standard deviation of requested/allocatable, each capped
// at 1) * MaxNodeScore.
func balance(requested, alloc []int64) int64 {
	var fractions [2]float64
	var total float64
	for i := range requested {
		fractions[i] = math.Min(float64(requested[i])/float64(alloc[i]), 1)
		total += fractions[i]
	}
	var std float64
	if len(requested) == 2 {
		std = math.Abs(fractions[0]-fractions[1]) / 2
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}

func sortedNames(m map[corev1.ResourceName]int64) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
