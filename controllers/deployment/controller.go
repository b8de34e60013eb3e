package deployment

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid deployment controller config")

// Config holds what the controller needs. Every field without a documented
// zero value is required.
type Config struct {
	// Client creates, scales and deletes ReplicaSets and writes Deployments.
	Client kubernetes.Interface
	// Deployments, ReplicaSets and Pods are shared informers the caller
	// starts; Run waits for their caches.
	Deployments appsinformers.DeploymentInformer
	ReplicaSets appsinformers.ReplicaSetInformer
	Pods        coreinformers.PodInformer
	// Events records scaling on the Deployment. Zero value: none recorded.
	Events record.EventRecorder
	// Clock stamps conditions and measures progress deadlines. Zero value:
	// the real clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	if c.Client == nil || c.Deployments == nil || c.ReplicaSets == nil || c.Pods == nil {
		return fmt.Errorf("%w: Client, Deployments, ReplicaSets and Pods are required", ErrInvalidConfig)
	}
	return nil
}

// Controller rolls Deployments out through ReplicaSets. Build it with New
// and start it with Run.
type Controller struct {
	client      kubernetes.Interface
	deployments appslisters.DeploymentLister
	replicaSets appslisters.ReplicaSetLister
	pods        corelisters.PodLister
	events      record.EventRecorder
	clock       clock.PassiveClock
	loop        *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client:      cfg.Client,
		deployments: cfg.Deployments.Lister(),
		replicaSets: cfg.ReplicaSets.Lister(),
		pods:        cfg.Pods.Lister(),
		events:      cfg.Events,
		clock:       cfg.Clock,
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("deployment-controller", c.sync)
	if err := loop.Watch(c.loop, cfg.Deployments.Informer(), loop.OwnKey, true); err != nil {
		return nil, err
	}
	if err := loop.Watch(c.loop, cfg.ReplicaSets.Informer(), c.deploymentsOfReplicaSet, true); err != nil {
		return nil, err
	}
	// A Recreate rollout waits for the old pods to go.
	if err := loop.Watch(c.loop, cfg.Pods.Informer(), c.deploymentOfPod, true); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs Deployments with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// deploymentsOfReplicaSet returns the key of the Deployment controlling a
// ReplicaSet or, for an orphan, of every Deployment whose selector matches
// it (one may adopt it).
func (c *Controller) deploymentsOfReplicaSet(obj any) []string {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if key := c.keyOf(rs.Namespace, ref); key != "" {
			return []string{key}
		}
		return nil
	}
	ds, err := c.deployments.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			keys = append(keys, d.Namespace+"/"+d.Name)
		}
	}
	return keys
}

// deploymentOfPod returns the key of the Recreate Deployment whose
// ReplicaSet controls a pod.
func (c *Controller) deploymentOfPod(obj any) []string {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return nil
	}
	rs, err := c.replicaSets.ReplicaSets(p.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	owner := metav1.GetControllerOfNoCopy(rs)
	if owner == nil {
		return nil
	}
	d, err := c.deployments.Deployments(p.Namespace).Get(owner.Name)
	if err != nil || d.UID != owner.UID || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		return nil
	}
	return []string{d.Namespace + "/" + d.Name}
}

func (c *Controller) keyOf(ns string, ref *metav1.OwnerReference) string {
	if ref.Kind != "Deployment" || !strings.HasPrefix(ref.APIVersion, "apps/") {
		return ""
	}
	d, err := c.deployments.Deployments(ns).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return ""
	}
	return ns + "/" + d.Name
}

// sync moves one Deployment a step towards its desired state: it claims
// its ReplicaSets, then either only resizes them (paused, a scaling event,
// or being deleted) or rolls out with its strategy, and writes the status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	cached, err := c.deployments.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := cached.DeepCopy()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() {
		c.events.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		return loop.Terminal(fmt.Errorf("deployment %s has an invalid or empty selector", key))
	}
	owned, err := c.claimReplicaSets(ctx, d, sel)
	if err != nil {
		return err
	}
	newRS, old := split(d, owned)
	r := &rollout{d: d, newRS: newRS, old: old}
	switch {
	case d.DeletionTimestamp != nil:
		return c.writeStatus(ctx, r, false)
	case d.Spec.Paused || scalingEvent(d, r):
		return c.scale(ctx, r)
	case d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType:
		return c.recreate(ctx, r)
	}
	return c.rolling(ctx, r)
}
