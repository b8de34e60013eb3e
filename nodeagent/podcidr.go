package nodeagent

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// networkReady is the Ready condition's input for a runtime with a pod
// network: not ready until the network has the node's pod CIDRs.
func networkReady(rt runtime.Runtime) []func(context.Context) error {
	pn, ok := rt.(runtime.PodNetwork)
	if !ok {
		return nil
	}
	return []func(context.Context) error{func(context.Context) error {
		if err := pn.NetworkReady(); err != nil {
			return fmt.Errorf("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:%w", err)
		}
		return nil
	}}
}

// takePodCIDRs gives the runtime's pod network the Node's pod CIDRs when
// they are new to it, then queues every pod: those whose sandbox waited for
// the network start now.
func (a *Agent) takePodCIDRs(node *corev1.Node) {
	pn, ok := a.rt.(runtime.PodNetwork)
	if !ok || node == nil || node.Name != a.cfg.Node.Name || len(node.Spec.PodCIDRs) == 0 {
		return
	}
	a.mu.Lock()
	same := slices.Equal(a.podCIDRs, node.Spec.PodCIDRs)
	a.mu.Unlock()
	if same {
		return
	}
	if err := pn.SetPodCIDRs(node.Spec.PodCIDRs); err != nil {
		klog.Background().Error(err, "Set the pod network's pod CIDRs", "node", klog.KObj(node), "podCIDRs", node.Spec.PodCIDRs)
		return
	}
	klog.Background().V(2).Info("Pod network takes the node's pod CIDRs", "node", klog.KObj(node), "podCIDRs", node.Spec.PodCIDRs)
	a.mu.Lock()
	a.podCIDRs = slices.Clone(node.Spec.PodCIDRs)
	a.mu.Unlock()
	if a.started.Load() {
		for _, pod := range a.pods.Pods() {
			a.queue.Add(pod.key)
		}
	}
}
