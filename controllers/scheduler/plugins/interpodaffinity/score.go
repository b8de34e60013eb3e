package interpodaffinity

import (
	"context"
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

const scoreKey framework.StateKey = Name + "/score"

// scoreState holds each topology domain's score for the pod.
type scoreState struct {
	domains map[string]map[string]int64
}

func (s *scoreState) Clone() framework.StateData { return s }

// add adds w to the domain value of key.
func (s *scoreState) add(key, value string, w int64) {
	if w == 0 {
		return
	}
	if s.domains[key] == nil {
		s.domains[key] = map[string]int64{}
	}
	s.domains[key][value] += w
}

// PreScore adds up, per topology domain: the weights of the pod's
// preferred affinity terms (minus those of its preferred anti-affinity
// terms) that select a placed pod there; and of the placed pods' terms
// that select the pod: preferred affinity (plus), preferred anti-affinity
// (minus) and required affinity (plus hardAffinityWeight). It skips the
// pod when nothing counts. Both come from the snapshot's indexes.
func (pl *InterPodAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	snap := state.Snapshot()
	s := &scoreState{domains: map[string]map[string]int64{}}
	if pa := framework.NewPodAffinity(pod); pa != nil {
		for _, t := range pl.resolveWeighted(pa.Preferred) {
			s.addMatching(snap, t.AffinityTerm, int64(t.Weight))
		}
		for _, t := range pl.resolveWeighted(pa.PreferredAnti) {
			s.addMatching(snap, t.AffinityTerm, -int64(t.Weight))
		}
	}
	nsLabels := pl.namespaceLabels(pod.Namespace)
	for g := range snap.AffinityTerms() {
		var w int64
		switch g.Kind {
		case framework.RequiredAffinity:
			w = hardAffinityWeight
		case framework.PreferredAffinity:
			w = int64(g.Weight)
		case framework.PreferredAntiAffinity:
			w = -int64(g.Weight)
		default:
			continue
		}
		if g.Term.Matches(pod, nsLabels) {
			for v, n := range g.Domains {
				s.add(g.Term.TopologyKey, v, w*int64(n))
			}
		}
	}
	if len(s.domains) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(scoreKey, s)
	return nil
}

// addMatching adds w per pod t selects to the domain of t's topology key
// the pod is in.
func (s *scoreState) addMatching(snap *framework.Snapshot, t framework.AffinityTerm, w int64) {
	for name, n := range podsMatching(snap, t) {
		if v, ok := snap.ByName[name].Node().Labels[t.TopologyKey]; ok {
			s.add(t.TopologyKey, v, w*int64(n))
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
