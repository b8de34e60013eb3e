// Package resourcequota keeps every ResourceQuota's status up to date, as
// upstream's resource quota controller does: status.hard is spec.hard and
// status.used what the namespace's matching objects use of each hard
// resource, computed by the evaluators the quota admission plugin uses.
//
// Admission charges a quota when an object is created; this controller
// gives back what objects release. A quota is recalculated when it is
// created or its spec.hard changes, when an object it counts is deleted or
// changed in a way that changes its usage or scope (a pod that finishes, a
// service that becomes a NodePort), and every ResyncPeriod for all quotas.
// Like upstream, it does not recalculate on most creations: admission has
// charged them already, and recounting from a cache that lags behind
// admission would hand the charge back. The exception is an object created
// within admissionBlindSpot of a quota: admission may not have known the
// quota yet (its informer lags, and it remembers a namespace without quotas
// for 30 s), and the quota's first count may have missed the object, so
// nothing would charge it until the next resync.
//
// The core resources (pods, services, persistentvolumeclaims, configmaps,
// secrets, replicationcontrollers, resourcequotas) are counted from the
// shared informers. A count/<resource>.<group> of any other resource starts
// a watch of that resource the first time a quota names it: from the shared
// factory for the built-in types, from metadata-only informers otherwise
// (custom resources).
package resourcequota

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	quotaeval "github.com/kubelite/kubelite/auth/admission/resourcequota"
	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// admissionBlindSpot is how long after a quota's creation admission may
// still admit objects without charging it: its live lookup remembers a
// namespace without quotas for 30 s, plus its informer's lag.
const admissionBlindSpot = time.Minute

// DefaultResyncPeriod is how often every quota is recalculated, as upstream.
const DefaultResyncPeriod = 5 * time.Minute

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid resource quota controller config")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client writes quota status.
	Client kubernetes.Interface
	// Informers is the shared factory. The ResourceQuota informer and those
	// of the counted core resources come from it; the caller starts it.
	// Informers of resources first named by a quota later are started here.
	Informers informers.SharedInformerFactory
	// Metadata and Mapper count resources the factory has no informer for
	// (custom resources). Nil: such count/ resources are not counted.
	Metadata metadata.Interface
	Mapper   meta.RESTMapper
	// ResyncPeriod is how often every quota is recalculated. Zero:
	// DefaultResyncPeriod.
	ResyncPeriod time.Duration
	// Clock decides when a deleted pod's grace period is over and when an
	// unknown count/ resource is looked up again. Zero value: the real
	// clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, fmt.Errorf("%w: Client is required", ErrInvalidConfig))
	}
	if c.Informers == nil {
		errs = append(errs, fmt.Errorf("%w: Informers is required", ErrInvalidConfig))
	}
	if (c.Metadata == nil) != (c.Mapper == nil) {
		errs = append(errs, fmt.Errorf("%w: Metadata and Mapper go together", ErrInvalidConfig))
	}
	if c.ResyncPeriod < 0 {
		errs = append(errs, fmt.Errorf("%w: ResyncPeriod must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller keeps ResourceQuota status. Build it with New and start it
// with Run.
type Controller struct {
	client   kubernetes.Interface
	quotas   corelisters.ResourceQuotaLister
	registry quota.Registry
	monitors *monitors
	resync   time.Duration
	loop     *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	quotas := cfg.Informers.Core().V1().ResourceQuotas()
	c := &Controller{
		client: cfg.Client,
		quotas: quotas.Lister(),
		resync: cfg.ResyncPeriod,
	}
	if c.resync == 0 {
		c.resync = DefaultResyncPeriod
	}
	c.loop = loop.New("resourcequota-controller", c.sync)
	c.monitors = newMonitors(cfg.Informers, cfg.Metadata, cfg.Mapper, clk, c.replenish)
	c.registry = generic.NewRegistry(quotaeval.Evaluators(c.monitors.lister, clk))
	for _, e := range c.registry.List() {
		if err := c.monitors.watchCore(e); err != nil {
			return nil, err
		}
	}
	if err := c.watchQuotas(quotas); err != nil {
		return nil, err
	}
	c.loop.WaitFor(c.monitors.hasSynced)
	return c, nil
}

// watchQuotas queues a quota when it is added, when its spec.hard changes,
// and when it is deleted (the sync then finds nothing to do).
func (c *Controller) watchQuotas(quotas coreinformers.ResourceQuotaInformer) error {
	reg, err := quotas.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.ResourceQuota)
			n, ok2 := cur.(*corev1.ResourceQuota)
			if ok1 && ok2 && quota.Equals(o.Spec.Hard, n.Spec.Hard) {
				return
			}
			c.enqueue(cur)
		},
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return fmt.Errorf("resourcequota: add event handler: %w", err)
	}
	c.loop.WaitFor(quotas.Informer().HasSynced, reg.HasSynced)
	return nil
}

func (c *Controller) enqueue(obj any) {
	for _, k := range loop.OwnKey(obj) {
		c.loop.Add(k)
	}
}

// Run recalculates quotas with the given number of workers until ctx ends,
// and all of them every ResyncPeriod.
func (c *Controller) Run(ctx context.Context, workers int) error {
	go wait.UntilWithContext(ctx, c.enqueueAll, c.resync)
	return c.loop.Run(ctx, workers)
}

func (c *Controller) enqueueAll(ctx context.Context) {
	all, err := c.quotas.List(labels.Everything())
	if err != nil {
		klog.FromContext(ctx).Error(err, "List resource quotas for a full resync")
		return
	}
	for _, q := range all {
		c.enqueue(q)
	}
}

// replenish queues the quotas of namespace that count something of
// evaluator's resource: one of their objects was deleted or changed, or,
// when created is set, created then. A creation queues only the quotas it
// may have escaped (see admissionBlindSpot).
func (c *Controller) replenish(e quota.Evaluator, namespace string, created time.Time) {
	all, err := c.quotas.ResourceQuotas(namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, q := range all {
		if !created.IsZero() && created.After(q.CreationTimestamp.Add(admissionBlindSpot)) {
			continue
		}
		if len(e.MatchingResources(quota.ResourceNames(q.Spec.Hard))) > 0 {
			c.enqueue(q)
		}
	}
}

// sync recalculates the status of the quota key names.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	q, err := c.quotas.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	// Start counting the resources only this quota names, before counting.
	var errs []error
	for _, name := range quota.ResourceNames(q.Spec.Hard) {
		if err := c.monitors.watchCount(ctx, c.registry, name); err != nil {
			errs = append(errs, err)
		}
	}

	hard := quota.Add(corev1.ResourceList{}, q.Spec.Hard)
	used := quota.Add(corev1.ResourceList{}, q.Status.Used)
	usage, err := quota.CalculateUsage(ns, q.Spec.Scopes, hard, c.registry, q.Spec.ScopeSelector)
	if err != nil {
		// Write what could be counted, and retry the rest.
		errs = append(errs, err)
	}
	for name, v := range usage {
		used[name] = v
	}
	used = quota.Mask(used, quota.ResourceNames(hard))

	dirty := q.Status.Hard == nil || q.Status.Used == nil ||
		!apiequality.Semantic.DeepEqual(q.Spec.Hard, q.Status.Hard) || !quota.Equals(used, q.Status.Used)
	if dirty {
		update := q.DeepCopy()
		update.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: used}
		if _, err := c.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, update, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			errs = append(errs, fmt.Errorf("update status of resource quota %s: %w", key, err))
		} else {
			klog.FromContext(ctx).V(4).Info("Updated resource quota usage", "resourceQuota", klog.KObj(q), "used", used)
		}
	}
	return errors.Join(errs...)
}
