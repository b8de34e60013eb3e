package podtopologyspread

import (
	"context"
	"math"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

const scoreKey framework.StateKey = Name + "/score"

// systemDefaults are upstream's default constraints for pods without any.
func systemDefaults() []corev1.TopologySpreadConstraint {
	return []corev1.TopologySpreadConstraint{
		{MaxSkew: 3, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway},
		{MaxSkew: 5, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway},
	}
}

type scoreState struct {
	constraints []constraint
	// counts holds, per constraint but hostname ones, the matching pods in
	// each domain of the feasible nodes; weights is log(domains + 2).
	counts  []map[string]int64
	weights []float64
	ignored sets.Set[string]
	// matching is, per constraint, the snapshot's count of its pods per
	// node.
	matching []framework.PodCounts
}

func (s *scoreState) Clone() framework.StateData { return s }

// PreScore counts matching pods per domain for the ScheduleAnyway
// constraints (or the system defaults), over every node the constraint
// includes but only in domains that some feasible node is in.
func (pl *PodTopologySpread) PreScore(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, feasible []*framework.NodeInfo) *framework.Status {
	var cs []constraint
	requireAll := len(pod.Spec.TopologySpreadConstraints) > 0
	if requireAll {
		cs = constraints(pod, pod.Spec.TopologySpreadConstraints, corev1.ScheduleAnyway)
	} else if sel := pl.defaultSelector(pod); !sel.Empty() {
		cs = constraints(pod, systemDefaults(), corev1.ScheduleAnyway)
		for i := range cs {
			cs[i].selector = sel
		}
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &scoreState{constraints: cs, counts: make([]map[string]int64, len(cs)), weights: make([]float64, len(cs)), ignored: sets.New[string]()}
	for i := range cs {
		s.counts[i] = map[string]int64{}
	}
	for _, n := range feasible {
		node := n.Node()
		if requireAll && !hasKeys(node, cs) {
			s.ignored.Insert(node.Name)
			continue
		}
		for i := range cs {
			if cs[i].key != corev1.LabelHostname {
				if v, ok := node.Labels[cs[i].key]; ok {
					s.counts[i][v] = 0
				}
			}
		}
	}
	for i := range cs {
		size := len(s.counts[i])
		if cs[i].key == corev1.LabelHostname {
			size = len(feasible) - s.ignored.Len()
		}
		s.weights[i] = math.Log(float64(size + 2))
	}
	required := nodeaffinity.GetRequiredNodeAffinity(pod)
	snap := state.Snapshot()
	s.matching = make([]framework.PodCounts, len(cs))
	for i := range cs {
		s.matching[i] = cs[i].matching(snap, pod.Namespace)
	}
	if includeAll(pod, cs) {
		// Only nodes with matching pods add to their domain.
		for i := range cs {
			c := &cs[i]
			if c.key == corev1.LabelHostname {
				continue
			}
			for name, n := range s.matching[i] {
				node := snap.ByName[name].Node()
				if requireAll && !hasKeys(node, cs) {
					continue
				}
				v, ok := node.Labels[c.key]
				if _, counted := s.counts[i][v]; ok && counted {
					s.counts[i][v] += int64(n)
				}
			}
		}
		state.Write(scoreKey, s)
		return nil
	}
	nodes := snap.Nodes
	var mu sync.Mutex
	framework.Parallel(len(nodes), func(lo, hi int) {
		local := make([]map[string]int64, len(cs))
		for i := range cs {
			local[i] = map[string]int64{}
		}
		for _, n := range nodes[lo:hi] {
			node := n.Node()
			if requireAll && !hasKeys(node, cs) {
				continue
			}
			for i := range cs {
				c := &cs[i]
				if c.key == corev1.LabelHostname || !c.includes(ctx, pod, node, required) {
					continue
				}
				v, ok := node.Labels[c.key]
				if _, counted := s.counts[i][v]; ok && counted {
					local[i][v] += int64(s.matching[i][node.Name])
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
	state.Write(scoreKey, s)
	return nil
}

// Score adds, per constraint whose key the node has, the matching pods in
// its domain times the constraint's weight, plus maxSkew - 1.
func (pl *PodTopologySpread) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(scoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	s := d.(*scoreState)
	node := n.Node()
	if s.ignored.Has(node.Name) {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.key]
		if !ok {
			continue
		}
		cnt := s.counts[i][v]
		if c.key == corev1.LabelHostname {
			cnt = int64(s.matching[i][node.Name])
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore turns fewer matching pods into a higher score:
// MaxNodeScore * (max + min - score) / max; ignored nodes score 0.
func (pl *PodTopologySpread) NormalizeScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	d, err := state.Read(scoreKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*scoreState)
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, sc := range scores {
		if s.ignored.Has(sc.Name) {
			continue
		}
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	for i := range scores {
		switch {
		case s.ignored.Has(scores[i].Name):
			scores[i].Score = 0
		case hi == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (hi + lo - scores[i].Score) / hi
		}
	}
	return nil
}

// defaultSelector selects the pods of the Services, ReplicationController,
// ReplicaSet or StatefulSet pod belongs to; empty when none.
func (pl *PodTopologySpread) defaultSelector(pod *corev1.Pod) labels.Selector {
	set := labels.Set{}
	if pl.listers.Services != nil {
		if services, err := pl.listers.Services.Services(pod.Namespace).List(labels.Everything()); err == nil {
			for _, svc := range services {
				if len(svc.Spec.Selector) > 0 && labels.Set(svc.Spec.Selector).AsSelectorPreValidated().Matches(labels.Set(pod.Labels)) {
					set = labels.Merge(set, svc.Spec.Selector)
				}
			}
		}
	}
	sel := set.AsSelector()
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil {
		return sel
	}
	gv, err := schema.ParseGroupVersion(owner.APIVersion)
	if err != nil {
		return sel
	}
	var other *metav1.LabelSelector
	switch gv.WithKind(owner.Kind) {
	case corev1.SchemeGroupVersion.WithKind("ReplicationController"):
		if l := pl.listers.ReplicationControllers; l != nil {
			if rc, err := l.ReplicationControllers(pod.Namespace).Get(owner.Name); err == nil {
				return labels.Merge(set, rc.Spec.Selector).AsSelector()
			}
		}
	case schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}:
		if l := pl.listers.ReplicaSets; l != nil {
			if rs, err := l.ReplicaSets(pod.Namespace).Get(owner.Name); err == nil {
				other = rs.Spec.Selector
			}
		}
	case schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}:
		if l := pl.listers.StatefulSets; l != nil {
			if ss, err := l.StatefulSets(pod.Namespace).Get(owner.Name); err == nil {
				other = ss.Spec.Selector
			}
		}
	}
	if other != nil {
		if o, err := metav1.LabelSelectorAsSelector(other); err == nil {
			if reqs, ok := o.Requirements(); ok {
				sel = sel.Add(reqs...)
			}
		}
	}
	return sel
}
