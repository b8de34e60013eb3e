package scheduler

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// nodeCache is the scheduler's view of the cluster: every node, and every pod
// assigned to a node, whether the API server says so (bound) or only the
// scheduler does (assumed: placed in a cycle, binding under way). Counting
// assumed pods at once is what lets the next cycle see the room they take.
//
// Informer handlers and binding goroutines change the cache; the
// scheduling loop reads it through snapshot, which copies only the nodes
// that changed since the last call.
type nodeCache struct {
	mu    sync.Mutex
	nodes map[string]*framework.NodeInfo
	pods  map[types.UID]*podState
	gen   int64
	// dirty names the nodes changed since the last snapshot; imagesChanged
	// says whether any node's image list changed.
	dirty         map[string]bool
	imagesChanged bool
	snap          *framework.Snapshot
	// position is each node's index in snap.Nodes.
	position map[string]int
}

type podState struct {
	pod     *corev1.Pod
	assumed bool
}

func newNodeCache() *nodeCache {
	return &nodeCache{
		nodes:    map[string]*framework.NodeInfo{},
		pods:     map[types.UID]*podState{},
		dirty:    map[string]bool{},
		snap:     framework.NewSnapshot(),
		position: map[string]int{},
	}
}

// nodeInfo returns name's entry, making one without a node if needed
// (pods may be seen before their node).
func (c *nodeCache) nodeInfo(name string) *framework.NodeInfo {
	n, ok := c.nodes[name]
	if !ok {
		n = &framework.NodeInfo{}
		c.nodes[name] = n
	}
	return n
}

func (c *nodeCache) touch(name string) {
	c.gen++
	c.nodes[name].Generation = c.gen
	c.dirty[name] = true
}

// setNode adds or updates node.
func (c *nodeCache) setNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeInfo(node.Name)
	old := n.Node()
	n.SetNode(node)
	if old == nil || !slices.EqualFunc(old.Status.Images, node.Status.Images, func(a, b corev1.ContainerImage) bool {
		return a.SizeBytes == b.SizeBytes && slices.Equal(a.Names, b.Names)
	}) {
		c.imagesChanged = true
	}
	c.touch(node.Name)
}

// removeNode forgets node. Its pods stay counted until they go, as they
// may still be running.
func (c *nodeCache) removeNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	if len(n.Pods) == 0 {
		delete(c.nodes, node.Name)
		c.dirty[node.Name] = true
	} else {
		*n = framework.NodeInfo{Pods: n.Pods, PodsWithAffinity: n.PodsWithAffinity,
			PodsWithRequiredAntiAffinity: n.PodsWithRequiredAntiAffinity, Requested: n.Requested,
			NonZeroRequested: n.NonZeroRequested, UsedPorts: n.UsedPorts}
		c.touch(node.Name)
	}
	c.imagesChanged = true
}

func (c *nodeCache) addPodLocked(pod *corev1.Pod, assumed bool) {
	c.pods[pod.UID] = &podState{pod: pod, assumed: assumed}
	c.nodeInfo(pod.Spec.NodeName).AddPod(framework.NewPodInfo(pod))
	c.touch(pod.Spec.NodeName)
}

func (c *nodeCache) removePodLocked(uid types.UID) {
	ps, ok := c.pods[uid]
	if !ok {
		return
	}
	delete(c.pods, uid)
	name := ps.pod.Spec.NodeName
	n, ok := c.nodes[name]
	if !ok {
		return
	}
	n.RemovePod(ps.pod)
	if n.Node() == nil && len(n.Pods) == 0 {
		delete(c.nodes, name)
		c.dirty[name] = true
		return
	}
	c.touch(name)
}

// assume counts pod, whose spec.nodeName the scheduler has just set, on
// its node before the API server knows.
func (c *nodeCache) assume(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removePodLocked(pod.UID)
	c.addPodLocked(pod, true)
}

// forget undoes assume after a failed binding.
func (c *nodeCache) forget(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.removePodLocked(pod.UID)
	}
}

// setPod records an assigned pod the informer reports (added or updated),
// confirming an assumed one. Its node is recounted, as a bound pod may have
// changed labels or (resized) requests.
func (c *nodeCache) setPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removePodLocked(pod.UID)
	c.addPodLocked(pod, false)
}

// removePod forgets a pod that was deleted or finished.
func (c *nodeCache) removePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removePodLocked(pod.UID)
}

// isAssumed reports whether the pod with uid is assumed and not yet seen
// bound.
func (c *nodeCache) isAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

// snapshot brings the scheduler's snapshot up to date and returns it. Only
// the scheduling loop may call it, and the snapshot is valid until its
// next call.
func (c *nodeCache) snapshot() *framework.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.snap
	if len(c.dirty) == 0 && !c.imagesChanged {
		return s
	}
	membership, reindex := false, false
	for name := range c.dirty {
		n, ok := c.nodes[name]
		old, had := s.ByName[name]
		if had && len(old.PodsWithAffinity) > 0 {
			reindex = true
		}
		switch {
		case ok && n.Node() != nil:
			clone := n.Clone()
			s.ByName[name] = clone
			s.NodeChanged(old, clone)
			membership = membership || !had
			reindex = reindex || len(clone.PodsWithAffinity) > 0
		case had:
			delete(s.ByName, name)
			s.NodeChanged(old, nil)
			membership = true
		}
	}
	if membership {
		s.Nodes = s.Nodes[:0]
		for _, n := range s.ByName {
			s.Nodes = append(s.Nodes, n)
		}
		slices.SortFunc(s.Nodes, func(a, b *framework.NodeInfo) int {
			return strings.Compare(a.Node().Name, b.Node().Name)
		})
		clear(c.position)
		for i, n := range s.Nodes {
			c.position[n.Node().Name] = i
		}
	} else {
		for name := range c.dirty {
			if i, ok := c.position[name]; ok {
				s.Nodes[i] = s.ByName[name]
			}
		}
	}
	if c.imagesChanged {
		s.ImageNodes = map[string]int{}
		for _, n := range s.Nodes {
			for image := range n.Images {
				s.ImageNodes[image]++
			}
		}
	}
	if membership || reindex {
		s.Index()
	}
	clear(c.dirty)
	c.imagesChanged = false
	return s
}
