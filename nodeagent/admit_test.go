package nodeagent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAdmit(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"disk": "ssd", corev1.LabelOSStable: "linux"}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoExecute}}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourcePods: resource.MustParse("3"),
		}},
	}
	tolerate := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	pod := func(name, cpu string, mutate ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: "uid-" + "name"},
			Spec:       corev1.PodSpec{NodeName: "n1", Tolerations: tolerate, Containers: []corev1.Container{{Name: "c"}}},
		}
		if cpu != "" {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
		}
		for _, m := range mutate {
			m(p)
		}
		return p
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		admitted []*corev1.Pod
		reason   string
		message  string
	}{
		{name: "fits", pod: pod("a", "1"), admitted: []*corev1.Pod{pod("b", "1")}},
		{name: "out of cpu", pod: pod("a", "1500m"), admitted: []*corev1.Pod{pod("b", "1")},
			reason: "OutOfcpu", message: "Node didn't have enough resource: cpu, requested: 1500, used: 1000, capacity: 2000"},
		{name: "init container counts", pod: pod("a", "100m", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}}}}
		}), reason: "OutOfcpu", message: "Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000"},
		{name: "out of pods", pod: pod("a", ""), admitted: []*corev1.Pod{pod("b", ""), pod("c", ""), pod("d", "")},
			reason: "OutOfpods", message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"},
		{name: "selector mismatch", pod: pod("a", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "hdd"} }),
			reason: "NodeAffinity", message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"},
		{name: "selector match", pod: pod("a", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} })},
		{name: "untolerated NoExecute taint", pod: pod("a", "", func(p *corev1.Pod) { p.Spec.Tolerations = nil }),
			reason: "TaintToleration", message: "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"},
		{name: "host port taken", pod: pod("a", "", func(p *corev1.Pod) { p.Spec.Containers[0].Ports = []corev1.ContainerPort{{HostPort: 80}} }),
			admitted: []*corev1.Pod{pod("b", "", func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{HostPort: 80, HostIP: "10.0.0.1", Protocol: corev1.ProtocolTCP}}
			})},
			reason: "NodePorts", message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"},
		{name: "host port other protocol", pod: pod("a", "", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{HostPort: 80, Protocol: corev1.ProtocolUDP}}
		}), admitted: []*corev1.Pod{pod("b", "", func(p *corev1.Pod) { p.Spec.Containers[0].Ports = []corev1.ContainerPort{{HostPort: 80}} })}},
		{name: "unknown extended resource ignored", pod: pod("a", "", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var admitted []podUsage
			for _, p := range tt.admitted {
				admitted = append(admitted, usageOf(p))
			}
			r := admit(tt.pod, node, admitted)
			switch {
			case tt.reason == "" && r != nil:
				t.Fatalf("rejected: %+v", r)
			case tt.reason != "" && r == nil:
				t.Fatalf("admitted, want %s", tt.reason)
			case r != nil && (r.Reason != tt.reason || r.Message != tt.message):
				t.Fatalf("got %q %q\nwant %q %q", r.Reason, r.Message, tt.reason, tt.message)
			}
		})
	}
}
