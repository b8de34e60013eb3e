package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/workqueue"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// errNoNodes is upstream's error when the cluster has no nodes at all.
var errNoNodes = errors.New("no nodes available to schedule pods")

// Upstream's bounds on how many feasible nodes a cycle looks for in a big
// cluster before it stops filtering and scores what it found.
const (
	minFeasibleNodes          = 100
	minFeasibleNodesPercent   = 5
	adaptivePercentBase       = 50
	adaptivePercentNodeFactor = 125
)

// algorithm places one pod at a time on a snapshot: filter, score, pick.
// Only the scheduling loop calls it; it keeps where the last search
// stopped, so that successive pods start at different nodes, and a random
// source to break ties.
type algorithm struct {
	profile     *profile
	parallelism int
	// percentage of nodes to look at for feasible ones; 0 is upstream's
	// adaptive value.
	percentage int
	rand       *rand.Rand
	nextStart  int
	// rejected is findFeasible's buffer of statuses by node position.
	rejected []*framework.Status
	// nominated returns the pods nominated to a node (waiting for the
	// victims of their preemption to go), whose room others must not take.
	nominated func(node string) []*framework.PodInfo
}

// fitError says why no node fits a pod: each node's rejecting status, or
// the one status a PreFilter rejected the pod with.
type fitError struct {
	numAllNodes   int
	statuses      map[string]*framework.Status
	preFilter     *framework.Status
	postFilterMsg string
	// nominate is what preemption decided for status.nominatedNodeName:
	// nil leaves it, "" clears it, a name sets it to the node it made room
	// on.
	nominate *string
}

// Error is upstream's FailedScheduling message: "0/3 nodes are available:
// 1 Insufficient cpu, 2 node(s) had untolerated taint(s).", each reason
// counted over the nodes, sorted, then what preemption found.
func (e *fitError) Error() string {
	msg := fmt.Sprintf("0/%d nodes are available:", e.numAllNodes)
	if e.preFilter != nil {
		msg += fmt.Sprintf(" %s.", e.preFilter.Message())
	} else {
		counts := map[string]int{}
		for _, st := range e.statuses {
			for _, r := range st.Reasons() {
				counts[r]++
			}
		}
		reasons := make([]string, 0, len(counts))
		for r, n := range counts {
			reasons = append(reasons, fmt.Sprintf("%d %s", n, r))
		}
		slices.Sort(reasons)
		if len(reasons) > 0 {
			msg += fmt.Sprintf(" %s.", strings.Join(reasons, ", "))
		}
	}
	if e.postFilterMsg != "" {
		msg += " " + e.postFilterMsg
	}
	return msg
}

// rejectedBy names the plugins that rejected the pod somewhere.
func (e *fitError) rejectedBy() sets.Set[string] {
	out := sets.New[string]()
	if e.preFilter != nil {
		out.Insert(e.preFilter.Plugin())
	}
	for _, st := range e.statuses {
		out.Insert(st.Plugin())
	}
	return out
}

// numFeasibleToFind is how many feasible nodes to look for among n:
// all of them in a small cluster, otherwise a percentage (by default
// 50% less 1% per 125 nodes, at least 5%), and never fewer than 100.
func (a *algorithm) numFeasibleToFind(n int) int {
	if n < minFeasibleNodes || a.percentage >= 100 {
		return n
	}
	pct := a.percentage
	if pct <= 0 {
		pct = max(adaptivePercentBase-n/adaptivePercentNodeFactor, minFeasibleNodesPercent)
	}
	return max(n*pct/100, minFeasibleNodes)
}

// schedule picks a node for pod, or returns a *fitError saying why none
// fits (or errNoNodes, or another error when a plugin failed). It also
// returns the cycle's state for preemption.
func (a *algorithm) schedule(ctx context.Context, snap *framework.Snapshot, pod *corev1.Pod) (string, *framework.CycleState, error) {
	if len(snap.Nodes) == 0 {
		return "", nil, errNoNodes
	}
	state := framework.NewCycleState(snap)
	if st, err := a.preFilter(ctx, state, pod); err != nil {
		return "", state, err
	} else if st != nil {
		return "", state, &fitError{numAllNodes: len(snap.Nodes), preFilter: st}
	}
	nodes := snap.Nodes
	var absent *framework.Status
	if only, plugins, ok := state.Restriction(); ok {
		nodes = make([]*framework.NodeInfo, 0, only.Len())
		for _, name := range sets.List(only) {
			if n, ok := snap.ByName[name]; ok {
				nodes = append(nodes, n)
			}
		}
		absent = framework.NewStatus(framework.UnschedulableAndUnresolvable,
			fmt.Sprintf("node(s) didn't satisfy plugin(s) %v", plugins)).WithPlugin(plugins[0])
	}

	if nn := pod.Status.NominatedNodeName; nn != "" {
		if node, ok := snap.ByName[nn]; ok && a.filter(ctx, state, pod, node).IsSuccess() {
			return nn, state, nil
		}
	}

	var feasible []*framework.NodeInfo
	statuses := map[string]*framework.Status{}
	if len(nodes) > 0 {
		var err error
		if feasible, statuses, err = a.findFeasible(ctx, state, pod, nodes); err != nil {
			return "", state, err
		}
	}
	if len(feasible) == 0 {
		if absent != nil {
			for _, n := range snap.Nodes {
				if _, ok := statuses[n.Node().Name]; !ok {
					statuses[n.Node().Name] = absent
				}
			}
		}
		return "", state, &fitError{numAllNodes: len(snap.Nodes), statuses: statuses}
	}
	if len(feasible) == 1 {
		return feasible[0].Node().Name, state, nil
	}
	scores, err := a.score(ctx, state, pod, feasible)
	if err != nil {
		return "", state, err
	}
	return a.pick(scores), state, nil
}

// preFilter runs the PreFilters as upstream: an UnschedulableAndUnresolvable
// rejection ends the cycle at once; an Unschedulable one is returned after
// the remaining PreFilters ran (preemption may need their state);
// restrictions that leave no node reject the pod too.
func (a *algorithm) preFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod) (*framework.Status, error) {
	var rejected *framework.Status
	for _, pl := range a.profile.preFilter {
		st := pl.PreFilter(ctx, state, pod)
		switch {
		case st.IsSkip():
			state.SkipFilter(pl.Name())
		case st.Code() == framework.Error:
			return nil, fmt.Errorf("prefilter %s: %w", pl.Name(), st.AsError())
		case st.Code() == framework.UnschedulableAndUnresolvable:
			return st.WithPlugin(pl.Name()), nil
		case !st.IsSuccess():
			rejected = st.WithPlugin(pl.Name())
		}
		if only, plugins, ok := state.Restriction(); ok && only.Len() == 0 {
			msg := fmt.Sprintf("node(s) didn't satisfy plugin(s) %v simultaneously", plugins)
			if len(plugins) == 1 {
				msg = fmt.Sprintf("node(s) didn't satisfy plugin %v", plugins[0])
			}
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, msg).WithPlugin(plugins[0]), nil
		}
	}
	return rejected, nil
}

// filter runs the filters on one node, counting the pods nominated to it
// with at least pod's priority as if they were there.
func (a *algorithm) filter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	return a.filterWith(ctx, a.activeFilters(state), state, pod, node)
}

// activeFilters lists the filters that the cycle's PreFilters did not skip.
func (a *algorithm) activeFilters(state *framework.CycleState) []framework.FilterPlugin {
	out := make([]framework.FilterPlugin, 0, len(a.profile.filter))
	for _, pl := range a.profile.filter {
		if !state.FilterSkipped(pl.Name()) {
			out = append(out, pl)
		}
	}
	return out
}

// filterWith is filter with the active filters already listed.
func (a *algorithm) filterWith(ctx context.Context, filters []framework.FilterPlugin, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	if a.nominated != nil {
		if noms := a.nominated(node.Node().Name); len(noms) > 0 {
			prio := corev1helpers.PodPriority(pod)
			var added bool
			for _, pi := range noms {
				if pi.Pod.UID == pod.UID || corev1helpers.PodPriority(pi.Pod) < prio {
					continue
				}
				if !added {
					node, state, added = node.Clone(), state.Clone(), true
				}
				node.AddPod(pi)
				for _, o := range a.profile.observers {
					if st := o.AddPod(ctx, state, pod, pi, node); !st.IsSuccess() {
						return st
					}
				}
			}
		}
	}
	for _, pl := range filters {
		if st := pl.Filter(ctx, state, pod, node); !st.IsSuccess() {
			return st.WithPlugin(pl.Name())
		}
	}
	return nil
}

// findFeasible filters nodes in parallel, starting where the last search
// stopped, until it has found numFeasibleToFind of them or tried all. The
// statuses of the nodes that rejected the pod are returned only when none
// is feasible (the cycle then fails with them); rejections are kept by
// node position meanwhile, so that rejecting thousands of nodes takes no
// lock and no map.
func (a *algorithm) findFeasible(ctx context.Context, state *framework.CycleState, pod *corev1.Pod,
	nodes []*framework.NodeInfo) ([]*framework.NodeInfo, map[string]*framework.Status, error) {
	n := len(nodes)
	want := a.numFeasibleToFind(n)
	feasible := make([]*framework.NodeInfo, want)
	var found, processed atomic.Int32
	if cap(a.rejected) < n {
		a.rejected = make([]*framework.Status, n)
	}
	rejected := a.rejected[:n]
	clear(rejected)
	var mu sync.Mutex
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := a.nextStart % n
	filters := a.activeFilters(state)
	check := func(i int) {
		pos := (start + i) % n
		node := nodes[pos]
		st := a.filterWith(ctx, filters, state, pod, node)
		processed.Add(1)
		if st.IsSuccess() {
			if k := found.Add(1); int(k) <= want {
				feasible[k-1] = node
			} else {
				cancel()
			}
			return
		}
		if st.Code() == framework.Error {
			mu.Lock()
			defer mu.Unlock()
			if firstErr == nil {
				firstErr = fmt.Errorf("filter %s on node %s: %w", st.Plugin(), node.Node().Name, st.AsError())
			}
			cancel()
			return
		}
		rejected[pos] = st
	}
	chunk := max(1, n/(a.parallelism*4))
	workqueue.ParallelizeUntil(ctx, a.parallelism, n, check, workqueue.WithChunkSize(chunk))
	if firstErr != nil {
		return nil, nil, firstErr
	}
	a.nextStart = (start + int(processed.Load())) % n
	if k := min(int(found.Load()), want); k > 0 {
		return feasible[:k], nil, nil
	}
	statuses := make(map[string]*framework.Status, n)
	for pos, st := range rejected {
		if st != nil {
			statuses[nodes[pos].Node().Name] = st
		}
	}
	return nil, statuses, nil
}

// score runs the score plugins on the feasible nodes and returns each
// node's weighted total.
func (a *algorithm) score(ctx context.Context, state *framework.CycleState, pod *corev1.Pod,
	nodes []*framework.NodeInfo) ([]framework.NodeScore, error) {
	for _, pl := range a.profile.preScore {
		st := pl.PreScore(ctx, state, pod, nodes)
		switch {
		case st.IsSkip():
			state.SkipScore(pl.Name())
		case !st.IsSuccess():
			return nil, fmt.Errorf("prescore %s: %w", pl.Name(), st.AsError())
		}
	}
	var plugins []weightedScore
	for _, pl := range a.profile.score {
		if !state.ScoreSkipped(pl.Name()) {
			plugins = append(plugins, pl)
		}
	}
	perPlugin := make([][]framework.NodeScore, len(plugins))
	for i := range plugins {
		perPlugin[i] = make([]framework.NodeScore, len(nodes))
	}
	var mu sync.Mutex
	var firstErr error
	workqueue.ParallelizeUntil(ctx, a.parallelism, len(nodes), func(j int) {
		name := nodes[j].Node().Name
		for i, pl := range plugins {
			s, st := pl.Score(ctx, state, pod, nodes[j])
			if !st.IsSuccess() {
				mu.Lock()
				firstErr = fmt.Errorf("score %s on node %s: %w", pl.Name(), name, st.AsError())
				mu.Unlock()
				return
			}
			perPlugin[i][j] = framework.NodeScore{Name: name, Score: s}
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	total := make([]framework.NodeScore, len(nodes))
	for j, n := range nodes {
		total[j].Name = n.Node().Name
	}
	for i, pl := range plugins {
		if norm, ok := pl.ScorePlugin.(framework.ScoreNormalizer); ok {
			if st := norm.NormalizeScore(ctx, state, pod, perPlugin[i]); !st.IsSuccess() {
				return nil, fmt.Errorf("normalize %s: %w", pl.Name(), st.AsError())
			}
		}
		for j, s := range perPlugin[i] {
			total[j].Score += s.Score * pl.weight
		}
	}
	return total, nil
}

// pick returns the node with the highest score, choosing uniformly among
// ties.
func (a *algorithm) pick(scores []framework.NodeScore) string {
	best, ties := scores[0], 1
	for _, s := range scores[1:] {
		switch {
		case s.Score > best.Score:
			best, ties = s, 1
		case s.Score == best.Score:
			ties++
			if a.rand.IntN(ties) == 0 {
				best = s
			}
		}
	}
	return best.Name
}
