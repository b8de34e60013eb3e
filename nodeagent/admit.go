package nodeagent

import (
	"fmt"
	"net"
	goruntime "runtime"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	schedulinghelper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// rejection says why the agent refuses a pod: Reason is the pod status
// reason ("OutOfcpu", "NodeAffinity", ...), Message what follows "Pod was
// rejected: ".
type rejection struct {
	Reason, Message string
}

// admit decides whether pod may run on node beside the pods already admitted
// there, with the checks and the reasons upstream's kubelet uses: resources
// first (cpu, memory, ephemeral-storage, pod count, extended resources the
// node has), then node affinity and selector, node name, host ports, NoExecute
// taints and the OS. It returns nil when the pod fits.
func admit(pod *corev1.Pod, node *corev1.Node, admitted []podUsage) *rejection {
	if r := fitResources(pod, node, admitted); r != nil {
		return r
	}
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		return predicateFailed("NodeAffinity", "node(s) didn't match Pod's node affinity/selector")
	}
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != node.Name {
		return predicateFailed("NodeName", "node(s) didn't match the requested node name")
	}
	if portsConflict(hostPorts(pod), admitted) {
		return predicateFailed("NodePorts", "node(s) didn't have free ports for the requested pod ports")
	}
	if _, untolerated := schedulinghelper.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations,
		func(t *corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoExecute }, true); untolerated {
		return predicateFailed("TaintToleration", "node(s) had taints that the pod didn't tolerate")
	}
	if pod.Spec.OS != nil && string(pod.Spec.OS.Name) != goruntime.GOOS {
		return &rejection{Reason: "PodOSNotSupported", Message: "Failed to admit pod as the OS field doesn't match node OS"}
	}
	if os, ok := pod.Spec.NodeSelector[corev1.LabelOSStable]; ok && os != goruntime.GOOS {
		return &rejection{Reason: "PodOSSelectorNodeLabelDoesNotMatch", Message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"}
	}
	return nil
}

func predicateFailed(name, desc string) *rejection {
	return &rejection{Reason: name, Message: fmt.Sprintf("Predicate %s failed: %s", name, desc)}
}

// fitResources compares the pod's effective requests (init containers,
// sidecars and overhead counted as upstream) with what the node's allocatable
// leaves after the admitted pods. Extended resources the node does not
// advertise at all are not checked, as upstream.
func fitResources(pod *corev1.Pod, node *corev1.Node, admitted []podUsage) *rejection {
	alloc := node.Status.Allocatable
	if max, ok := alloc[corev1.ResourcePods]; ok && int64(len(admitted))+1 > max.Value() {
		return insufficient(corev1.ResourcePods, 1, int64(len(admitted)), max.Value())
	}
	want := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	if len(want) == 0 {
		return nil
	}
	// In the units of amount.
	used := map[corev1.ResourceName]int64{}
	for _, p := range admitted {
		used[corev1.ResourceCPU] += p.cpuMilli
		used[corev1.ResourceMemory] += p.memory
		used[corev1.ResourceEphemeralStorage] += p.ephemeral
		for name, q := range p.extended {
			used[name] += amount(name, q)
		}
	}
	// Upstream checks these in a fixed order and reports the first.
	order := []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}
	var extended []corev1.ResourceName
	for name := range want {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage {
			extended = append(extended, name)
		}
	}
	slices.Sort(extended)
	order = append(order, extended...)
	for _, name := range order {
		w, ok := want[name]
		if !ok || w.IsZero() {
			continue
		}
		capacity, has := alloc[name]
		if !has && name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage {
			continue
		}
		u := used[name]
		if amount(name, w)+u > amount(name, capacity) {
			return insufficient(name, amount(name, w), u, amount(name, capacity))
		}
	}
	return nil
}

// podUsage is what admission needs of a pod admitted before: its effective
// requests (in the units of amount) and its host ports. It is small, so
// that a host of many nodes can keep it for every pod.
type podUsage struct {
	cpuMilli, memory, ephemeral int64
	// extended are the other resources requested; nil for most pods.
	extended  corev1.ResourceList
	hostPorts []corev1.ContainerPort
}

// usageOf is pod's podUsage.
func usageOf(pod *corev1.Pod) podUsage {
	var u podUsage
	for name, q := range resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}) {
		switch name {
		case corev1.ResourceCPU:
			u.cpuMilli = amount(name, q)
		case corev1.ResourceMemory:
			u.memory = amount(name, q)
		case corev1.ResourceEphemeralStorage:
			u.ephemeral = amount(name, q)
		default:
			if u.extended == nil {
				u.extended = corev1.ResourceList{}
			}
			u.extended[name] = q
		}
	}
	u.hostPorts = hostPorts(pod)
	return u
}

// amount is a quantity in the unit upstream's messages use: millicores for
// cpu, whole units for the rest.
func amount(name corev1.ResourceName, q resource.Quantity) int64 {
	if name == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

func insufficient(name corev1.ResourceName, requested, used, capacity int64) *rejection {
	reason := "OutOf" + string(name)
	return &rejection{Reason: reason, Message: fmt.Sprintf(
		"Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, requested, used, capacity)}
}

// portsConflict reports whether a host port the pod asks for is taken by an
// admitted pod: same protocol and port, and the same host IP or either one
// the wildcard.
func portsConflict(want []corev1.ContainerPort, admitted []podUsage) bool {
	if len(want) == 0 {
		return false
	}
	for _, p := range admitted {
		for _, have := range p.hostPorts {
			for _, w := range want {
				if w.HostPort == have.HostPort && w.Protocol == have.Protocol &&
					(w.HostIP == have.HostIP || isWildcard(w.HostIP) || isWildcard(have.HostIP)) {
					return true
				}
			}
		}
	}
	return false
}

func hostPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	add := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				if p.Protocol == "" {
					p.Protocol = corev1.ProtocolTCP
				}
				ports = append(ports, p)
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return ports
}

func isWildcard(ip string) bool {
	if ip == "" {
		return true
	}
	parsed := net.ParseIP(ip)
	return parsed != nil && parsed.IsUnspecified()
}
