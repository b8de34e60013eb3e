package tainteviction

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
)

func TestEvictAfter(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	secs := func(s int64) *int64 { return &s }
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	notReady := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
	tolerate := func(key string, s *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s}
	}
	tests := []struct {
		name        string
		taints      []corev1.Taint
		tolerations []corev1.Toleration
		wait        time.Duration
		evict       bool
	}{
		{"no taints", nil, nil, 0, false},
		{"untolerated", []corev1.Taint{unreachable}, nil, 0, true},
		{"one of two untolerated", []corev1.Taint{unreachable, notReady}, []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, nil)}, 0, true},
		{"tolerated forever", []corev1.Taint{unreachable}, []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, nil)}, 0, false},
		{"tolerated for a while", []corev1.Taint{unreachable}, []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, secs(300))}, 300 * time.Second, true},
		{"least of the used", []corev1.Taint{unreachable, notReady},
			[]corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, secs(300)), tolerate(corev1.TaintNodeNotReady, secs(20))}, 20 * time.Second, true},
		{"first match wins", []corev1.Taint{unreachable},
			[]corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, secs(30)), tolerate(corev1.TaintNodeUnreachable, nil)}, 30 * time.Second, true},
		{"wildcard toleration", []corev1.Taint{unreachable, notReady}, []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, 0, false},
		{"negative seconds", []corev1.Taint{unreachable}, []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, secs(-5))}, 0, true},
		{"NoSchedule toleration does not count", []corev1.Taint{unreachable},
			[]corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, evict := evictAfter(logger, tt.taints, tt.tolerations)
			if wait != tt.wait || evict != tt.evict {
				t.Errorf("evictAfter = %v, %v; want %v, %v", wait, evict, tt.wait, tt.evict)
			}
		})
	}
}
