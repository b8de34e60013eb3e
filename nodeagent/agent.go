package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// Config configures one node's agent. Zero values take the defaults named in
// each field's comment.
type Config struct {
	// Node describes the node to register. Node.Name is required.
	Node NodeConfig
	// Client reaches the API server. Required.
	Client kubernetes.Interface
	// Runtime runs the node's containers. Required.
	Runtime runtime.Runtime
	// Pods finds the pods bound to the node. Nil: the agent watches them
	// itself, with a field selector on spec.nodeName. A Host sets it to share
	// one watch among many agents, and calls Enqueue on changes.
	Pods PodLister
	// Recorder records the agent's events (Started, Killing, BackOff, ...).
	// Nil: no events.
	Recorder record.EventRecorder
	// Clock is the agent's time. Nil: the real clock.
	Clock clock.WithTicker
	// Workers is how many pods the agent syncs at once. Zero: 2.
	Workers int
	// RestartBackoff is the first delay before restarting a container that
	// keeps exiting; it doubles up to 5 minutes. Zero: 10 s, as upstream.
	RestartBackoff time.Duration
}

// Validate reports missing or bad settings.
func (c Config) Validate() error {
	var errs []error
	if c.Node.Name == "" {
		errs = append(errs, errors.New("node name is required"))
	}
	if c.Client == nil {
		errs = append(errs, errors.New("client is required"))
	}
	if c.Runtime == nil {
		errs = append(errs, errors.New("runtime is required"))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers must not be negative, got %d", c.Workers))
	}
	return errors.Join(errs...)
}

// PodLister finds the pods bound to one node, by "namespace/name" key.
type PodLister interface {
	// Pods lists the pods bound to the node, in brief.
	Pods() []podBrief
	// Pod returns the pod with key, if it is bound to the node. The caller
	// must not change it.
	Pod(key string) (*corev1.Pod, bool)
}

// podBrief is what the agent needs of every pod of its node at once: to
// queue it, and to admit another pod beside it.
type podBrief struct {
	key string
	uid types.UID
	// finished: Succeeded or Failed. hasRun: see hasRun.
	finished, hasRun bool
	usage            podUsage
}

// briefOf is pod's podBrief.
func briefOf(pod *corev1.Pod) podBrief {
	return podBrief{
		key: keyOf(pod), uid: pod.UID,
		finished: pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed,
		hasRun:   hasRun(pod),
		usage:    usageOf(pod),
	}
}

// Agent runs one node: its Node and Lease, and its pods. Build it with New.
type Agent struct {
	cfg            Config
	client         kubernetes.Interface
	rt             runtime.Runtime
	clock          clock.WithTicker
	restartBackoff time.Duration
	node           *nodeStatus
	pods           PodLister
	// started is set once the node is registered: pods are synced from then.
	started atomic.Bool
	// queue is where the agent's pods wait for a sync: its own, or its
	// host's shared one. Set by Run or by the host.
	queue podQueue

	mu sync.Mutex
	// states and uids are the agent's memory of its pods, by key and by UID;
	// stops holds the outcome of background stops until their pod's next sync.
	states map[string]*podState
	uids   map[types.UID]string
	stops  map[types.UID]error
	// forgetting are the pods that left the API and are being torn down
	// in the background; teardowns bounds how many at once.
	forgetting map[types.UID]bool
	teardowns  chan struct{}
	// podCIDRs are the ones the runtime's pod network took.
	podCIDRs []string
}

// New checks cfg and returns an agent ready to Run.
func New(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node agent: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	if cfg.RestartBackoff == 0 {
		cfg.RestartBackoff = initialBackoff
	}
	a := &Agent{
		cfg:            cfg,
		client:         cfg.Client,
		rt:             cfg.Runtime,
		clock:          cfg.Clock,
		restartBackoff: cfg.RestartBackoff,
		pods:           cfg.Pods,
		states:         map[string]*podState{},
		uids:           map[types.UID]string{},
		stops:          map[types.UID]error{},
		forgetting:     map[types.UID]bool{},
		teardowns:      make(chan struct{}, cfg.Workers),
	}
	ns, err := newNodeStatus(nodeStatusConfig{Client: cfg.Client, Node: cfg.Node, Runtime: cfg.Runtime, Clock: cfg.Clock, Event: a.nodeEvent, Ready: networkReady(cfg.Runtime)})
	if err != nil {
		return nil, fmt.Errorf("node agent: %w", err)
	}
	a.node = ns
	return a, nil
}

// Enqueue asks for a sync of the pod with key ("namespace/name"). Before
// the agent registered its node it does nothing: the agent then queues
// every pod it has.
func (a *Agent) Enqueue(key string) {
	if a.started.Load() {
		a.queue.Add(key)
	}
}

// ObserveNode tells the agent its Node as a watch saw it, so that pod
// admission sees labels and taints others changed.
func (a *Agent) ObserveNode(node *corev1.Node) {
	a.node.observe(node)
	a.takePodCIDRs(node)
}

// Run registers the node, then keeps its Lease, its status and its pods
// current until ctx ends. Containers keep running when it returns: a
// restarted agent picks them up.
func (a *Agent) Run(ctx context.Context) error {
	own := newPodQueue[string](a.cfg.Node.Name, a.clock)
	defer own.ShutDown()
	a.queue = ownQueue{own}
	var wg sync.WaitGroup
	defer wg.Wait()
	if err := a.begin(ctx, &wg); err != nil {
		return err
	}
	for range a.cfg.Workers {
		wg.Go(func() {
			for {
				key, quit := own.Get()
				if quit {
					return
				}
				a.process(ctx, key, a.queue)
				own.Done(key)
			}
		})
	}
	<-ctx.Done()
	own.ShutDown()
	return nil
}

// begin registers the node, starts its heartbeat (in wg) and its pod watch
// if it has no lister, and queues its pods. a.queue must be set.
func (a *Agent) begin(ctx context.Context, wg *sync.WaitGroup) error {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "node", a.cfg.Node.Name)
	ctx = klog.NewContext(ctx, logger)
	a.nodeEvent(corev1.EventTypeNormal, "Starting", "Starting kubelet.")
	if err := a.node.register(ctx); err != nil {
		return fmt.Errorf("register node %s: %w", a.cfg.Node.Name, err)
	}
	a.takePodCIDRs(a.node.node())
	wg.Go(func() { a.node.run(ctx) })

	if a.pods == nil {
		lister, synced := a.watchOwnPods(ctx)
		if !cache.WaitFor(ctx, "", synced) {
			return fmt.Errorf("node %s: pod cache: %w", a.cfg.Node.Name, context.Cause(ctx))
		}
		a.pods = lister
	}
	a.rt.Subscribe(func(uid types.UID) {
		a.mu.Lock()
		key, ok := a.uids[uid]
		a.mu.Unlock()
		if ok {
			a.queue.Add(key)
		}
	})
	if err := a.removeOrphans(ctx); err != nil {
		logger.Error(err, "Clean up pods the runtime holds")
	}
	a.started.Store(true)
	for _, pod := range a.pods.Pods() {
		a.queue.Add(pod.key)
	}
	logger.V(2).Info("Node agent running")
	return nil
}

// watchOwnPods starts informers on the pods bound to this node and on the
// node itself.
func (a *Agent) watchOwnPods(ctx context.Context) (PodLister, cache.DoneChecker) {
	byNode := informers.NewSharedInformerFactoryWithOptions(a.client, 0,
		informers.WithTransform(stripManagedFields),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.Node.Name).String()
		}))
	byName := informers.NewSharedInformerFactoryWithOptions(a.client, 0,
		informers.WithTransform(stripManagedFields),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", a.cfg.Node.Name).String()
		}))
	pods := byNode.Core().V1().Pods().Informer()
	_, _ = pods.AddEventHandler(podHandler(a.Enqueue))
	_, _ = byName.Core().V1().Nodes().Informer().AddEventHandler(nodeHandler(func(n *corev1.Node) {
		a.ObserveNode(n)
	}))
	byNode.Start(ctx.Done())
	byName.Start(ctx.Done())
	return storeLister{pods.GetStore()}, pods.HasSyncedChecker()
}

// podHandler calls enqueue with the key of each pod added, changed or deleted.
func podHandler(enqueue func(key string)) cache.ResourceEventHandler {
	add := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			enqueue(key)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: add,
	}
}

// nodeHandler calls observe with each node added or changed.
func nodeHandler(observe func(*corev1.Node)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { observe(obj.(*corev1.Node)) },
		UpdateFunc: func(_, obj any) { observe(obj.(*corev1.Node)) },
	}
}

// storeLister lists the pods of an informer's store.
type storeLister struct{ store cache.Store }

func (l storeLister) Pods() []podBrief {
	objs := l.store.List()
	pods := make([]podBrief, 0, len(objs))
	for _, o := range objs {
		pods = append(pods, briefOf(o.(*corev1.Pod)))
	}
	return pods
}

func (l storeLister) Pod(key string) (*corev1.Pod, bool) {
	obj, ok, _ := l.store.GetByKey(key)
	if !ok {
		return nil, false
	}
	return obj.(*corev1.Pod), true
}

// process syncs the pod with key once and queues it again as the outcome
// asks: rate-limited after an error, after a delay for timed work.
func (a *Agent) process(ctx context.Context, key string, q podQueue) {
	requeue, err := a.sync(ctx, key)
	switch {
	case err != nil:
		if !apierrors.IsConflict(err) {
			klog.FromContext(ctx).V(2).Info("Sync pod failed; will retry", "node", a.cfg.Node.Name, "pod", key, "err", err)
		}
		q.AddRateLimited(key)
	default:
		q.Forget(key)
		if requeue > 0 {
			q.AddAfter(key, requeue)
		}
	}
}

// sync finds the pod's newest known version and its state, and syncs it; a
// pod gone from the API is stopped and removed from the runtime.
func (a *Agent) sync(ctx context.Context, key string) (time.Duration, error) {
	pod, ok := a.pods.Pod(key)
	a.mu.Lock()
	st := a.states[key]
	a.mu.Unlock()
	if st != nil && (!ok || st.uid != pod.UID) {
		// Gone, or replaced by a pod of the same name.
		a.forgetInBackground(ctx, key, st.uid)
		st = nil
	}
	if !ok {
		return 0, nil
	}
	if st == nil {
		st = &podState{uid: pod.UID}
		a.mu.Lock()
		a.states[key], a.uids[pod.UID] = st, key
		a.mu.Unlock()
	}
	if st.written != nil && newer(st.written, pod) {
		pod = st.written
	} else {
		st.written = nil
	}
	if st.stopping {
		a.mu.Lock()
		err, done := a.stops[pod.UID]
		delete(a.stops, pod.UID)
		a.mu.Unlock()
		if done {
			st.stopping, st.stopped = false, err == nil
		}
	}
	return a.syncPod(ctx, pod, st)
}

// forgetInBackground drops the agent's memory of a pod that left the API
// (a pod of the same name starts afresh at once) and stops and removes what
// the runtime holds for it in the background, retrying until that is done:
// a hundred deleted pods' teardowns used to hold every worker for seconds
// while new pods waited. Upstream's kubelet, too, tears down a pod in that
// pod's own worker.
func (a *Agent) forgetInBackground(ctx context.Context, key string, uid types.UID) {
	a.mu.Lock()
	delete(a.states, key)
	if a.forgetting[uid] {
		a.mu.Unlock()
		return
	}
	a.forgetting[uid] = true
	a.mu.Unlock()
	go func() {
		logger := klog.FromContext(ctx)
		select {
		case a.teardowns <- struct{}{}:
			defer func() { <-a.teardowns }()
		case <-ctx.Done():
			return // removeOrphans finds it at the next start
		}
		for delay := 100 * time.Millisecond; ; delay = min(2*delay, 30*time.Second) {
			err := a.rt.StopPod(ctx, uid, 0)
			if err == nil {
				err = a.rt.RemovePod(ctx, uid)
			}
			if err == nil || ctx.Err() != nil {
				break
			}
			logger.V(2).Info("Tear down a pod that left the API failed; will retry", "node", a.cfg.Node.Name, "pod", key, "err", err)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
			}
		}
		a.mu.Lock()
		delete(a.forgetting, uid)
		delete(a.uids, uid)
		delete(a.stops, uid)
		a.mu.Unlock()
	}()
}

// removeOrphans stops and removes the pods the runtime holds that are no
// longer bound to this node (deleted while the agent was down).
func (a *Agent) removeOrphans(ctx context.Context) error {
	held, err := a.rt.ListPods(ctx)
	if err != nil {
		return err
	}
	bound := map[types.UID]bool{}
	for _, p := range a.pods.Pods() {
		bound[p.uid] = true
	}
	var errs []error
	for _, p := range held {
		if bound[p.UID] {
			continue
		}
		if err := a.rt.StopPod(ctx, p.UID, 0); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, a.rt.RemovePod(ctx, p.UID))
	}
	return errors.Join(errs...)
}

// writeStatus computes the pod's status and writes it if it changed.
func (a *Agent) writeStatus(ctx context.Context, pod *corev1.Pod, st *podState, rs *runtime.PodStatus, now time.Time) error {
	status := buildStatus(statusInput{
		pod: pod, runtime: rs, scheme: a.rt.Type(), hostIPs: a.cfg.Node.InternalIPs, state: st, now: now,
	})
	if apiequality.Semantic.DeepEqual(status, pod.Status) {
		return nil
	}
	update := pod.DeepCopy()
	update.Status = status
	written, err := a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, update, metav1.UpdateOptions{})
	if err != nil {
		st.written = nil
		if isGone(err) {
			return nil
		}
		return fmt.Errorf("update status: %w", err)
	}
	st.written = written
	return nil
}

// currentNode is the node as last registered or reported.
func (a *Agent) currentNode() *corev1.Node { return a.node.node() }

// admittedPods lists what the node's pods, other than pod, that hold
// resources (admitted and not finished) use.
func (a *Agent) admittedPods(pod *corev1.Pod) []podUsage {
	var out []podUsage
	pods := a.pods.Pods()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range pods {
		if p.uid == pod.UID || p.finished {
			continue
		}
		st := a.states[p.key]
		if (st != nil && st.uid == p.uid && st.admitted && st.rejected == nil) || (st == nil && p.hasRun) {
			out = append(out, p.usage)
		}
	}
	return out
}

func (a *Agent) event(pod *corev1.Pod, eventType, reason, message string) {
	if a.cfg.Recorder != nil {
		a.cfg.Recorder.Event(pod, eventType, reason, message)
	}
}

// nodeEvent records an event about the agent's Node. As upstream's
// kubelet, it refers to the Node with its name as UID.
func (a *Agent) nodeEvent(eventType, reason, message string) {
	if a.cfg.Recorder != nil {
		ref := &corev1.ObjectReference{Kind: "Node", Name: a.cfg.Node.Name, UID: types.UID(a.cfg.Node.Name)}
		a.cfg.Recorder.Event(ref, eventType, reason, message)
	}
}

func keyOf(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

func isGone(err error) bool { return apierrors.IsNotFound(err) }

// newer reports whether a is a later version of the same pod than b.
func newer(a, b *corev1.Pod) bool {
	if a.UID != b.UID {
		return false
	}
	ra, errA := strconv.ParseUint(a.ResourceVersion, 10, 64)
	rb, errB := strconv.ParseUint(b.ResourceVersion, 10, 64)
	return errA == nil && errB == nil && ra > rb
}
