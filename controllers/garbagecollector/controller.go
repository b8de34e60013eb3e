package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// DefaultDiscoveryInterval is how often the collector asks the server which
// resources it serves when Config.DiscoveryInterval is zero: upstream's 30 s.
// An owner reference to a kind not yet known asks for a discovery at once.
const DefaultDiscoveryInterval = 30 * time.Second

// minRediscover is the least time between two discoveries.
const minRediscover = 2 * time.Second

// unobservedRecheck is how long a dependent whose owner exists but has not
// been seen by an informer waits before its owners are looked up again.
const unobservedRecheck = 5 * time.Minute

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid garbage collector config")

// Config holds what the collector needs. Every field without a documented
// zero value is required.
type Config struct {
	// Metadata reads, patches and deletes objects of any resource, and
	// backs the metadata informers.
	Metadata metadata.Interface
	// Discovery tells which resources the server serves.
	Discovery discovery.DiscoveryInterface
	// Events records OwnerRefInvalidNamespace warnings. Zero value: none
	// are recorded.
	Events record.EventRecorder
	// DiscoveryInterval is how often discovery is refreshed, so that new
	// custom resources are watched. Zero value: DefaultDiscoveryInterval.
	DiscoveryInterval time.Duration
	// Resync is the informers' resync period. Zero value: none.
	Resync time.Duration
	// Informers, when set, returns a shared informer the process already
	// runs (or will start) for a resource, or nil. The collector watches
	// such a resource through it, with its own handler, rather than with a
	// second watch and cache of its own. Zero value: the collector runs a
	// metadata informer for every resource.
	Informers func(schema.GroupVersionResource) cache.SharedIndexInformer
	// Clock times how long informers take to sync. Zero value: the real
	// clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a collector. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Metadata == nil {
		errs = append(errs, fmt.Errorf("%w: Metadata is required", ErrInvalidConfig))
	}
	if c.Discovery == nil {
		errs = append(errs, fmt.Errorf("%w: Discovery is required", ErrInvalidConfig))
	}
	if c.DiscoveryInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: DiscoveryInterval must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller is the garbage collector. Build it with New and start it with
// Run.
type Controller struct {
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterfaceWithContext
	events    record.EventRecorder
	interval  time.Duration
	clock     clock.PassiveClock

	graph *graph
	kinds *kindMap
	// rediscover asks for a discovery before the interval is up: an owner
	// reference named a kind not (yet) known.
	rediscover chan struct{}
	monitors   *monitors
	loop       *loop.Loop
	// discovered is set once the first discovery's informers are started.
	discovered atomic.Bool
}

// New validates cfg and returns a collector. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		metadata:  cfg.Metadata,
		discovery: discovery.ToDiscoveryInterfaceWithContext(cfg.Discovery),
		events:    cfg.Events,
		interval:  cfg.DiscoveryInterval,
		graph:     newGraph(),
		kinds:     &kindMap{},

		rediscover: make(chan struct{}, 1),
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.interval == 0 {
		c.interval = DefaultDiscoveryInterval
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	c.clock = clk
	c.loop = loop.New("garbage-collector", c.sync)
	c.monitors = &monitors{
		client:  cfg.Metadata,
		graph:   c.graph,
		enqueue: func(uid types.UID) { c.loop.Add(string(uid)) },
		resync:  cfg.Resync,
		clock:   clk,
		shared:  cfg.Informers,
		running: map[schema.GroupVersionResource]*monitor{},
	}
	return c, nil
}

// Run discovers the served resources, starts watching them and collects
// garbage with the given number of workers until ctx ends. Discovery is
// refreshed every DiscoveryInterval. It returns nil after a clean shutdown.
func (c *Controller) Run(ctx context.Context, workers int) error {
	// The loop names its own logger; discovery and the informers get this one.
	logger := klog.LoggerWithName(klog.FromContext(ctx), "garbage-collector-discovery")
	loopCtx := ctx
	ctx = klog.NewContext(ctx, logger)
	defer c.monitors.stopAll()

	// The first discovery may race the server's start; keep trying.
	var first resources
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		r, err := discover(ctx, c.discovery)
		if err != nil {
			logger.V(2).Info("Discovery failed, will retry", "err", err)
			return false, nil
		}
		first = r
		return true, nil
	})
	if err != nil {
		return nil // ctx ended before the server answered
	}
	c.kinds.set(first)
	c.monitors.sync(ctx, first)
	c.discovered.Store(true)
	c.loop.WaitFor(c.monitors.synced)

	go c.discoverEvery(ctx)
	return c.loop.Run(loopCtx, workers)
}

// HasSynced reports whether the collector has discovered the served
// resources and its informers have listed them (or stopped waiting for
// those whose lists keep failing): its graph is complete.
func (c *Controller) HasSynced() bool {
	return c.discovered.Load() && c.monitors.synced()
}

// discoverEvery refreshes discovery every interval, and when asked to
// through rediscover (at most every minRediscover), until ctx ends.
func (c *Controller) discoverEvery(ctx context.Context) {
	logger := klog.FromContext(ctx)
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-c.rediscover:
		}
		r, err := discover(ctx, c.discovery)
		if err != nil {
			logger.V(2).Info("Discovery failed", "err", err)
		} else {
			c.kinds.set(r)
			c.monitors.sync(ctx, r)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(minRediscover):
		}
	}
}

// askRediscover asks for an early discovery; it never blocks.
func (c *Controller) askRediscover() {
	select {
	case c.rediscover <- struct{}{}:
	default:
	}
}
