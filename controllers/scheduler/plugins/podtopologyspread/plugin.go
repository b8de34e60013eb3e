// Package podtopologyspread is the PodTopologySpread plugin. As a filter
// it enforces a pod's DoNotSchedule topology spread constraints: placing
// the pod must not make the number of matching pods in its domain exceed
// the emptiest domain's by more than maxSkew. As a score it prefers
// domains with fewer matching pods, for the pod's ScheduleAnyway
// constraints or, for a pod with no constraints at all, upstream's system
// defaults (maxSkew 3 per node, 5 per zone, selecting the pods of the
// same Services, ReplicaSets, StatefulSets and ReplicationControllers).
package podtopologyspread

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "PodTopologySpread"

// Upstream's reasons.
const (
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ErrReasonNodeLabelNotMatch   = ErrReasonConstraintsNotMatch + " (missing required label)"
)

// Listers find the objects whose selectors make up the default spreading
// selector of a pod without constraints. Any may be nil.
type Listers struct {
	Services               corelisters.ServiceLister
	ReplicationControllers corelisters.ReplicationControllerLister
	ReplicaSets            appslisters.ReplicaSetLister
	StatefulSets           appslisters.StatefulSetLister
}

// PodTopologySpread is the plugin.
type PodTopologySpread struct {
	listers Listers
}

var (
	_ framework.PreFilterPlugin   = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin      = (*PodTopologySpread)(nil)
	_ framework.PodChangeObserver = (*PodTopologySpread)(nil)
	_ framework.PreScorePlugin    = (*PodTopologySpread)(nil)
	_ framework.ScorePlugin       = (*PodTopologySpread)(nil)
	_ framework.ScoreNormalizer   = (*PodTopologySpread)(nil)
)

// New returns the plugin.
func New(l Listers) *PodTopologySpread { return &PodTopologySpread{listers: l} }

// Name returns Name.
func (*PodTopologySpread) Name() string { return Name }

// constraint is a parsed topology spread constraint.
type constraint struct {
	maxSkew, minDomains int32
	key                 string
	selector            labels.Selector
	honorAffinity       bool
	honorTaints         bool
}

// constraints parses pod's constraints with action, merging each one's
// matchLabelKeys into its selector.
func constraints(pod *corev1.Pod, list []corev1.TopologySpreadConstraint, action corev1.UnsatisfiableConstraintAction) []constraint {
	var out []constraint
	for _, c := range list {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			sel = labels.Nothing()
		}
		for _, key := range c.MatchLabelKeys {
			if v, ok := pod.Labels[key]; ok {
				if r, err := labels.NewRequirement(key, selection.Equals, []string{v}); err == nil {
					sel = sel.Add(*r)
				}
			}
		}
		tc := constraint{maxSkew: c.MaxSkew, minDomains: 1, key: c.TopologyKey, selector: sel, honorAffinity: true}
		if c.MinDomains != nil {
			tc.minDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil {
			tc.honorAffinity = *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor
		}
		if c.NodeTaintsPolicy != nil {
			tc.honorTaints = *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor
		}
		out = append(out, tc)
	}
	return out
}

// hasKeys reports whether node has every constraint's topology key.
func hasKeys(node *corev1.Node, cs []constraint) bool {
	for _, c := range cs {
		if _, ok := node.Labels[c.key]; !ok {
			return false
		}
	}
	return true
}

// includes reports whether c counts node's pods: the node passes the pod's
// node affinity (unless the policy ignores it) and its taints are
// tolerated (when the policy honours them).
func (c *constraint) includes(ctx context.Context, pod *corev1.Pod, node *corev1.Node, required nodeaffinity.RequiredNodeAffinity) bool {
	if c.honorAffinity {
		if ok, _ := required.Match(node); !ok {
			return false
		}
	}
	if c.honorTaints {
		_, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.FromContext(ctx), node.Spec.Taints, pod.Spec.Tolerations,
			func(t *corev1.Taint) bool {
				return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
			}, false)
		if untolerated {
			return false
		}
	}
	return true
}

// includeAll reports whether every constraint of cs includes every node
// for pod: none honors taints, and none honors a required node affinity,
// or pod has none.
func includeAll(pod *corev1.Pod, cs []constraint) bool {
	a := pod.Spec.Affinity
	hasRequired := len(pod.Spec.NodeSelector) > 0 ||
		a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
	for i := range cs {
		if cs[i].honorTaints || cs[i].honorAffinity && hasRequired {
			return false
		}
	}
	return true
}

// matches reports whether p counts for c, for a pod in namespace ns.
func (c *constraint) matches(p *corev1.Pod, ns string) bool {
	return counts(c.selector, p, ns)
}

// counts reports whether p counts for a constraint with selector sel of a
// pod in namespace ns: a pod of ns, not terminating, that a non-empty sel
// matches.
func counts(sel labels.Selector, p *corev1.Pod, ns string) bool {
	return p.DeletionTimestamp == nil && p.Namespace == ns && !sel.Empty() && sel.Matches(labels.Set(p.Labels))
}

// matching returns, per node, how many pods of the snapshot count for the
// constraint in namespace ns, from the snapshot's index.
func (c *constraint) matching(snap *framework.Snapshot, ns string) framework.PodCounts {
	sel := c.selector
	key := Name + "|" + ns + "|" + framework.SelectorKey(sel)
	return snap.PodsMatching(key, func(p *corev1.Pod) bool { return counts(sel, p, ns) })
}
