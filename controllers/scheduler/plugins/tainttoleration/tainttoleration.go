// Package tainttoleration is the TaintToleration plugin. As a filter it
// rejects a node with a NoSchedule or NoExecute taint the pod does not
// tolerate; as a score it prefers nodes with fewer PreferNoSchedule taints
// the pod does not tolerate.
//
// Upstream's scheduler looks at taints only, never at a node's conditions:
// its node lifecycle controller turns conditions into taints (a NotReady
// node gets node.kubernetes.io/not-ready:NoSchedule). Until kubelite has
// that controller, the filter counts those condition taints itself when
// the node lacks them (Taints), so that a NotReady node takes only the
// pods that tolerate being not ready, as upstream's would; once the
// controller adds the taints, this adds nothing.
package tainttoleration

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "TaintToleration"

// ErrReason is upstream's reason for a node with an untolerated taint. It
// names no taint, so that one reason counts every such node.
const ErrReason = "node(s) had untolerated taint(s)"

// TaintToleration is the plugin.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin    = (*TaintToleration)(nil)
	_ framework.PreScorePlugin  = (*TaintToleration)(nil)
	_ framework.ScorePlugin     = (*TaintToleration)(nil)
	_ framework.ScoreNormalizer = (*TaintToleration)(nil)
)

// New returns the plugin.
func New() *TaintToleration { return &TaintToleration{} }

// Name returns Name.
func (*TaintToleration) Name() string { return Name }

func doNotSchedule(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

// Filter rejects a node with a NoSchedule or NoExecute taint that the pod
// does not tolerate.
func (*TaintToleration) Filter(ctx context.Context, _ *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	logger := klog.FromContext(ctx)
	taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logger, Taints(node.Node()), pod.Spec.Tolerations, doNotSchedule, false)
	if !untolerated {
		return nil
	}
	logger.V(5).Info("Node had untolerated taint", "node", klog.KObj(node.Node()), "pod", klog.KObj(pod), "taint", taint.ToString())
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
}

const stateKey framework.StateKey = Name

type preferTolerations []corev1.Toleration

func (p preferTolerations) Clone() framework.StateData { return p }

// PreScore keeps the pod's tolerations that can tolerate a
// PreferNoSchedule taint (those with that effect or none).
func (*TaintToleration) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	var tols preferTolerations
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(stateKey, tols)
	return nil
}

// Score counts the node's PreferNoSchedule taints the pod does not
// tolerate; NormalizeScore turns more into worse.
func (*TaintToleration) Score(ctx context.Context, state *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(stateKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	tols := d.(preferTolerations)
	logger := klog.FromContext(ctx)
	var n int64
	for i := range node.Node().Spec.Taints {
		taint := &node.Node().Spec.Taints[i]
		if taint.Effect == corev1.TaintEffectPreferNoSchedule && !corev1helpers.TolerationsTolerateTaint(logger, tols, taint, false) {
			n++
		}
	}
	return n, nil
}

// NormalizeScore gives the node with the most untolerated
// PreferNoSchedule taints 0 and a node with none MaxNodeScore.
func (*TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	framework.NormalizeScores(scores, true)
	return nil
}

// Taints returns node's taints plus the NoSchedule taints upstream's node
// lifecycle controller gives a node for its conditions, where missing:
// not-ready (Ready False), unreachable (Ready Unknown), memory-pressure,
// disk-pressure, pid-pressure and network-unavailable (each True). A node
// that reports no condition gets none.
func Taints(node *corev1.Node) []corev1.Taint {
	taints := node.Spec.Taints
	var added []corev1.Taint
	for _, c := range node.Status.Conditions {
		key := conditionTaint(c)
		if key == "" || slices.ContainsFunc(taints, func(t corev1.Taint) bool { return t.Key == key }) {
			continue
		}
		added = append(added, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
	}
	if len(added) == 0 {
		return taints
	}
	return append(slices.Clip(taints), added...)
}

func conditionTaint(c corev1.NodeCondition) string {
	switch {
	case c.Type == corev1.NodeReady && c.Status == corev1.ConditionFalse:
		return corev1.TaintNodeNotReady
	case c.Type == corev1.NodeReady && c.Status == corev1.ConditionUnknown:
		return corev1.TaintNodeUnreachable
	case c.Status != corev1.ConditionTrue:
		return ""
	case c.Type == corev1.NodeMemoryPressure:
		return corev1.TaintNodeMemoryPressure
	case c.Type == corev1.NodeDiskPressure:
		return corev1.TaintNodeDiskPressure
	case c.Type == corev1.NodePIDPressure:
		return corev1.TaintNodePIDPressure
	case c.Type == corev1.NodeNetworkUnavailable:
		return corev1.TaintNodeNetworkUnavailable
	}
	return ""
}
