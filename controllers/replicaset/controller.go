package replicaset

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/workload"
)

// DefaultBurstReplicas is how many pods one sync creates or deletes at most
// when Config.BurstReplicas is zero.
const DefaultBurstReplicas = 500

// byController is the pod index this package adds to the pod informer:
// pods by the uid of their controller, orphans by "orphan/<namespace>".
const byController = "replicaset.kubelite.io/controller"

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid replica set controller config")

// Config holds what the controller needs. Exactly one of ReplicaSets and
// ReplicationControllers is set: it says which kind this controller manages.
// Every other field without a documented zero value is required.
type Config struct {
	// Client creates, patches and deletes pods and writes status.
	Client kubernetes.Interface
	// Pods is the shared pod informer; the controller adds an index to it,
	// so New must be called before the informer starts.
	Pods coreinformers.PodInformer
	// ReplicaSets makes this a ReplicaSet controller.
	ReplicaSets appsinformers.ReplicaSetInformer
	// ReplicationControllers makes this a ReplicationController controller.
	ReplicationControllers coreinformers.ReplicationControllerInformer
	// Events records pod creations and deletions on the set. Zero value:
	// none are recorded.
	Events record.EventRecorder
	// BurstReplicas caps the pods one sync creates or deletes. Zero value:
	// DefaultBurstReplicas.
	BurstReplicas int
	// Clock times availability (minReadySeconds) and expectations. Zero
	// value: the real clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, fmt.Errorf("%w: Client is required", ErrInvalidConfig))
	}
	if c.Pods == nil {
		errs = append(errs, fmt.Errorf("%w: Pods is required", ErrInvalidConfig))
	}
	if (c.ReplicaSets == nil) == (c.ReplicationControllers == nil) {
		errs = append(errs, fmt.Errorf("%w: exactly one of ReplicaSets and ReplicationControllers is required", ErrInvalidConfig))
	}
	if c.BurstReplicas < 0 {
		errs = append(errs, fmt.Errorf("%w: BurstReplicas must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller keeps the pods of every ReplicaSet (or every
// ReplicationController) at its replica count. Build it with New and start
// it with Run.
type Controller struct {
	client  kubernetes.Interface
	kind    kind
	pods    cache.Indexer
	events  record.EventRecorder
	burst   int
	clock   clock.PassiveClock
	expects *workload.Expectations
	// podEvents is the pod informer's handler.
	podEvents cache.ResourceEventHandlerFuncs
	loop      *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{client: cfg.Client, events: cfg.Events, burst: cfg.BurstReplicas, clock: cfg.Clock}
	if cfg.ReplicaSets != nil {
		c.kind = replicaSets{client: cfg.Client, shared: cfg.ReplicaSets}
	} else {
		c.kind = replicationControllers{client: cfg.Client, shared: cfg.ReplicationControllers}
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
	name := "replicaset-controller"
	if cfg.ReplicationControllers != nil {
		name = "replicationcontroller-controller"
	}
	c.loop = loop.New(name, c.sync)

	pods := cfg.Pods.Informer()
	if _, ok := pods.GetIndexer().GetIndexers()[byController]; !ok {
		if err := pods.AddIndexers(cache.Indexers{byController: controllerIndex}); err != nil {
			return nil, fmt.Errorf("%s: index pods: %w", name, err)
		}
	}
	c.pods = pods.GetIndexer()
	if err := loop.Watch(c.loop, c.kind.informer(), loop.OwnKey, true); err != nil {
		return nil, err
	}
	c.podEvents = workload.PodEvents{KeyOf: c.keyOf, Matching: c.matching, Expectations: c.expects, Enqueue: c.loop.Add}.Handler()
	reg, err := pods.AddEventHandler(c.podEvents)
	if err != nil {
		return nil, fmt.Errorf("%s: add pod event handler: %w", name, err)
	}
	c.loop.WaitFor(pods.HasSynced, reg.HasSynced)
	return c, nil
}

// Run syncs sets with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func controllerIndex(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	if ref := metav1.GetControllerOf(p); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return []string{"orphan/" + p.Namespace}, nil
}

// keyOf returns the key of the set a controller reference names, if it is
// of this controller's kind and in the cache with that uid.
func (c *Controller) keyOf(ns string, ref *metav1.OwnerReference) string {
	gvk := c.kind.gvk()
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != gvk.Group || ref.Kind != gvk.Kind {
		return ""
	}
	s, err := c.kind.get(ns, ref.Name)
	if err != nil || s.meta.UID != ref.UID {
		return ""
	}
	return ns + "/" + ref.Name
}

// matching returns the keys of the sets whose selector matches the pod.
func (c *Controller) matching(p *corev1.Pod) []string {
	sets, err := c.kind.list(p.Namespace)
	if err != nil {
		return nil
	}
	var keys []string
	for _, s := range sets {
		if s.selector != nil && s.selector.Matches(labels.Set(p.Labels)) {
			keys = append(keys, p.Namespace+"/"+s.meta.Name)
		}
	}
	return keys
}
