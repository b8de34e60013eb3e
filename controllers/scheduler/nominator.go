package scheduler

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// nominator remembers the pending pods nominated to a node by preemption
// (status.nominatedNodeName), so that while their victims leave, pods of
// lower priority do not take the room made for them.
type nominator struct {
	mu     sync.Mutex
	byNode map[string][]*framework.PodInfo
	byPod  map[types.UID]string
}

func newNominator() *nominator {
	return &nominator{byNode: map[string][]*framework.PodInfo{}, byPod: map[types.UID]string{}}
}

// set records pod as nominated to node; an empty node removes it.
func (n *nominator) set(pod *corev1.Pod, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.byPod[pod.UID]; ok {
		pods := n.byNode[old]
		for i, pi := range pods {
			if pi.Pod.UID == pod.UID {
				n.byNode[old] = append(pods[:i:i], pods[i+1:]...)
				break
			}
		}
		if len(n.byNode[old]) == 0 {
			delete(n.byNode, old)
		}
		delete(n.byPod, pod.UID)
	}
	if node == "" {
		return
	}
	n.byPod[pod.UID] = node
	n.byNode[node] = append(n.byNode[node], framework.NewPodInfo(pod))
}

// on returns the pods nominated to node; the caller must not change the
// slice.
func (n *nominator) on(node string) []*framework.PodInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byNode[node]
}
