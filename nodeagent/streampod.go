package nodeagent

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// StreamPod returns the pod namespace/name bound to the agent's node and
// the runtime that runs it: what the node's endpoint (package stream)
// serves logs, exec, attach and port-forward of. ok is false before the
// agent runs and for pods of other nodes.
func (a *Agent) StreamPod(namespace, name string) (_ *corev1.Pod, _ runtime.Runtime, ok bool) {
	if !a.started.Load() {
		return nil, nil, false
	}
	pod, ok := a.pods.Pod(namespace + "/" + name)
	if !ok {
		return nil, nil, false
	}
	return pod, a.rt, true
}

// StreamPod returns the pod namespace/name bound to one of the host's nodes
// and the runtime of that node.
func (h *Host) StreamPod(namespace, name string) (*corev1.Pod, runtime.Runtime, bool) {
	idx, _ := h.index.Load().(cache.Indexer)
	if idx == nil {
		return nil, nil, false
	}
	obj, ok, _ := idx.GetByKey(namespace + "/" + name)
	if !ok {
		return nil, nil, false
	}
	a := h.agents[obj.(*packedPod).node]
	if a == nil {
		return nil, nil, false
	}
	return a.StreamPod(namespace, name)
}
