// Package interpodaffinity is the InterPodAffinity plugin. As a filter it
// enforces required pod affinity and anti-affinity: the pod's own terms
// (it must share a topology domain with pods its affinity terms select,
// and none with pods its anti-affinity terms select) and the required
// anti-affinity of pods already placed (no pod may land in a domain whose
// pods' anti-affinity selects it). As a score it adds, per topology
// domain, the weights of preferred terms in both directions, and the
// required affinity of placed pods that select the pod, at weight 1.
package interpodaffinity

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "InterPodAffinity"

// Upstream's reasons.
const (
	ErrReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinity             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinity         = "node(s) didn't match pod anti-affinity rules"
)

// hardAffinityWeight is upstream's default weight of a placed pod's
// required affinity term that selects the incoming pod, in the score.
const hardAffinityWeight = 1

// InterPodAffinity is the plugin.
type InterPodAffinity struct {
	namespaces corelisters.NamespaceLister
}

var (
	_ framework.PreFilterPlugin   = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin      = (*InterPodAffinity)(nil)
	_ framework.PodChangeObserver = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin    = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin       = (*InterPodAffinity)(nil)
	_ framework.ScoreNormalizer   = (*InterPodAffinity)(nil)
)

// New returns the plugin. namespaces resolves terms' namespace selectors;
// with nil, a namespace selector selects no namespace.
func New(namespaces corelisters.NamespaceLister) *InterPodAffinity {
	return &InterPodAffinity{namespaces: namespaces}
}

// Name returns Name.
func (*InterPodAffinity) Name() string { return Name }

type topologyPair struct{ key, value string }

type counts map[topologyPair]int64

func (c counts) add(terms []framework.AffinityTerm, pod *corev1.Pod, nsLabels labels.Set, node *corev1.Node, delta int64) {
	for i := range terms {
		t := &terms[i]
		if v, ok := node.Labels[t.TopologyKey]; ok && t.Matches(pod, nsLabels) {
			p := topologyPair{t.TopologyKey, v}
			c[p] += delta
			if c[p] == 0 {
				delete(c, p)
			}
		}
	}
}

// addDomains adds weight times each domain's count of key.
func (c counts) addDomains(key string, domains map[string]int, weight int64) {
	for v, n := range domains {
		c[topologyPair{key, v}] += weight * int64(n)
	}
}

// addMatching adds weight for each pod of the snapshot that t selects, to
// the domain of t's topology key it is in.
func (c counts) addMatching(snap *framework.Snapshot, t framework.AffinityTerm, weight int64) {
	for name, n := range podsMatching(snap, t) {
		if v, ok := snap.ByName[name].Node().Labels[t.TopologyKey]; ok {
			c[topologyPair{t.TopologyKey, v}] += weight * int64(n)
		}
	}
}

// podsMatching counts, per node, the snapshot's pods that t, whose
// namespace selector is resolved, selects.
func podsMatching(snap *framework.Snapshot, t framework.AffinityTerm) framework.PodCounts {
	return snap.PodsMatching(Name+"|"+framework.TermKey(&t), func(p *corev1.Pod) bool { return t.Matches(p, nil) })
}

const filterKey framework.StateKey = Name + "/filter"

// filterState is what Filter needs, counted once per pod: topology domains
// with placed pods whose anti-affinity selects the pod, and with placed
// pods the pod's affinity and anti-affinity terms select.
type filterState struct {
	affinity, antiAffinity []framework.AffinityTerm
	nsLabels               labels.Set
	existingAnti           counts
	affinityCounts         counts
	antiCounts             counts
}

func (s *filterState) Clone() framework.StateData {
	c := *s
	c.existingAnti, c.affinityCounts, c.antiCounts = maps.Clone(s.existingAnti), maps.Clone(s.affinityCounts), maps.Clone(s.antiCounts)
	return &c
}

// namespaceLabels returns the labels of namespace ns (nil when unknown).
func (pl *InterPodAffinity) namespaceLabels(ns string) labels.Set {
	if pl.namespaces == nil {
		return nil
	}
	n, err := pl.namespaces.Get(ns)
	if err != nil {
		return nil
	}
	return n.Labels
}

// resolve returns copies of terms whose namespace selectors are replaced
// by the namespaces they select now, so that matching needs no lookups.
func (pl *InterPodAffinity) resolve(terms []framework.AffinityTerm) []framework.AffinityTerm {
	out := make([]framework.AffinityTerm, len(terms))
	for i, t := range terms {
		out[i] = t
		if t.NamespaceSelector == nil {
			continue
		}
		out[i].Namespaces = t.Namespaces.Clone()
		if pl.namespaces != nil {
			if list, err := pl.namespaces.List(t.NamespaceSelector); err == nil {
				for _, n := range list {
					out[i].Namespaces.Insert(n.Name)
				}
			}
		}
		out[i].NamespaceSelector = nil
	}
	return out
}

// PreFilter counts the domains Filter checks, and skips a pod without
// required terms in a cluster without pods with required anti-affinity.
func (pl *InterPodAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	snap := state.Snapshot()
	pa := framework.NewPodAffinity(pod)
	s := &filterState{nsLabels: pl.namespaceLabels(pod.Namespace), existingAnti: counts{}, affinityCounts: counts{}, antiCounts: counts{}}
	if pa != nil {
		s.affinity, s.antiAffinity = pl.resolve(pa.Required), pl.resolve(pa.RequiredAnti)
	}
	for g := range snap.AffinityTerms() {
		if g.Kind == framework.RequiredAntiAffinity && g.Term.Matches(pod, s.nsLabels) {
			s.existingAnti.addDomains(g.Term.TopologyKey, g.Domains, 1)
		}
	}
	if len(s.existingAnti) == 0 && len(s.affinity) == 0 && len(s.antiAffinity) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	for i := range s.affinity {
		s.affinityCounts.addMatching(snap, s.affinity[i], 1)
	}
	for i := range s.antiAffinity {
		s.antiCounts.addMatching(snap, s.antiAffinity[i], 1)
	}
	state.Write(filterKey, s)
	return nil
}

func (pl *InterPodAffinity) update(state *framework.CycleState, pod *corev1.Pod, pi *framework.PodInfo, node *framework.NodeInfo, delta int64) *framework.Status {
	d, err := state.Read(filterKey)
	if err != nil {
		return nil
	}
	s := d.(*filterState)
	if pi.Affinity != nil {
		s.existingAnti.add(pi.Affinity.RequiredAnti, pod, s.nsLabels, node.Node(), delta)
	}
	s.affinityCounts.add(s.affinity, pi.Pod, nil, node.Node(), delta)
	s.antiCounts.add(s.antiAffinity, pi.Pod, nil, node.Node(), delta)
	return nil
}

// AddPod counts podToAdd as placed on node.
func (pl *InterPodAffinity) AddPod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, podToAdd *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return pl.update(state, pod, podToAdd, node, 1)
}

// RemovePod stops counting podToRemove.
func (pl *InterPodAffinity) RemovePod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, podToRemove *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return pl.update(state, pod, podToRemove, node, -1)
}

// The filter's rejections, shared (framework.Rejection).
var (
	errAffinity             = framework.Rejection(Name, framework.UnschedulableAndUnresolvable, ErrReasonAffinity)
	errAntiAffinity         = framework.Rejection(Name, framework.Unschedulable, ErrReasonAntiAffinity)
	errExistingAntiAffinity = framework.Rejection(Name, framework.Unschedulable, ErrReasonExistingAntiAffinity)
)

// Filter checks, in upstream's order, the pod's affinity (unresolvable:
// evicting pods cannot add the pods it wants), its anti-affinity, and the
// anti-affinity of placed pods.
func (pl *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	d, err := state.Read(filterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*filterState)
	labels := node.Node().Labels
	if !s.affinityFits(pod, labels) {
		return errAffinity
	}
	for _, t := range s.antiAffinity {
		if v, ok := labels[t.TopologyKey]; ok && s.antiCounts[topologyPair{t.TopologyKey, v}] > 0 {
			return errAntiAffinity
		}
	}
	if len(s.existingAnti) > 0 {
		for k, v := range labels {
			if s.existingAnti[topologyPair{k, v}] > 0 {
				return errExistingAntiAffinity
			}
		}
	}
	return nil
}

// affinityFits: the node has every term's topology key, and each term's
// domain holds a pod the term selects; or, when no pod anywhere matches
// any term, the pod matches all its own terms (the first of a group).
func (s *filterState) affinityFits(pod *corev1.Pod, nodeLabels map[string]string) bool {
	if len(s.affinity) == 0 {
		return true
	}
	all := true
	for _, t := range s.affinity {
		v, ok := nodeLabels[t.TopologyKey]
		if !ok {
			return false
		}
		if s.affinityCounts[topologyPair{t.TopologyKey, v}] <= 0 {
			all = false
		}
	}
	if all {
		return true
	}
	if len(s.affinityCounts) > 0 {
		return false
	}
	for _, t := range s.affinity {
		if !t.Matches(pod, s.nsLabels) {
			return false
		}
	}
	return true
}
