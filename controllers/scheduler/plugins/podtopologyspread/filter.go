package podtopologyspread

import (
	"context"
	"maps"
	"math"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

const filterKey framework.StateKey = Name + "/filter"

// The filter's rejections, shared (framework.Rejection).
var (
	errMissingLabel = framework.Rejection(Name, framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
	errConstraints  = framework.Rejection(Name, framework.Unschedulable, ErrReasonConstraintsNotMatch)
)

// filterState counts, per DoNotSchedule constraint, the matching pods in
// each domain of the nodes the constraint includes.
type filterState struct {
	constraints []constraint
	required    nodeaffinity.RequiredNodeAffinity
	counts      []map[string]int
	// mins is each constraint's smallest domain count; self is 1 where the
	// constraint's selector matches the pod itself.
	mins, self []int
}

func (s *filterState) Clone() framework.StateData {
	c := *s
	c.counts = make([]map[string]int, len(s.counts))
	for i := range s.counts {
		c.counts[i] = maps.Clone(s.counts[i])
	}
	c.mins = append([]int(nil), s.mins...)
	return &c
}

func (s *filterState) updateMin(i int) {
	m := math.MaxInt
	for _, n := range s.counts[i] {
		m = min(m, n)
	}
	s.mins[i] = m
}

// PreFilter counts the pods per domain once; a pod without DoNotSchedule
// constraints skips the filter.
func (pl *PodTopologySpread) PreFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	cs := constraints(pod, pod.Spec.TopologySpreadConstraints, corev1.DoNotSchedule)
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &filterState{constraints: cs, required: nodeaffinity.GetRequiredNodeAffinity(pod),
		counts: make([]map[string]int, len(cs)), mins: make([]int, len(cs)), self: make([]int, len(cs))}
	for i := range cs {
		s.counts[i] = map[string]int{}
		if cs[i].selector.Matches(labels.Set(pod.Labels)) {
			s.self[i] = 1
		}
	}
	snap := state.Snapshot()
	matching := make([]framework.PodCounts, len(cs))
	for i := range cs {
		matching[i] = cs[i].matching(snap, pod.Namespace)
	}
	if includeAll(pod, cs) {
		// Every node with the constraints' keys counts: its domain
		// exists, and only nodes with matching pods add to it.
		keys := make([]string, len(cs))
		for i := range cs {
			keys[i] = cs[i].key
		}
		for i, values := range snap.Domains(keys) {
			for _, v := range values {
				s.counts[i][v] = 0
			}
		}
		for i := range cs {
			for name, n := range matching[i] {
				if node := snap.ByName[name].Node(); hasKeys(node, cs) {
					s.counts[i][node.Labels[cs[i].key]] += n
				}
			}
			s.updateMin(i)
		}
		state.Write(filterKey, s)
		return nil
	}
	// Every node the constraints include makes its domain count, with
	// zero pods if need be.
	nodes := snap.Nodes
	var mu sync.Mutex
	framework.Parallel(len(nodes), func(lo, hi int) {
		local := make([]map[string]int, len(cs))
		for i := range cs {
			local[i] = map[string]int{}
		}
		for _, n := range nodes[lo:hi] {
			node := n.Node()
			if !hasKeys(node, cs) {
				continue
			}
			for i := range cs {
				if cs[i].includes(ctx, pod, node, s.required) {
					local[i][node.Labels[cs[i].key]] += matching[i][node.Name]
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range cs {
			for v, n := range local[i] {
				s.counts[i][v] += n
			}
		}
	})
	for i := range cs {
		s.updateMin(i)
	}
	state.Write(filterKey, s)
	return nil
}

func (pl *PodTopologySpread) update(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, pi *framework.PodInfo, n *framework.NodeInfo, delta int) *framework.Status {
	d, err := state.Read(filterKey)
	if err != nil {
		return nil
	}
	s := d.(*filterState)
	node := n.Node()
	if !hasKeys(node, s.constraints) {
		return nil
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		if c.matches(pi.Pod, pod.Namespace) && c.includes(ctx, pod, node, s.required) {
			s.counts[i][node.Labels[c.key]] += delta
			s.updateMin(i)
		}
	}
	return nil
}

// AddPod counts podToAdd as placed on node.
func (pl *PodTopologySpread) AddPod(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, podToAdd *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return pl.update(ctx, state, pod, podToAdd, node, 1)
}

// RemovePod stops counting podToRemove.
func (pl *PodTopologySpread) RemovePod(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, podToRemove *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return pl.update(ctx, state, pod, podToRemove, node, -1)
}

// Filter rejects a node without a constraint's topology key
// (unresolvably), and one where the pod would make its domain's count
// exceed the smallest domain's (0 while there are fewer domains than
// minDomains) by more than maxSkew.
func (pl *PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	d, err := state.Read(filterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*filterState)
	node := n.Node()
	for i := range s.constraints {
		c := &s.constraints[i]
		value, ok := node.Labels[c.key]
		if !ok {
			return errMissingLabel
		}
		minimum := s.mins[i]
		if len(s.counts[i]) < int(c.minDomains) || len(s.counts[i]) == 0 {
			minimum = 0
		}
		if s.counts[i][value]+s.self[i]-minimum > int(c.maxSkew) {
			return errConstraints
		}
	}
	return nil
}
