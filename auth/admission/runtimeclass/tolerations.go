package runtimeclass

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// mergeTolerations returns the pod's tolerations followed by the class's,
// without those another toleration of either list already covers. Of two
// equal tolerations the first is kept.
func mergeTolerations(pod, class []corev1.Toleration) []corev1.Toleration {
	all := make([]corev1.Toleration, 0, len(pod)+len(class))
	all = append(append(all, pod...), class...)
	var merged []corev1.Toleration
	for i, t := range all {
		if !redundant(t, merged, all[i+1:]) {
			merged = append(merged, t)
		}
	}
	return merged
}

// redundant reports whether t is covered by a toleration already kept, or
// by a different later one that will be.
func redundant(t corev1.Toleration, kept, later []corev1.Toleration) bool {
	for _, k := range kept {
		if covers(k, t) {
			return true
		}
	}
	for _, l := range later {
		if !apiequality.Semantic.DeepEqual(l, t) && covers(l, t) {
			return true
		}
	}
	return false
}

// covers reports whether every taint t tolerates, wide tolerates too, and
// for no shorter a time.
func covers(wide, t corev1.Toleration) bool {
	if apiequality.Semantic.DeepEqual(wide, t) {
		return true
	}
	anyKey := wide.Key == "" && wide.Operator == corev1.TolerationOpExists
	if t.Key != wide.Key && !anyKey {
		return false
	}
	if wide.Effect != "" && t.Effect != wide.Effect {
		return false
	}
	if wide.Effect == corev1.TaintEffectNoExecute && wide.TolerationSeconds != nil {
		if t.TolerationSeconds == nil || *t.TolerationSeconds > *wide.TolerationSeconds {
			return false
		}
	}
	switch wide.Operator {
	case corev1.TolerationOpEqual, "":
		return t.Operator == corev1.TolerationOpEqual && t.Value == wide.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}
