package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
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
	// queue holds the pods of every agent; workers sync them.
	queue   workqueue.TypedRateLimitingInterface[hostKey]
	workers int
	// index is the shared pod cache's indexer (a cache.Indexer) once Run
	// made it: StreamPod reads it.
	index atomic.Value
}

// Host defaults: how many pods are synced at once, and how many nodes
// register at once (so that thousands of nodes starting together do not
// queue thousands of requests at the API server).
const (
	hostWorkers       = 32
	hostRegistrations = 64
)

// NewHost builds the agents of cfgs, which must name distinct nodes; their
// Pods field is the host's to set.
func NewHost(client kubernetes.Interface, cfgs []Config) (*Host, error) {
	h := &Host{client: client, agents: make(map[string]*Agent, len(cfgs)), workers: hostWorkers}
	h.queue = newPodQueue[hostKey]("host", clock.RealClock{})
	for _, cfg := range cfgs {
		if _, dup := h.agents[cfg.Node.Name]; dup {
			return nil, fmt.Errorf("node %s twice", cfg.Node.Name)
		}
		cfg.Pods = podsPlaceholder{}
		a, err := New(cfg)
		if err != nil {
			return nil, err
		}
		a.queue = sharedQueue{q: h.queue, agent: a}
		h.agents[cfg.Node.Name] = a
		h.order = append(h.order, a)
	}
	return h, nil
}

// Run watches the bound pods and runs every agent until ctx ends.
func (h *Host) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	factory := informers.NewSharedInformerFactoryWithOptions(h.client, 0,
		informers.WithTransform(stripManagedFields))
	// Only bound pods, packed (see packedPod); nodes are few enough to
	// watch all of them, whole.
	inf := coreinformers.NewFilteredPodInformer(h.client, metav1.NamespaceAll, 0, cache.Indexers{},
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
		})
	if err := inf.SetTransform(packPod); err != nil {
		return err
	}
	if err := inf.AddIndexers(cache.Indexers{nodeIndex: func(obj any) ([]string, error) {
		return []string{obj.(*packedPod).node}, nil
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
	h.index.Store(inf.GetIndexer())
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	var informers sync.WaitGroup
	defer informers.Wait()
	informers.Go(func() { inf.RunWithContext(ctx) })
	// Not cache.WaitForCacheSync, which looks every 100 ms: the nodes
	// register once the pods are listed, and start-up waits for that.
	if !cache.WaitFor(ctx, "", inf.HasSyncedChecker()) {
		return fmt.Errorf("pod cache: %w", context.Cause(ctx))
	}
	logger.Info("Running node agents", "nodes", len(h.order))
	defer h.queue.ShutDown()
	var wg sync.WaitGroup
	defer wg.Wait()
	for range h.workers {
		wg.Go(func() {
			for {
				item, quit := h.queue.Get()
				if quit {
					return
				}
				item.agent.process(ctx, item.key, item.agent.queue)
				h.queue.Done(item)
			}
		})
	}
	// Register the nodes, a few at a time. An agent whose registration
	// fails for good (ctx ended) is reported; the others go on.
	var mu sync.Mutex
	var errs []error
	slots := make(chan struct{}, hostRegistrations)
	var started sync.WaitGroup
	for _, a := range h.order {
		slots <- struct{}{}
		started.Go(func() {
			defer func() { <-slots }()
			if err := a.begin(ctx, &wg); err != nil && ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	started.Wait()
	<-ctx.Done()
	h.queue.ShutDown()
	return errors.Join(errs...)
}

// dispatchPod queues a pod added, changed or deleted for its node's agent.
func (h *Host) dispatchPod(obj any) {
	pod, ok := packedOf(obj)
	if !ok {
		return
	}
	if a := h.agents[pod.node]; a != nil {
		a.Enqueue(pod.namespace + "/" + pod.name)
	}
}

// nodePods lists one node's pods from the host's shared cache.
type nodePods struct {
	indexer cache.Indexer
	node    string
}

// Pods lists the node's pods from their packed briefs, decoding none.
func (l nodePods) Pods() []podBrief {
	objs, _ := l.indexer.ByIndex(nodeIndex, l.node)
	pods := make([]podBrief, 0, len(objs))
	for _, o := range objs {
		p := o.(*packedPod)
		b := p.brief
		b.key, b.uid = p.namespace+"/"+p.name, p.uid
		pods = append(pods, b)
	}
	return pods
}

func (l nodePods) Pod(key string) (*corev1.Pod, bool) {
	obj, ok, _ := l.indexer.GetByKey(key)
	if !ok || obj.(*packedPod).node != l.node {
		return nil, false
	}
	pod, err := obj.(*packedPod).unpack()
	if err != nil {
		klog.Background().Error(err, "Pod cache")
		return nil, false
	}
	return pod, true
}

// podsPlaceholder stands in for the host's lister until Run sets it.
type podsPlaceholder struct{}

func (podsPlaceholder) Pods() []podBrief               { return nil }
func (podsPlaceholder) Pod(string) (*corev1.Pod, bool) { return nil, false }

// stripManagedFields drops what the agents never read from the objects their
// caches keep: with thousands of nodes in one process it adds up.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
