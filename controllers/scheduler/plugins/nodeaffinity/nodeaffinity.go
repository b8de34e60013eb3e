// Package nodeaffinity is the NodeAffinity plugin. As a filter it keeps
// the nodes that match the pod's nodeSelector and its required node
// affinity; as a score it sums the weights of the preferred terms a node
// matches, normalized so that the best node scores MaxNodeScore.
package nodeaffinity

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeAffinity"

// Upstream's reasons: for a node that does not match, and for required
// terms that name nodes but no node in common.
const (
	ErrReason         = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonConflict = "pod affinity terms conflict"
)

// NodeAffinity is the plugin.
type NodeAffinity struct{}

var (
	_ framework.PreFilterPlugin = (*NodeAffinity)(nil)
	_ framework.FilterPlugin    = (*NodeAffinity)(nil)
	_ framework.PreScorePlugin  = (*NodeAffinity)(nil)
	_ framework.ScorePlugin     = (*NodeAffinity)(nil)
	_ framework.ScoreNormalizer = (*NodeAffinity)(nil)
)

// New returns the plugin.
func New() *NodeAffinity { return &NodeAffinity{} }

// Name returns Name.
func (*NodeAffinity) Name() string { return Name }

const (
	filterKey framework.StateKey = Name + "/filter"
	scoreKey  framework.StateKey = Name + "/score"
)

type required struct {
	nodeaffinity.RequiredNodeAffinity
}

func (r *required) Clone() framework.StateData { return r }

type preferred struct {
	*nodeaffinity.PreferredSchedulingTerms
}

func (p *preferred) Clone() framework.StateData { return p }

func requiredAffinity(pod *corev1.Pod) *corev1.NodeSelector {
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		return a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	return nil
}

// PreFilter compiles the pod's nodeSelector and required affinity once,
// and skips the filter for a pod that has neither. When every required
// term names nodes (matchFields metadata.name In, as DaemonSet pods'
// terms do), it restricts the cycle to those nodes.
func (*NodeAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod) *framework.Status {
	req := requiredAffinity(pod)
	if len(pod.Spec.NodeSelector) == 0 && req == nil {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(filterKey, &required{nodeaffinity.GetRequiredNodeAffinity(pod)})
	if req == nil || len(req.NodeSelectorTerms) == 0 {
		return nil
	}
	names, restricted := NamedNodes(req.NodeSelectorTerms)
	switch {
	case !restricted:
	case names.Len() == 0:
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonConflict)
	default:
		state.RestrictNodes(Name, names)
	}
	return nil
}

// NamedNodes returns the nodes that terms name by metadata.name, when
// every term names some (terms are ORed, a term's requirements ANDed);
// restricted is false when a term does not name nodes.
func NamedNodes(terms []corev1.NodeSelectorTerm) (names sets.Set[string], restricted bool) {
	names = sets.New[string]()
	for _, t := range terms {
		var term sets.Set[string]
		for _, r := range t.MatchFields {
			if r.Key != metav1.ObjectNameField || r.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			if term == nil {
				term = sets.New(r.Values...)
			} else {
				term = term.Intersection(sets.New(r.Values...))
			}
		}
		if term == nil {
			return nil, false
		}
		names = names.Union(term)
	}
	return names, true
}

// errNoMatch is the filter's rejection, shared (framework.Rejection).
var errNoMatch = framework.Rejection(Name, framework.UnschedulableAndUnresolvable, ErrReason)

// Filter rejects a node that the pod's nodeSelector or required affinity
// does not match.
func (*NodeAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	var r nodeaffinity.RequiredNodeAffinity
	if d, err := state.Read(filterKey); err == nil {
		r = d.(*required).RequiredNodeAffinity
	} else {
		r = nodeaffinity.GetRequiredNodeAffinity(pod)
	}
	if ok, _ := r.Match(node.Node()); !ok {
		return errNoMatch
	}
	return nil
}

// PreScore compiles the preferred terms, and skips scoring for a pod that
// has none.
func (*NodeAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	terms, err := nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return framework.AsStatus(err)
	}
	state.Write(scoreKey, &preferred{terms})
	return nil
}

// Score sums the weights of the preferred terms node matches.
func (*NodeAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(scoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	return d.(*preferred).Score(node.Node()), nil
}

// NormalizeScore scales the sums so that the highest is MaxNodeScore.
func (*NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	framework.NormalizeScores(scores, false)
	return nil
}
