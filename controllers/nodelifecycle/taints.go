package nodelifecycle

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conditionTaints maps a node condition and its status to the key of the
// NoSchedule taint the node carries for it.
var conditionTaints = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady: {
		corev1.ConditionFalse:   corev1.TaintNodeNotReady,
		corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
	},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
}

// managed reports whether the controller owns taint: a NoSchedule taint
// with a condition or the unschedulable key, or a NoExecute not-ready or
// unreachable taint. It leaves every other taint alone.
func managed(t corev1.Taint) bool {
	switch t.Effect {
	case corev1.TaintEffectNoSchedule:
		switch t.Key {
		case corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable, corev1.TaintNodeMemoryPressure,
			corev1.TaintNodeDiskPressure, corev1.TaintNodePIDPressure, corev1.TaintNodeNetworkUnavailable,
			corev1.TaintNodeUnschedulable:
			return true
		}
	case corev1.TaintEffectNoExecute:
		return t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable
	}
	return false
}

// noScheduleTaints returns the NoSchedule taints node's conditions and
// spec.unschedulable call for.
func noScheduleTaints(node *corev1.Node) []corev1.Taint {
	var taints []corev1.Taint
	for _, c := range node.Status.Conditions {
		if key, ok := conditionTaints[c.Type][c.Status]; ok {
			taints = append(taints, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		taints = append(taints, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	return taints
}

// noExecuteKey returns the key of the NoExecute taint for a node whose Ready
// condition has status ready: not-ready for False, unreachable for Unknown,
// none for True or for a node that has no Ready condition yet.
func noExecuteKey(ready corev1.ConditionStatus) string {
	switch ready {
	case corev1.ConditionFalse:
		return corev1.TaintNodeNotReady
	case corev1.ConditionUnknown:
		return corev1.TaintNodeUnreachable
	}
	return ""
}

// desiredTaints returns node's taints with the managed ones replaced by
// want. A wanted taint the node already has keeps its timeAdded; a new
// NoExecute one gets now. The node's own order is kept; new taints go last.
// changed is false when the result is the node's taints as they are.
func desiredTaints(node *corev1.Node, want []corev1.Taint, now time.Time) (taints []corev1.Taint, changed bool) {
	for _, t := range node.Spec.Taints {
		if managed(t) && !hasTaint(want, t.Key, t.Effect) {
			changed = true
			continue
		}
		taints = append(taints, t)
	}
	for _, w := range want {
		if hasTaint(taints, w.Key, w.Effect) {
			continue
		}
		if w.Effect == corev1.TaintEffectNoExecute {
			added := metav1.NewTime(now)
			w.TimeAdded = &added
		}
		taints = append(taints, w)
		changed = true
	}
	return taints, changed
}

// hasTaint reports whether taints has one with key and effect.
func hasTaint(taints []corev1.Taint, key string, effect corev1.TaintEffect) bool {
	return slices.ContainsFunc(taints, func(t corev1.Taint) bool { return t.Key == key && t.Effect == effect })
}
