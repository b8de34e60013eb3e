package interpodaffinity

import (
	"context"
	"math"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

const scoreKey framework.StateKey = Name + "/score"

// scoreState holds each topology domain's score for the pod.
type scoreState struct {
	domains map[string]map[string]int64
}

func (s *scoreState) Clone() framework.StateData { return s }

func (s *scoreState) add(node *corev1.Node, key string, w int64) {
	v, ok := node.Labels[key]
	if !ok || w == 0 {
		return
	}
	if s.domains[key] == nil {
		s.domains[key] = map[string]int64{}
	}
	s.domains[key][v] += w
}

// PreScore adds up, per topology domain: the weights of the pod's
// preferred affinity terms (minus those of its preferred anti-affinity
// terms) that select a placed pod there; and of the placed pods' terms
// that select the pod: preferred affinity (plus), preferred anti-affinity
// (minus) and required affinity (plus hardAffinityWeight). It skips the
// pod when nothing counts.
func (pl *InterPodAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	snap := state.Snapshot()
	pa := framework.NewPodAffinity(pod)
	var preferred, preferredAnti []framework.WeightedAffinityTerm
	if pa != nil {
		preferred, preferredAnti = pl.resolveWeighted(pa.Preferred), pl.resolveWeighted(pa.PreferredAnti)
	}
	own := len(preferred)+len(preferredAnti) > 0
	nodes := snap.WithAffinity
	if own {
		nodes = snap.Nodes
	}
	nsLabels := pl.namespaceLabels(pod.Namespace)
	s := &scoreState{domains: map[string]map[string]int64{}}
	var mu sync.Mutex
	framework.Parallel(len(nodes), func(lo, hi int) {
		local := &scoreState{domains: map[string]map[string]int64{}}
		local.count(nodes[lo:hi], own, pod, nsLabels, preferred, preferredAnti)
		mu.Lock()
		defer mu.Unlock()
		for key, values := range local.domains {
			if s.domains[key] == nil {
				s.domains[key] = map[string]int64{}
			}
			for v, w := range values {
				s.domains[key][v] += w
			}
		}
	})
	if len(s.domains) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(scoreKey, s)
	return nil
}

// count adds the weights the pods of nodes give to their domains.
func (s *scoreState) count(nodes []*framework.NodeInfo, own bool, pod *corev1.Pod, nsLabels labels.Set,
	preferred, preferredAnti []framework.WeightedAffinityTerm) {
	for _, n := range nodes {
		pods := n.PodsWithAffinity
		if own {
			pods = n.Pods
		}
		for _, pi := range pods {
			for _, t := range preferred {
				if t.Matches(pi.Pod, nil) {
					s.add(n.Node(), t.TopologyKey, int64(t.Weight))
				}
			}
			for _, t := range preferredAnti {
				if t.Matches(pi.Pod, nil) {
					s.add(n.Node(), t.TopologyKey, -int64(t.Weight))
				}
			}
			if pi.Affinity == nil {
				continue
			}
			for _, t := range pi.Affinity.Required {
				if t.Matches(pod, nsLabels) {
					s.add(n.Node(), t.TopologyKey, hardAffinityWeight)
				}
			}
			for _, t := range pi.Affinity.Preferred {
				if t.Matches(pod, nsLabels) {
					s.add(n.Node(), t.TopologyKey, int64(t.Weight))
				}
			}
			for _, t := range pi.Affinity.PreferredAnti {
				if t.Matches(pod, nsLabels) {
					s.add(n.Node(), t.TopologyKey, -int64(t.Weight))
				}
			}
		}
	}
}

func (pl *InterPodAffinity) resolveWeighted(terms []framework.WeightedAffinityTerm) []framework.WeightedAffinityTerm {
	plain := make([]framework.AffinityTerm, len(terms))
	for i := range terms {
		plain[i] = terms[i].AffinityTerm
	}
	plain = pl.resolve(plain)
	out := make([]framework.WeightedAffinityTerm, len(terms))
	for i := range terms {
		out[i] = framework.WeightedAffinityTerm{AffinityTerm: plain[i], Weight: terms[i].Weight}
	}
	return out
}

// Score sums the scores of the domains node is in.
func (pl *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(scoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var sum int64
	for key, values := range d.(*scoreState).domains {
		if v, ok := node.Node().Labels[key]; ok {
			sum += values[v]
		}
	}
	return sum, nil
}

// NormalizeScore maps the lowest score to 0 and the highest to
// MaxNodeScore, linearly; all 0 when they are equal.
func (pl *InterPodAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range scores {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		var f float64
		if hi > lo {
			f = float64(framework.MaxNodeScore) * float64(scores[i].Score-lo) / float64(hi-lo)
		}
		scores[i].Score = int64(f)
	}
	return nil
}
