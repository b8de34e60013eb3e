package framework

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// PodInfo is a pod with what the scheduler derives from it once: its
// requests and its pod affinity terms.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests is PodRequests(Pod); NonZero is PodNonZeroRequests(Pod).
	Requests, NonZero Resource
	// Affinity holds the pod's parsed (anti-)affinity terms; nil when the pod
	// has none.
	Affinity *PodAffinity
}

// NewPodInfo derives a PodInfo from pod.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	return &PodInfo{
		Pod:      pod,
		Requests: PodRequests(pod),
		NonZero:  PodNonZeroRequests(pod),
		Affinity: NewPodAffinity(pod),
	}
}

// NodeInfo is a node with the pods assigned to it (bound or assumed) and
// their totals. The scheduler's cache owns NodeInfos; plugins get clones
// from a snapshot and must not change them.
type NodeInfo struct {
	node *corev1.Node
	// Pods are the pods assigned to the node.
	Pods []*PodInfo
	// PodsWithAffinity are the Pods that have any pod affinity or
	// anti-affinity; PodsWithRequiredAntiAffinity those with required
	// anti-affinity.
	PodsWithAffinity, PodsWithRequiredAntiAffinity []*PodInfo
	// Requested sums the Pods' requests; NonZeroRequested their non-zero
	// requests; Allocatable is the node's allocatable.
	Requested, NonZeroRequested, Allocatable Resource
	// UsedPorts are the host ports the Pods use.
	UsedPorts HostPorts
	// Images are the sizes of the node's images by normalized name
	// (NormalizeImageName). The map is replaced, never changed in place.
	Images map[string]int64
	// Generation increases with every change; a snapshot uses it to copy
	// only the nodes that changed.
	Generation int64
}

// NewNodeInfo returns a NodeInfo for node with no pods.
func NewNodeInfo(node *corev1.Node) *NodeInfo {
	n := &NodeInfo{}
	n.SetNode(node)
	return n
}

// Node is the node; nil when the cache knows pods for a node it has not seen.
func (n *NodeInfo) Node() *corev1.Node { return n.node }

// SetNode sets the node and its allocatable.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.node = node
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.Images = map[string]int64{}
	for _, image := range node.Status.Images {
		for _, name := range image.Names {
			n.Images[NormalizeImageName(name)] = image.SizeBytes
		}
	}
}

// AddPod counts pi as assigned to the node.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if pi.Affinity != nil {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
		if len(pi.Affinity.RequiredAnti) > 0 {
			n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
		}
	}
	n.Requested.AddResource(pi.Requests, 1)
	n.NonZeroRequested.AddResource(pi.NonZero, 1)
	n.updatePorts(pi.Pod, true)
}

// RemovePod removes the pod with pod's UID and reports whether it was there.
func (n *NodeInfo) RemovePod(pod *corev1.Pod) bool {
	i := indexOf(n.Pods, pod)
	if i < 0 {
		return false
	}
	pi := n.Pods[i]
	n.Pods = removeAt(n.Pods, i)
	if j := indexOf(n.PodsWithAffinity, pod); j >= 0 {
		n.PodsWithAffinity = removeAt(n.PodsWithAffinity, j)
	}
	if j := indexOf(n.PodsWithRequiredAntiAffinity, pod); j >= 0 {
		n.PodsWithRequiredAntiAffinity = removeAt(n.PodsWithRequiredAntiAffinity, j)
	}
	n.Requested.AddResource(pi.Requests, -1)
	n.NonZeroRequested.AddResource(pi.NonZero, -1)
	n.updatePorts(pi.Pod, false)
	return true
}

func indexOf(pods []*PodInfo, pod *corev1.Pod) int {
	for i, p := range pods {
		if p.Pod.UID == pod.UID {
			return i
		}
	}
	return -1
}

// removeAt removes element i without changing the backing array of a
// slice that a clone may share.
func removeAt(pods []*PodInfo, i int) []*PodInfo {
	out := make([]*PodInfo, 0, len(pods)-1)
	out = append(out, pods[:i]...)
	return append(out, pods[i+1:]...)
}

func (n *NodeInfo) updatePorts(pod *corev1.Pod, add bool) {
	for _, p := range HostPortsOf(pod) {
		if add {
			if n.UsedPorts == nil {
				n.UsedPorts = HostPorts{}
			}
			n.UsedPorts.Add(p.HostIP, p.Protocol, p.HostPort)
		} else {
			n.UsedPorts.Remove(p.HostIP, p.Protocol, p.HostPort)
		}
	}
}

// Clone returns a copy that changes to either side do not affect. The
// PodInfos themselves are shared: they are never changed once made.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		node:                         n.node,
		Pods:                         n.Pods[:len(n.Pods):len(n.Pods)],
		PodsWithAffinity:             n.PodsWithAffinity[:len(n.PodsWithAffinity):len(n.PodsWithAffinity)],
		PodsWithRequiredAntiAffinity: n.PodsWithRequiredAntiAffinity[:len(n.PodsWithRequiredAntiAffinity):len(n.PodsWithRequiredAntiAffinity)],
		Requested:                    n.Requested.Clone(),
		NonZeroRequested:             n.NonZeroRequested.Clone(),
		Allocatable:                  n.Allocatable.Clone(),
		UsedPorts:                    n.UsedPorts.Clone(),
		Images:                       n.Images,
		Generation:                   n.Generation,
	}
	return c
}

// NormalizeImageName adds the ":latest" tag to an image name without a tag
// or digest, so that pod and node spellings of one image compare equal.
func NormalizeImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		name += ":latest"
	}
	return name
}
