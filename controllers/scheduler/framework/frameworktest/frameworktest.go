// Package frameworktest builds the nodes and pods that scheduler plugin
// tests place, in a line each:
//
//	node := frameworktest.MakeNode("n1").Capacity("cpu", "4", "memory", "8Gi").Label("zone", "a").Obj()
//	pod := frameworktest.MakePod("p").Req("cpu", "1").Obj()
package frameworktest

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// NodeWrapper builds a Node.
type NodeWrapper struct{ n *corev1.Node }

// MakeNode starts a Ready node called name that allows 110 pods.
func MakeNode(name string) *NodeWrapper {
	return &NodeWrapper{n: &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("node-" + name), Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")},
			Capacity:    corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}}
}

// Capacity sets capacity and allocatable from name, quantity pairs.
func (w *NodeWrapper) Capacity(pairs ...string) *NodeWrapper {
	for i := 0; i+1 < len(pairs); i += 2 {
		q := resource.MustParse(pairs[i+1])
		w.n.Status.Allocatable[corev1.ResourceName(pairs[i])] = q
		w.n.Status.Capacity[corev1.ResourceName(pairs[i])] = q
	}
	return w
}

// Label adds a label.
func (w *NodeWrapper) Label(k, v string) *NodeWrapper { w.n.Labels[k] = v; return w }

// Taint adds a taint.
func (w *NodeWrapper) Taint(key, value string, effect corev1.TaintEffect) *NodeWrapper {
	w.n.Spec.Taints = append(w.n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	return w
}

// Unschedulable sets spec.unschedulable.
func (w *NodeWrapper) Unschedulable() *NodeWrapper { w.n.Spec.Unschedulable = true; return w }

// Image lists an image of size bytes on the node.
func (w *NodeWrapper) Image(size int64, names ...string) *NodeWrapper {
	w.n.Status.Images = append(w.n.Status.Images, corev1.ContainerImage{Names: names, SizeBytes: size})
	return w
}

// Obj returns the node.
func (w *NodeWrapper) Obj() *corev1.Node { return w.n }

// PodWrapper builds a Pod.
type PodWrapper struct{ p *corev1.Pod }

// MakePod starts a pod called name in namespace "default" with one
// container, "c", running image "busybox", for the default scheduler (the
// API server's default).
func MakePod(name string) *PodWrapper {
	return &PodWrapper{p: &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("pod-" + name)},
		Spec: corev1.PodSpec{SchedulerName: corev1.DefaultSchedulerName,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}}
}

// Namespace sets the namespace.
func (w *PodWrapper) Namespace(ns string) *PodWrapper { w.p.Namespace = ns; return w }

// Req sets the first container's requests from name, quantity pairs.
func (w *PodWrapper) Req(pairs ...string) *PodWrapper {
	w.p.Spec.Containers[0].Resources.Requests = list(pairs)
	return w
}

// Container adds a container with requests from name, quantity pairs.
func (w *PodWrapper) Container(image string, pairs ...string) *PodWrapper {
	w.p.Spec.Containers = append(w.p.Spec.Containers, corev1.Container{
		Name: "c" + string(rune('0'+len(w.p.Spec.Containers))), Image: image,
		Resources: corev1.ResourceRequirements{Requests: list(pairs)},
	})
	return w
}

// Init adds an init container with requests; sidecar makes it restartable.
func (w *PodWrapper) Init(sidecar bool, pairs ...string) *PodWrapper {
	c := corev1.Container{Name: "i" + string(rune('0'+len(w.p.Spec.InitContainers))), Image: "busybox",
		Resources: corev1.ResourceRequirements{Requests: list(pairs)}}
	if sidecar {
		always := corev1.ContainerRestartPolicyAlways
		c.RestartPolicy = &always
	}
	w.p.Spec.InitContainers = append(w.p.Spec.InitContainers, c)
	return w
}

// Overhead sets the pod overhead.
func (w *PodWrapper) Overhead(pairs ...string) *PodWrapper { w.p.Spec.Overhead = list(pairs); return w }

// Image sets the first container's image.
func (w *PodWrapper) Image(image string) *PodWrapper { w.p.Spec.Containers[0].Image = image; return w }

// Label adds a label.
func (w *PodWrapper) Label(k, v string) *PodWrapper {
	if w.p.Labels == nil {
		w.p.Labels = map[string]string{}
	}
	w.p.Labels[k] = v
	return w
}

// NodeName sets spec.nodeName.
func (w *PodWrapper) NodeName(n string) *PodWrapper { w.p.Spec.NodeName = n; return w }

// NodeSelector adds a nodeSelector entry.
func (w *PodWrapper) NodeSelector(k, v string) *PodWrapper {
	if w.p.Spec.NodeSelector == nil {
		w.p.Spec.NodeSelector = map[string]string{}
	}
	w.p.Spec.NodeSelector[k] = v
	return w
}

// Toleration adds a toleration.
func (w *PodWrapper) Toleration(key string, op corev1.TolerationOperator, value string, effect corev1.TaintEffect) *PodWrapper {
	w.p.Spec.Tolerations = append(w.p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: op, Value: value, Effect: effect})
	return w
}

// HostPort adds a host port to the first container.
func (w *PodWrapper) HostPort(ip string, protocol corev1.Protocol, port int32) *PodWrapper {
	w.p.Spec.Containers[0].Ports = append(w.p.Spec.Containers[0].Ports,
		corev1.ContainerPort{HostIP: ip, Protocol: protocol, HostPort: port, ContainerPort: port})
	return w
}

// Affinity sets the affinity.
func (w *PodWrapper) Affinity(a *corev1.Affinity) *PodWrapper { w.p.Spec.Affinity = a; return w }

// Priority sets the priority.
func (w *PodWrapper) Priority(p int32) *PodWrapper { w.p.Spec.Priority = &p; return w }

// Obj returns the pod.
func (w *PodWrapper) Obj() *corev1.Pod { return w.p }

func list(pairs []string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		l[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return l
}

// NodeInfo returns a NodeInfo for node with pods assigned to it.
func NodeInfo(node *corev1.Node, pods ...*corev1.Pod) *framework.NodeInfo {
	n := framework.NewNodeInfo(node)
	for _, p := range pods {
		n.AddPod(framework.NewPodInfo(p))
	}
	return n
}

// ScoreMap turns scores into a map by node name, for cmp.Diff.
func ScoreMap(scores []framework.NodeScore) map[string]int64 {
	m := make(map[string]int64, len(scores))
	for _, s := range scores {
		m[s.Name] = s.Score
	}
	return m
}
