package framework

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// MaxNodeScore is the highest score a Score plugin gives a node, after
// normalization.
const MaxNodeScore int64 = 100

// Plugin is what every plugin is: something with a name.
type Plugin interface {
	Name() string
}

// PreFilterPlugin runs once per pod before the filters. It writes what its
// Filter needs to state, rejects the pod for every node, or returns Skip
// when its Filter has nothing to check for this pod.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod) *Status
}

// FilterPlugin decides whether pod may run on node. It must not change
// node, and may be called for many nodes at once.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// PodChangeObserver is implemented by PreFilter plugins whose state counts
// pods across nodes. Preemption calls it to update that state when it
// pretends that pod podToRemove is gone from node, or puts it back.
type PodChangeObserver interface {
	AddPod(ctx context.Context, state *CycleState, pod *corev1.Pod, podToAdd *PodInfo, node *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, pod *corev1.Pod, podToRemove *PodInfo, node *NodeInfo) *Status
}

// PreScorePlugin runs once per pod before its Score, with the nodes that
// passed the filters. Skip means Score is not called for this pod.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks a node that passed the filters. Plugins that do not
// implement ScoreNormalizer must return 0..MaxNodeScore.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) (int64, *Status)
}

// ScoreNormalizer maps a plugin's raw scores for all nodes onto
// 0..MaxNodeScore, in place.
type ScoreNormalizer interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []NodeScore) *Status
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// NormalizeScores scales scores so that the highest becomes MaxNodeScore
// (all stay 0 when the highest is 0); with reverse, each score s then
// becomes MaxNodeScore - s. It is the normalization most plugins use.
func NormalizeScores(scores []NodeScore, reverse bool) {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s.Score)
	}
	if highest == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = MaxNodeScore
			}
		}
		return
	}
	for i := range scores {
		s := scores[i].Score * MaxNodeScore / highest
		if reverse {
			s = MaxNodeScore - s
		}
		scores[i].Score = s
	}
}

// ReservePlugin keeps what it decided for the chosen node, before the
// binding starts: Reserve runs in the scheduling cycle once a node is
// chosen; Unreserve undoes it when Reserve of any plugin, a PreBind or the
// binding fails. Unreserve must be idempotent and may be called without a
// successful Reserve.
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string)
}

// PreBindPlugin prepares the node for the pod before the binding is
// posted (for example, binds the pod's volumes and waits until they are
// bound). It runs outside the scheduling cycle, in the binding's own
// goroutine, and may take long; a failure sends the pod back to the queue.
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
}
