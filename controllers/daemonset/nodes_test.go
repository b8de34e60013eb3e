package daemonset

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"
)

func TestPlacement(t *testing.T) {
	node := func(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	noSchedule := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	noExecute := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoExecute}
	for _, tc := range []struct {
		name      string
		spec      corev1.PodSpec
		node      *corev1.Node
		run, stay bool
	}{
		{"plain node", corev1.PodSpec{}, node("a", nil), true, true},
		{"nodeName elsewhere", corev1.PodSpec{NodeName: "b"}, node("a", nil), false, false},
		{"node selector matches", corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}}, node("a", map[string]string{"disk": "ssd"}), true, true},
		{"node selector misses", corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}}, node("a", nil), false, false},
		{"NoSchedule taint: no new pod, the old one stays", corev1.PodSpec{}, node("a", nil, noSchedule), false, true},
		{"NoExecute taint: evicted", corev1.PodSpec{}, node("a", nil, noExecute), false, false},
		{"tolerated taint", corev1.PodSpec{Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}},
			node("a", nil, noSchedule, noExecute), true, true},
		{"daemon tolerations: not ready, unschedulable, pressure", corev1.PodSpec{}, node("a", nil,
			corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute},
			corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule}), true, true},
		{"network unavailable: only host network pods", corev1.PodSpec{}, node("a", nil,
			corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), false, true},
		{"network unavailable, host network", corev1.PodSpec{HostNetwork: true}, node("a", nil,
			corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, _ := ktesting.NewTestContext(t)
			ds := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: tc.spec}}}
			run, stay := newPlacement(ds, logger).on(tc.node)
			if run != tc.run || stay != tc.stay {
				t.Errorf("on(%s) = run %v stay %v, want %v %v", tc.node.Name, run, stay, tc.run, tc.stay)
			}
		})
	}
}

func TestPinTo(t *testing.T) {
	spec := corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
			{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}},
		}},
	}}}
	pinTo(&spec, "n1")
	p := &corev1.Pod{Spec: spec}
	if node, err := targetNode(p); err != nil || node != "n1" {
		t.Errorf("targetNode = %q, %v; want n1", node, err)
	}
	if terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; len(terms) != 1 || len(terms[0].MatchExpressions) != 0 {
		t.Errorf("terms %+v, want only the node name", terms)
	}
}
