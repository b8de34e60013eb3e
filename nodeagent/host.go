package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// nodeIndex indexes pods by the node they are bound to.
const nodeIndex = "spec.nodeName"

// Host runs many agents in one process, as simulated nodes do: one watch of
// every bound pod feeds all of them, dispatched by node name, instead of one
// watch per node.
type Host struct {
	client kubernetes.Interface
	agents map[string]*Agent
	order  []*Agent
}

// NewHost builds the agents of cfgs, which must name distinct nodes; their
// Pods field is the host's to set.
func NewHost(client kubernetes.Interface, cfgs []Config) (*Host, error) {
	h := &Host{client: client, agents: make(map[string]*Agent, len(cfgs))}
	for _, cfg := range cfgs {
		if _, dup := h.agents[cfg.Node.Name]; dup {
			return nil, fmt.Errorf("node %s twice", cfg.Node.Name)
		}
		cfg.Pods = podsPlaceholder{}
		a, err := New(cfg)
		if err != nil {
			return nil, err
		}
		h.agents[cfg.Node.Name] = a
		h.order = append(h.order, a)
	}
	return h, nil
}

// Agents returns the host's agents, in the order they were configured.
func (h *Host) Agents() []*Agent { return h.order }

// Run watches the bound pods and runs every agent until ctx ends.
func (h *Host) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	factory := informers.NewSharedInformerFactoryWithOptions(h.client, 0,
		informers.WithTransform(stripManagedFields))
	// Only bound pods; nodes are few enough to watch all of them.
	inf := factory.InformerFor(&corev1.Pod{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return coreinformers.NewFilteredPodInformer(c, metav1.NamespaceAll, resync, cache.Indexers{},
			func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
			})
	})
	if err := inf.AddIndexers(cache.Indexers{nodeIndex: func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}}); err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    h.dispatchPod,
		UpdateFunc: func(_, obj any) { h.dispatchPod(obj) },
		DeleteFunc: h.dispatchPod,
	}); err != nil {
		return err
	}
	nodes := factory.Core().V1().Nodes().Informer()
	if _, err := nodes.AddEventHandler(nodeHandler(func(n *corev1.Node) {
		if a := h.agents[n.Name]; a != nil {
			a.ObserveNode(n)
		}
	})); err != nil {
		return err
	}
	for name, a := range h.agents {
		a.pods = nodePods{indexer: inf.GetIndexer(), node: name}
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("pod cache: %w", context.Cause(ctx))
	}
	logger.Info("Running node agents", "nodes", len(h.order))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, a := range h.order {
		wg.Go(func() {
			if err := a.Run(ctx); err != nil && ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// dispatchPod queues a pod added, changed or deleted for its node's agent.
func (h *Host) dispatchPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	if a := h.agents[pod.Spec.NodeName]; a != nil {
		a.Enqueue(keyOf(pod))
	}
}

// nodePods lists one node's pods from the host's shared cache.
type nodePods struct {
	indexer cache.Indexer
	node    string
}

func (l nodePods) Pods() []*corev1.Pod {
	objs, _ := l.indexer.ByIndex(nodeIndex, l.node)
	pods := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		pods = append(pods, o.(*corev1.Pod))
	}
	return pods
}

func (l nodePods) Pod(key string) (*corev1.Pod, bool) {
	obj, ok, _ := l.indexer.GetByKey(key)
	if !ok {
		return nil, false
	}
	pod := obj.(*corev1.Pod)
	return pod, pod.Spec.NodeName == l.node
}

// podsPlaceholder stands in for the host's lister until Run sets it.
type podsPlaceholder struct{}

func (podsPlaceholder) Pods() []*corev1.Pod            { return nil }
func (podsPlaceholder) Pod(string) (*corev1.Pod, bool) { return nil, false }

// stripManagedFields drops what the agents never read from the objects their
// caches keep: with thousands of nodes in one process it adds up.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
