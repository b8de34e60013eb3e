package apiservice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions/apiextensions/v1"
	apiextensionslisters "k8s.io/apiextensions-apiserver/pkg/client/listers/apiextensions/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/typed/apiregistration/v1"
	apiregistrationinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions/apiregistration/v1"
	apiregistrationlisters "k8s.io/kube-aggregator/pkg/client/listers/apiregistration/v1"
	"k8s.io/utils/clock"
)

const (
	// ManagedLabel marks the APIServices the controller registers, with
	// upstream's name and values.
	ManagedLabel = "kube-aggregator.kubernetes.io/automanaged"
	// managedOnStart APIServices are the server's own group versions, synced
	// once per start.
	managedOnStart = "onstart"
	// managedAlways APIServices are the CRDs' group versions, synced always.
	managedAlways = "true"

	// CRD group versions sort below the built-in ones, and among themselves
	// by version name, as upstream registers them.
	crdGroupPriority   = 1000
	crdVersionPriority = 100

	// defaultRecheck is how often an APIService that names a Service is
	// checked again.
	defaultRecheck = 30 * time.Second
	maxRetryDelay  = time.Minute
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid APIService controller config")

// Priority is the groupPriorityMinimum and versionPriority of a local
// APIService.
type Priority struct {
	Group, Version int32
}

// Config holds what the controller needs. Client, Kube, Informer and CRDs are
// required.
type Config struct {
	// Client writes APIServices.
	Client apiregistrationclient.APIServicesGetter
	// Kube reads the Services and EndpointSlices that APIServices name.
	Kube kubernetes.Interface
	// Informer is the shared APIService informer and CRDs the shared CRD
	// informer; the caller starts them, Run waits for their caches.
	Informer apiregistrationinformers.APIServiceInformer
	CRDs     apiextensionsinformers.CustomResourceDefinitionInformer
	// Local are the group versions the server serves itself, with their
	// priorities.
	Local map[schema.GroupVersion]Priority
	// Recheck is how often an APIService naming a Service is checked again;
	// zero means 30 seconds.
	Recheck time.Duration
	// Clock stamps condition transitions; nil means the real clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no side
// effects.
func (c Config) Validate() error {
	var errs []error
	for name, missing := range map[string]bool{
		"Client": c.Client == nil, "Kube": c.Kube == nil, "Informer": c.Informer == nil, "CRDs": c.CRDs == nil,
	} {
		if missing {
			errs = append(errs, fmt.Errorf("%w: %s is required", ErrInvalidConfig, name))
		}
	}
	if c.Recheck < 0 {
		errs = append(errs, fmt.Errorf("%w: Recheck must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller registers APIServices and keeps their Available condition.
// Build it with New and start it with Run.
type Controller struct {
	client  apiregistrationclient.APIServicesGetter
	kube    kubernetes.Interface
	lister  apiregistrationlisters.APIServiceLister
	crds    apiextensionslisters.CustomResourceDefinitionLister
	local   map[string]*apiregistrationv1.APIService
	recheck time.Duration
	clock   clock.PassiveClock
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]

	mu sync.Mutex
	// atStart holds the APIServices that existed when Run started; done the
	// names synced successfully since.
	atStart, done map[string]bool
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run is called.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client:  cfg.Client,
		kube:    cfg.Kube,
		lister:  cfg.Informer.Lister(),
		crds:    cfg.CRDs.Lister(),
		local:   map[string]*apiregistrationv1.APIService{},
		recheck: cfg.Recheck,
		clock:   cfg.Clock,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, maxRetryDelay),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "apiservice"},
		),
		atStart: map[string]bool{},
		done:    map[string]bool{},
	}
	if c.recheck == 0 {
		c.recheck = defaultRecheck
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	for gv, p := range cfg.Local {
		c.local[name(gv)] = apiService(gv, p, managedOnStart)
	}

	byName := func(obj any) {
		if s, ok := obj.(*apiregistrationv1.APIService); ok {
			c.queue.Add(s.Name)
		}
	}
	reg, err := cfg.Informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    byName,
		UpdateFunc: func(_, cur any) { byName(cur) },
		DeleteFunc: func(obj any) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			byName(obj)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("add APIService event handler: %w", err)
	}
	crdReg, err := cfg.CRDs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueCRD,
		UpdateFunc: func(old, cur any) {
			c.enqueueCRD(old)
			c.enqueueCRD(cur)
		},
		DeleteFunc: func(obj any) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			c.enqueueCRD(obj)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("add CRD event handler: %w", err)
	}
	c.synced = []cache.InformerSynced{cfg.Informer.Informer().HasSynced, reg.HasSynced, cfg.CRDs.Informer().HasSynced, crdReg.HasSynced}
	return c, nil
}

// name is the APIService name of a group version: "<version>.<group>".
func name(gv schema.GroupVersion) string { return gv.Version + "." + gv.Group }

func apiService(gv schema.GroupVersion, p Priority, managed string) *apiregistrationv1.APIService {
	return &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: name(gv), Labels: map[string]string{ManagedLabel: managed}},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: gv.Group, Version: gv.Version,
			GroupPriorityMinimum: p.Group, VersionPriority: p.Version,
		},
	}
}

// enqueueCRD queues the APIService names of every version of a CRD.
func (c *Controller) enqueueCRD(obj any) {
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok {
		return
	}
	for _, v := range crd.Spec.Versions {
		c.queue.Add(name(schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}))
	}
}

// Run waits for the caches, queues every local and existing APIService, and
// syncs with the given number of workers until ctx ends. It returns nil after
// a clean shutdown. Run may be called only once.
func (c *Controller) Run(ctx context.Context, workers int) error {
	if workers < 1 {
		return fmt.Errorf("run APIService controller: workers must be at least 1, got %d", workers)
	}
	logger := klog.LoggerWithName(klog.FromContext(ctx), "apiservice-controller")
	ctx = klog.NewContext(ctx, logger)
	defer c.queue.ShutDown()

	logger.V(2).Info("Starting controller")
	defer logger.V(2).Info("Stopped controller")
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.synced...) {
		return fmt.Errorf("wait for APIService caches: %w", context.Cause(ctx))
	}
	existing, err := c.lister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list APIServices: %w", err)
	}
	c.mu.Lock()
	for _, s := range existing {
		c.atStart[s.Name] = true
		c.queue.Add(s.Name)
	}
	c.mu.Unlock()
	for n := range c.local {
		c.queue.Add(n)
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

// processNext syncs one APIService from the queue. It returns false once the
// queue is shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	recheck, err := c.sync(ctx, key)
	if err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Syncing APIService failed", "apiService", klog.KRef("", key))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	if recheck {
		c.queue.AddAfter(key, c.recheck)
	}
	return true
}

// sync registers, updates or removes the named APIService as the server's
// group versions and the CRDs want it, then refreshes its Available
// condition. It reports whether the APIService should be checked again later
// (it names a Service).
func (c *Controller) sync(ctx context.Context, key string) (bool, error) {
	cur, err := c.lister.Get(key)
	switch {
	case apierrors.IsNotFound(err):
		cur = nil
	case err != nil:
		return false, err
	}
	cur, err = c.register(ctx, key, cur)
	if err != nil {
		return false, fmt.Errorf("register APIService %s: %w", key, err)
	}
	c.mu.Lock()
	c.done[key] = true
	c.mu.Unlock()
	if cur == nil {
		return false, nil
	}
	if err := c.updateAvailability(ctx, cur); err != nil {
		return false, fmt.Errorf("update availability of APIService %s: %w", key, err)
	}
	return cur.Spec.Service != nil, nil
}

// desired returns the APIService the server wants under key, or nil.
func (c *Controller) desired(key string) (*apiregistrationv1.APIService, error) {
	if s, ok := c.local[key]; ok {
		return s, nil
	}
	crds, err := c.crds.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
			if v.Served && name(gv) == key {
				return apiService(gv, Priority{crdGroupPriority, crdVersionPriority}, managedAlways), nil
			}
		}
	}
	return nil, nil
}

// register makes the stored APIService cur (nil when there is none) what the
// server wants under key, and returns what is stored afterwards.
func (c *Controller) register(ctx context.Context, key string, cur *apiregistrationv1.APIService) (*apiregistrationv1.APIService, error) {
	want, err := c.desired(key)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	synced, atStart := c.done[key], c.atStart[key]
	c.mu.Unlock()
	managed := ""
	if cur != nil {
		managed = cur.Labels[ManagedLabel]
	}
	switch {
	case cur == nil && want == nil:
		return nil, nil
	case want != nil && want.Labels[ManagedLabel] == managedOnStart && synced:
		// Synced once this start; the APIService is whoever's now.
		return cur, nil
	case cur == nil:
		created, err := c.client.APIServices().Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil, nil // the informer brings it back
		}
		return created, err
	case managed != managedOnStart && managed != managedAlways:
		return cur, nil // the user's
	case managed == managedOnStart && (!atStart || synced):
		// Registered by another API server since this one started, or
		// already synced: not this server's to change.
		return cur, nil
	case want == nil:
		err := c.client.APIServices().Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(cur.UID))})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return nil, err
		}
		return nil, nil
	case apiequality.Semantic.DeepEqual(cur.Spec, want.Spec) && cur.Labels[ManagedLabel] == want.Labels[ManagedLabel]:
		return cur, nil
	}
	updated := cur.DeepCopy()
	updated.Spec = want.Spec
	updated.Labels[ManagedLabel] = want.Labels[ManagedLabel]
	updated, err = c.client.APIServices().Update(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil, nil // changed meanwhile; the informer brings it back
	}
	return updated, err
}
