package namespace

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

const (
	// settleDelay is how long a namespace that has just started terminating
	// waits before its content is deleted, so that creates the API server
	// admitted just before the deletion are stored and get swept too.
	settleDelay = 2 * time.Second

	// maxRetryDelay caps the rate-limited backoff after failed syncs, so a
	// namespace whose deletion keeps failing is retried at least once a minute.
	maxRetryDelay = time.Minute
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid namespace controller config")

// Config holds what the namespace controller needs. Every field without a
// documented zero value is required.
type Config struct {
	// Client reads namespaces and writes their status, finalize subresource
	// and final deletion.
	Client kubernetes.Interface
	// Metadata lists and deletes the objects of any namespaced resource.
	Metadata metadata.Interface
	// Discovery tells which namespaced resources the API server offers.
	Discovery discovery.DiscoveryInterface
	// Informer is the shared namespace informer. The caller starts it; Run
	// waits for its cache to sync.
	Informer coreinformers.NamespaceInformer
	// Clock measures grace periods, stamps condition transitions and drives
	// the work queue's delays. Zero value: the real clock.
	Clock clock.WithTicker
}

// Validate reports whether the config can build a controller. It has no side
// effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, fmt.Errorf("%w: Client is required", ErrInvalidConfig))
	}
	if c.Metadata == nil {
		errs = append(errs, fmt.Errorf("%w: Metadata is required", ErrInvalidConfig))
	}
	if c.Discovery == nil {
		errs = append(errs, fmt.Errorf("%w: Discovery is required", ErrInvalidConfig))
	}
	if c.Informer == nil {
		errs = append(errs, fmt.Errorf("%w: Informer is required", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller deletes the content of terminating namespaces, then finalizes
// and removes them. Build it with New and start it with Run.
type Controller struct {
	client    kubernetes.Interface
	metadata  metadata.Interface
	resources *resourceCache
	clock     clock.WithTicker

	lister corelisters.NamespaceLister
	synced []cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
}

// New validates cfg and returns a controller whose event handlers are
// registered on cfg.Informer. Nothing runs until Run is called.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{
		client:    cfg.Client,
		metadata:  cfg.Metadata,
		resources: newResourceCache(cfg.Discovery, clk),
		clock:     clk,
		lister:    cfg.Informer.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, maxRetryDelay),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace", Clock: clk},
		),
	}
	informer := cfg.Informer.Informer()
	reg, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("add namespace event handler: %w", err)
	}
	c.synced = []cache.InformerSynced{informer.HasSynced, reg.HasSynced}
	return c, nil
}

// enqueue queues a namespace that is being deleted. Others are ignored: the
// controller has nothing to do for them.
func (c *Controller) enqueue(obj any) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok || ns.DeletionTimestamp == nil {
		return
	}
	c.queue.AddAfter(ns.Name, settleDelay)
}

// Run waits for the namespace cache to sync, then processes namespaces with
// the given number of workers until ctx ends. It returns nil after a clean
// shutdown, once every worker has stopped. Run may be called only once.
func (c *Controller) Run(ctx context.Context, workers int) error {
	if workers < 1 {
		return fmt.Errorf("run namespace controller: workers must be at least 1, got %d", workers)
	}
	logger := klog.LoggerWithName(klog.FromContext(ctx), "namespace-controller")
	ctx = klog.NewContext(ctx, logger)
	defer c.queue.ShutDown()

	logger.Info("Starting controller")
	defer logger.Info("Stopped controller")
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.synced...) {
		return fmt.Errorf("wait for namespace cache sync: %w", context.Cause(ctx))
	}

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

// processNext syncs one namespace from the queue and decides when it comes
// back. It returns false once the queue is shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)

	err := c.sync(ctx, name)
	var remaining *contentRemainingError
	switch {
	case err == nil:
		c.queue.Forget(name)
	case errors.As(err, &remaining):
		c.queue.Forget(name)
		klog.FromContext(ctx).V(4).Info("Waiting for namespace content to go", "namespace", klog.KRef("", name), "after", remaining.after)
		c.queue.AddAfter(name, remaining.after)
	default:
		utilruntime.HandleErrorWithContext(ctx, err, "Syncing namespace failed", "namespace", klog.KRef("", name))
		c.queue.AddRateLimited(name)
	}
	return true
}

// contentRemainingError reports that a namespace still has content that is
// going away on its own (finalizers, graceful deletion). It is not a failure:
// the namespace is synced again after the given delay.
type contentRemainingError struct {
	after time.Duration
}

func (e *contentRemainingError) Error() string {
	return fmt.Sprintf("content remains in the namespace, checking again in %s", e.after)
}

// sync moves one namespace towards its removal. It is idempotent: every step
// is derived from the namespace's current state.
func (c *Controller) sync(ctx context.Context, name string) error {
	logger := klog.FromContext(ctx)
	start := c.clock.Now()
	defer func() {
		logger.V(4).Info("Finished syncing namespace", "namespace", klog.KRef("", name), "duration", c.clock.Since(start))
	}()

	cached, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s from cache: %w", name, err)
	}
	if cached.DeletionTimestamp == nil {
		return nil
	}

	// Other writers (the API server, other finalizers, our own previous pass)
	// change a terminating namespace; act on its latest state, not the cache.
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}

	if hasFinalizer(ns, corev1.FinalizerKubernetes) {
		ns, err = c.empty(ctx, ns)
		if err != nil || ns == nil {
			return err
		}
	}
	if len(ns.Spec.Finalizers) > 0 {
		logger.V(2).Info("Waiting for other namespace finalizers", "namespace", klog.KRef("", name), "finalizers", ns.Spec.Finalizers)
		return nil
	}
	return c.remove(ctx, ns)
}

// empty deletes the namespace's content, records the outcome in its status
// and, once nothing is left, removes the "kubernetes" finalizer. It returns the
// finalized namespace, or nil if the namespace is gone.
func (c *Controller) empty(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	logger := klog.FromContext(ctx)
	s := c.sweep(ctx, ns)

	status := ns.Status.DeepCopy()
	changed := status.Phase != corev1.NamespaceTerminating
	status.Phase = corev1.NamespaceTerminating
	if setConditions(status, s.conditions(), c.clock.Now()) {
		changed = true
	}
	if changed {
		updated := ns.DeepCopy()
		updated.Status = *status
		if saved, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
			// Conditions are informational; a failed write must not stop
			// the deletion, and the next pass writes them again.
			utilruntime.HandleErrorWithContext(ctx, err, "Updating namespace status failed", "namespace", klog.KObj(ns))
		} else {
			ns = saved
		}
	}

	if err := s.err(); err != nil {
		return nil, fmt.Errorf("delete content of namespace %s: %w", ns.Name, err)
	}
	if s.remains() {
		return nil, &contentRemainingError{after: requeueDelay(s.wait)}
	}

	finalized := ns.DeepCopy()
	finalized.Spec.Finalizers = withoutFinalizer(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	ns, err := c.client.CoreV1().Namespaces().Finalize(ctx, finalized, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finalize namespace %s: %w", finalized.Name, err)
	}
	logger.V(2).Info("Finalized namespace", "namespace", klog.KObj(ns))
	return ns, nil
}

// remove deletes a terminating namespace that has no finalizers left, which
// makes the API server drop it. The UID precondition keeps a namespace
// recreated under the same name safe.
func (c *Controller) remove(ctx context.Context, ns *corev1.Namespace) error {
	uid := ns.UID
	err := c.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Gone already, or replaced by a new namespace with the same name.
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", ns.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted namespace", "namespace", klog.KObj(ns))
	return nil
}

// requeueDelay turns an estimate of how long remaining content needs into the
// time to look again: half the estimate plus a second, so progress is noticed
// early, capped at maxRetryDelay.
func requeueDelay(estimate time.Duration) time.Duration {
	return min(estimate/2+time.Second, maxRetryDelay)
}

func hasFinalizer(ns *corev1.Namespace, f corev1.FinalizerName) bool {
	for _, x := range ns.Spec.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}

func withoutFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) []corev1.FinalizerName {
	out := make([]corev1.FinalizerName, 0, len(list))
	for _, x := range list {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}
