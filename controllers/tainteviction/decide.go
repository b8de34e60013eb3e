package tainteviction

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// noExecute returns the NoExecute taints of taints.
func noExecute(taints []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// evictAfter decides the fate of a pod with tolerations on a node with the
// NoExecute taints: how long the pod may stay, and whether it must go at
// all. Each taint is matched by the first toleration that tolerates it, as
// upstream; a taint nothing tolerates means at once (0, true); otherwise
// the pod may stay for the least tolerationSeconds among the matching
// tolerations (0 or less: at once), or forever (false) if none sets it.
func evictAfter(logger klog.Logger, taints []corev1.Taint, tolerations []corev1.Toleration) (time.Duration, bool) {
	if len(taints) == 0 {
		return 0, false
	}
	least, limited := int64(0), false
	for i := range taints {
		var used *corev1.Toleration
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(logger, &taints[i], false) {
				used = &tolerations[j]
				break
			}
		}
		switch {
		case used == nil:
			return 0, true
		case used.TolerationSeconds == nil:
			continue
		case !limited || *used.TolerationSeconds < least:
			least, limited = *used.TolerationSeconds, true
		}
	}
	if !limited {
		return 0, false
	}
	return time.Duration(max(least, 0)) * time.Second, true
}
