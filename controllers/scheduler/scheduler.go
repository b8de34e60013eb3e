package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	policyinformers "k8s.io/client-go/informers/policy/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// DefaultName is the scheduler name pods get when they name none.
const DefaultName = corev1.DefaultSchedulerName

// Config is what the scheduler needs. Client, Pods and Nodes are required;
// the zero value of every other field means the default its comment
// names. The informers are shared ones the caller starts; Pods may leave
// out finished pods (upstream's field selector
// status.phase!=Succeeded,status.phase!=Failed).
type Config struct {
	Client kubernetes.Interface
	Pods   coreinformers.PodInformer
	Nodes  coreinformers.NodeInformer
	// Namespaces, when set, resolves the namespace selectors of pod
	// affinity terms; without it such a selector selects no namespace.
	Namespaces coreinformers.NamespaceInformer
	// Services, ReplicationControllers, ReplicaSets and StatefulSets, when
	// set, give pods without topology spread constraints upstream's
	// default spreading over the pods of the same owner or Service.
	Services               coreinformers.ServiceInformer
	ReplicationControllers coreinformers.ReplicationControllerInformer
	ReplicaSets            appsinformers.ReplicaSetInformer
	StatefulSets           appsinformers.StatefulSetInformer
	// PersistentVolumeClaims and PersistentVolumes, when set, keep pods
	// with bound claims on nodes their volumes' node affinity admits;
	// StorageClasses tells which unbound claims wait for their first pod,
	// which the scheduler then binds or has provisioned on the node it
	// chose before it binds the pod.
	PersistentVolumeClaims coreinformers.PersistentVolumeClaimInformer
	PersistentVolumes      coreinformers.PersistentVolumeInformer
	StorageClasses         storageinformers.StorageClassInformer
	// CSINodes, when set, keeps pods off nodes whose CSI drivers' volume
	// limits they would exceed.
	CSINodes storageinformers.CSINodeInformer
	// PodDisruptionBudgets, when set, lets preemption prefer victims whose
	// eviction breaks no budget.
	PodDisruptionBudgets policyinformers.PodDisruptionBudgetInformer
	// Name is the scheduler's name: it takes only pods whose
	// spec.schedulerName is Name. Default: DefaultName.
	Name string
	// Parallelism is how many nodes are filtered and scored at once.
	// Default: GOMAXPROCS.
	Parallelism int
	// PercentageOfNodesToScore caps, in clusters of 100 nodes or more, the
	// share of nodes searched for feasible ones. Default: upstream's
	// adaptive value (50% less 1% per 125 nodes, at least 5%).
	PercentageOfNodesToScore int
	// BindParallelism is how many binding requests may be under way at
	// once; further ones wait for a free slot (PreBind plugins, which may
	// wait for volumes, run before and hold none). It keeps a scheduler
	// that places pods faster than the API server binds them from
	// flooding the server with requests. Default: 256 (with 64, binding
	// latency capped 10,000 pods on 1,000 nodes at ~290 pods/s while the
	// scheduling loop and the server had CPU to spare; 256 bound them at
	// ~530 pods/s).
	BindParallelism int
	// Events records the Scheduled and FailedScheduling events. Default: a
	// recorder writing events.k8s.io/v1 Events through Client, reported
	// by Name.
	Events events.EventRecorder
	// Clock defaults to the real clock; Rand, which breaks ties between
	// nodes, to a source seeded from it.
	Clock clock.WithTicker
	Rand  *rand.Rand
}

// Validate reports missing or bad settings, without side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil || c.Pods == nil || c.Nodes == nil {
		errs = append(errs, errors.New("scheduler: Client, Pods and Nodes are required"))
	}
	if c.Parallelism < 0 {
		errs = append(errs, fmt.Errorf("scheduler: Parallelism %d is negative", c.Parallelism))
	}
	if c.BindParallelism < 0 {
		errs = append(errs, fmt.Errorf("scheduler: BindParallelism %d is negative", c.BindParallelism))
	}
	if c.PercentageOfNodesToScore < 0 || c.PercentageOfNodesToScore > 100 {
		errs = append(errs, fmt.Errorf("scheduler: PercentageOfNodesToScore %d is not within 0..100", c.PercentageOfNodesToScore))
	}
	return errors.Join(errs...)
}

// Scheduler is a running scheduler's state. Build it with New.
type Scheduler struct {
	client    kubernetes.Interface
	name      string
	pods      corelisters.PodLister
	pdbs      policylisters.PodDisruptionBudgetLister
	nominator *nominator
	events    events.EventRecorder
	clock     clock.WithTicker
	cache     *nodeCache
	queue     *queue
	algo      *algorithm
	synced    []cache.InformerSynced
	binding   sync.WaitGroup
	// binds holds a token per binding request under way
	// (BindParallelism).
	binds chan struct{}
	// handlers are the scheduler's event handlers, removed when Run returns.
	handlers []handler
}

// handler is one event handler the scheduler added to an informer.
type handler struct {
	informer cache.SharedIndexInformer
	reg      cache.ResourceEventHandlerRegistration
}

// New checks cfg, fills in its defaults and registers the scheduler's
// event handlers on the informers; nothing runs until Run.
func New(cfg Config) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = runtime.GOMAXPROCS(0)
	}
	if cfg.BindParallelism == 0 {
		cfg.BindParallelism = 256
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Rand == nil {
		seed := uint64(cfg.Clock.Now().UnixNano())
		cfg.Rand = rand.New(rand.NewPCG(seed, seed>>1))
	}
	s := &Scheduler{
		client:    cfg.Client,
		name:      cfg.Name,
		pods:      cfg.Pods.Lister(),
		events:    cfg.Events,
		clock:     cfg.Clock,
		cache:     newNodeCache(),
		queue:     newQueue(cfg.Clock),
		nominator: newNominator(),
		binds:     make(chan struct{}, cfg.BindParallelism),
	}
	if cfg.PodDisruptionBudgets != nil {
		s.pdbs = cfg.PodDisruptionBudgets.Lister()
		s.synced = append(s.synced, cfg.PodDisruptionBudgets.Informer().HasSynced)
	}
	var l listers
	if cfg.Namespaces != nil {
		l.namespaces = cfg.Namespaces.Lister()
		s.synced = append(s.synced, cfg.Namespaces.Informer().HasSynced)
	}
	if err := s.watchVolumes(cfg, &l); err != nil {
		s.removeHandlers()
		return nil, err
	}
	if cfg.Services != nil {
		l.spread.Services = cfg.Services.Lister()
		s.synced = append(s.synced, cfg.Services.Informer().HasSynced)
	}
	if cfg.ReplicationControllers != nil {
		l.spread.ReplicationControllers = cfg.ReplicationControllers.Lister()
		s.synced = append(s.synced, cfg.ReplicationControllers.Informer().HasSynced)
	}
	if cfg.ReplicaSets != nil {
		l.spread.ReplicaSets = cfg.ReplicaSets.Lister()
		s.synced = append(s.synced, cfg.ReplicaSets.Informer().HasSynced)
	}
	if cfg.StatefulSets != nil {
		l.spread.StatefulSets = cfg.StatefulSets.Lister()
		s.synced = append(s.synced, cfg.StatefulSets.Informer().HasSynced)
	}
	s.algo = &algorithm{
		profile:     newProfile(defaultPlugins(l)),
		parallelism: cfg.Parallelism,
		percentage:  cfg.PercentageOfNodesToScore,
		rand:        cfg.Rand,
		nominated:   s.nominator.on,
	}
	if err := s.addHandlers(cfg); err != nil {
		s.removeHandlers()
		return nil, err
	}
	return s, nil
}

// Run waits for the caches, then schedules pods one at a time until ctx
// ends. Bindings run in the background; Run returns once the last has
// finished, and removes the scheduler's event handlers from the informers,
// which the caller may go on using. Run may be called only once.
func (s *Scheduler) Run(ctx context.Context) error {
	defer s.removeHandlers()
	logger := klog.LoggerWithName(klog.FromContext(ctx), "scheduler")
	ctx = klog.NewContext(ctx, logger)
	if s.events == nil {
		b := events.NewBroadcaster(&events.EventSinkImpl{Interface: s.client.EventsV1()})
		if err := b.StartRecordingToSinkWithContext(ctx); err != nil {
			return fmt.Errorf("scheduler: start event recording: %w", err)
		}
		defer b.Shutdown()
		s.events = b.NewRecorder(scheme.Scheme, s.name)
	}
	logger.Info("Starting scheduler", "name", s.name)
	defer logger.Info("Stopped scheduler")
	if !cache.WaitForNamedCacheSyncWithContext(ctx, s.synced...) {
		return fmt.Errorf("scheduler: wait for cache sync: %w", context.Cause(ctx))
	}
	defer s.binding.Wait()
	for {
		qp, err := s.queue.pop(ctx)
		if err != nil {
			return nil
		}
		s.scheduleOne(ctx, qp)
	}
}

// now is the scheduler's clock's time, for conditions.
func (s *Scheduler) now() time.Time { return s.clock.Now() }
