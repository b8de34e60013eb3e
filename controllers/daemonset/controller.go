package daemonset

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/workload"
)

// kind is the kind of the objects this controller manages.
var kind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// DefaultBurstReplicas is how many pods one sync creates or deletes at most
// when Config.BurstReplicas is zero, as upstream.
const DefaultBurstReplicas = 250

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid daemonset controller config")

// Config holds what the controller needs. Every field without a documented
// zero value is required.
type Config struct {
	// Client creates and deletes pods and revisions and writes status.
	Client kubernetes.Interface
	// DaemonSets, Pods, Nodes and Revisions are the shared informers; New
	// adds an index to Pods, so it must be called before the informers start.
	DaemonSets appsinformers.DaemonSetInformer
	Pods       coreinformers.PodInformer
	Nodes      coreinformers.NodeInformer
	Revisions  appsinformers.ControllerRevisionInformer
	// Events records pod creations and deletions on the daemon set. Zero
	// value: none are recorded.
	Events record.EventRecorder
	// BurstReplicas caps the pods one sync creates or deletes. Zero value:
	// DefaultBurstReplicas.
	BurstReplicas int
	// Clock times availability (minReadySeconds), expectations and the
	// backoff before a failed pod is replaced. Zero value: the real clock.
	Clock clock.Clock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	for name, missing := range map[string]bool{
		"Client": c.Client == nil, "DaemonSets": c.DaemonSets == nil, "Pods": c.Pods == nil,
		"Nodes": c.Nodes == nil, "Revisions": c.Revisions == nil,
	} {
		if missing {
			errs = append(errs, fmt.Errorf("%w: %s is required", ErrInvalidConfig, name))
		}
	}
	if c.BurstReplicas < 0 {
		errs = append(errs, fmt.Errorf("%w: BurstReplicas must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller runs one pod of every DaemonSet on each node it should run
// on. Build it with New and start it with Run.
type Controller struct {
	client    kubernetes.Interface
	sets      appslisters.DaemonSetLister
	pods      cache.Indexer
	nodes     corelisters.NodeLister
	revs      appslisters.ControllerRevisionLister
	events    record.EventRecorder
	burst     int
	clock     clock.Clock
	expects   *workload.Expectations
	failedPod *flowcontrol.Backoff
	loop      *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client: cfg.Client,
		sets:   cfg.DaemonSets.Lister(),
		nodes:  cfg.Nodes.Lister(),
		revs:   cfg.Revisions.Lister(),
		events: cfg.Events,
		burst:  cfg.BurstReplicas,
		clock:  cfg.Clock,
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.burst == 0 {
		c.burst = DefaultBurstReplicas
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.expects = workload.NewExpectations(c.clock)
	c.failedPod = flowcontrol.NewBackOffWithJitter(time.Second, 15*time.Minute, 0)
	c.failedPod.Clock = c.clock
	c.loop = loop.New("daemonset-controller", c.sync)

	pods := cfg.Pods.Informer()
	if err := workload.IndexPods(pods); err != nil {
		return nil, err
	}
	c.pods = pods.GetIndexer()
	if err := loop.Watch(c.loop, cfg.DaemonSets.Informer(), loop.OwnKey, true); err != nil {
		return nil, err
	}
	reg, err := pods.AddEventHandler(workload.PodEvents{
		KeyOf: c.keyOf, Matching: c.matching, Expectations: c.expects, Enqueue: c.loop.Add,
	}.Handler())
	if err != nil {
		return nil, fmt.Errorf("daemonset-controller: add pod event handler: %w", err)
	}
	c.loop.WaitFor(pods.HasSynced, reg.HasSynced)
	nodes := cfg.Nodes.Informer()
	reg, err = nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { c.all() },
		UpdateFunc: func(old, cur any) {
			if o, n := old.(*corev1.Node), cur.(*corev1.Node); o == nil || n == nil || placementChanged(o, n) {
				c.all()
			}
		},
		DeleteFunc: func(any) { c.all() },
	})
	if err != nil {
		return nil, fmt.Errorf("daemonset-controller: add node event handler: %w", err)
	}
	c.loop.WaitFor(nodes.HasSynced, reg.HasSynced, cfg.Revisions.Informer().HasSynced)
	return c, nil
}

// Run syncs daemon sets with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// placementChanged reports whether a node update can change which daemon
// pods belong on it: its labels, taints or unschedulable flag, or its name
// fields (never).
func placementChanged(old, cur *corev1.Node) bool {
	return !equality.Semantic.DeepEqual(old.Labels, cur.Labels) ||
		!equality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) ||
		old.Spec.Unschedulable != cur.Spec.Unschedulable
}

// all queues every daemon set.
func (c *Controller) all() {
	sets, err := c.sets.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range sets {
		c.loop.Add(ds.Namespace + "/" + ds.Name)
	}
}

// matching returns the keys of the daemon sets whose selector matches p.
func (c *Controller) matching(p *corev1.Pod) []string {
	sets, err := c.sets.DaemonSets(p.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	for _, ds := range sets {
		if s, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector); err == nil && !s.Empty() && s.Matches(labels.Set(p.Labels)) {
			keys = append(keys, p.Namespace+"/"+ds.Name)
		}
	}
	return keys
}

// keyOf returns the key of the daemon set a controller reference names, if
// it is one in the cache with that uid.
func (c *Controller) keyOf(ns string, ref *metav1.OwnerReference) string {
	if ref.Kind != kind.Kind {
		return ""
	}
	ds, err := c.sets.DaemonSets(ns).Get(ref.Name)
	if err != nil || ds.UID != ref.UID {
		return ""
	}
	return ns + "/" + ds.Name
}
