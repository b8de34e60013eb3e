package statefulset

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/workload"
)

// kind is the kind of the objects this controller manages.
var kind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// podKind is the kind of a pod, as a claim's owner reference names it.
var podKind = corev1.SchemeGroupVersion.WithKind("Pod")

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid statefulset controller config")

// Config holds what the controller needs. Every field without a documented
// zero value is required.
type Config struct {
	// Client creates, updates and deletes pods, claims and revisions, and
	// writes status.
	Client kubernetes.Interface
	// StatefulSets, Pods, Claims and Revisions are the shared informers; New
	// adds an index to Pods, so it must be called before the informers start.
	StatefulSets appsinformers.StatefulSetInformer
	Pods         coreinformers.PodInformer
	Claims       coreinformers.PersistentVolumeClaimInformer
	Revisions    appsinformers.ControllerRevisionInformer
	// Events records pod and claim creations, updates and deletions on the
	// set. Zero value: none are recorded.
	Events record.EventRecorder
	// Clock times availability (minReadySeconds). Zero value: the real clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	for name, missing := range map[string]bool{
		"Client": c.Client == nil, "StatefulSets": c.StatefulSets == nil, "Pods": c.Pods == nil,
		"Claims": c.Claims == nil, "Revisions": c.Revisions == nil,
	} {
		if missing {
			errs = append(errs, fmt.Errorf("%w: %s is required", ErrInvalidConfig, name))
		}
	}
	return errors.Join(errs...)
}

// Controller keeps the pods, claims and revisions of every StatefulSet as
// its spec says. Build it with New and start it with Run.
type Controller struct {
	client kubernetes.Interface
	sets   appslisters.StatefulSetLister
	pods   cache.Indexer
	claims corelisters.PersistentVolumeClaimLister
	revs   appslisters.ControllerRevisionLister
	events record.EventRecorder
	clock  clock.PassiveClock
	loop   *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client: cfg.Client,
		sets:   cfg.StatefulSets.Lister(),
		claims: cfg.Claims.Lister(),
		revs:   cfg.Revisions.Lister(),
		events: cfg.Events,
		clock:  cfg.Clock,
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("statefulset-controller", c.sync)

	pods := cfg.Pods.Informer()
	if err := workload.IndexPods(pods); err != nil {
		return nil, err
	}
	c.pods = pods.GetIndexer()
	if err := loop.Watch(c.loop, cfg.StatefulSets.Informer(), loop.OwnKey, true); err != nil {
		return nil, err
	}
	if err := loop.Watch(c.loop, pods, c.podKeys, true); err != nil {
		return nil, err
	}
	claims, revisions := cfg.Claims.Informer(), cfg.Revisions.Informer()
	c.loop.WaitFor(claims.HasSynced, revisions.HasSynced)
	return c, nil
}

// Run syncs sets with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// podKeys returns the sets a pod's change concerns: its controller if that
// is a set in the cache, or, for an orphan, every set of its namespace
// whose selector matches it (it may adopt the pod).
func (c *Controller) podKeys(obj any) []string {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if ref.Kind != kind.Kind {
			return nil
		}
		s, err := c.sets.StatefulSets(p.Namespace).Get(ref.Name)
		if err != nil || s.UID != ref.UID {
			return nil
		}
		return []string{p.Namespace + "/" + s.Name}
	}
	sets, err := c.sets.StatefulSets(p.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	for _, s := range sets {
		selector, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
		if err == nil && !selector.Empty() && selector.Matches(labels.Set(p.Labels)) {
			keys = append(keys, p.Namespace+"/"+s.Name)
		}
	}
	return keys
}

// requeueAfter queues key again once d has passed (availability checks).
func (c *Controller) requeueAfter(key string, d time.Duration) { c.loop.AddAfter(key, d) }
