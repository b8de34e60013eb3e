// Package tainttoleration is the TaintToleration plugin. As a filter it
// rejects a node with a NoSchedule or NoExecute taint the pod does not
// tolerate; as a score it prefers nodes with fewer PreferNoSchedule taints
// the pod does not tolerate.
//
// As upstream's, the plugin looks at taints only, never at a node's
// conditions: the node lifecycle controller turns conditions into taints
// (a NotReady node gets node.kubernetes.io/not-ready:NoSchedule).
package tainttoleration

import (
	"context"

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

// errUntolerated is the filter's rejection, shared (framework.Rejection).
var errUntolerated = framework.Rejection(Name, framework.UnschedulableAndUnresolvable, ErrReason)

// Filter rejects a node with a NoSchedule or NoExecute taint that the pod
// does not tolerate.
func (*TaintToleration) Filter(ctx context.Context, _ *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	logger := klog.FromContext(ctx)
	taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Node().Spec.Taints, pod.Spec.Tolerations, doNotSchedule, false)
	if !untolerated {
		return nil
	}
	logger.V(5).Info("Node had untolerated taint", "node", klog.KObj(node.Node()), "pod", klog.KObj(pod), "taint", taint.ToString())
	return errUntolerated
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
