package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinformers "k8s.io/client-go/informers/coordination/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/node/topology"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/podnode"
)

// Upstream's defaults (kube-controller-manager's --node-monitor-grace-period,
// --node-startup-grace-period and --node-monitor-period).
const (
	DefaultGracePeriod        = 50 * time.Second
	DefaultStartupGracePeriod = 60 * time.Second
	// monitorPeriod is how often a node that is not ready is looked at
	// again, so that a change of its zone's state reaches its taints.
	monitorPeriod = 5 * time.Second
)

// labelExcludeDisruption keeps a node out of the zone disruption counts.
const labelExcludeDisruption = "node.kubernetes.io/exclude-disruption"

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid node lifecycle controller config")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client writes node status, node taints and pod status.
	Client kubernetes.Interface
	// Nodes, Leases and Pods are the shared informers.
	Nodes  coreinformers.NodeInformer
	Leases coordinformers.LeaseInformer
	Pods   coreinformers.PodInformer
	// Events records NodeNotReady events. Nil: none.
	Events record.EventRecorder
	// GracePeriod is how long a node may go without a heartbeat before it
	// is Unknown. Zero: DefaultGracePeriod.
	GracePeriod time.Duration
	// StartupGracePeriod replaces GracePeriod for a node that never
	// reported a Ready condition, counted from its creation. Zero:
	// DefaultStartupGracePeriod.
	StartupGracePeriod time.Duration
	// Clock is the controller's own clock for heartbeats. Zero: the real
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
	if c.Nodes == nil || c.Leases == nil || c.Pods == nil {
		errs = append(errs, fmt.Errorf("%w: Nodes, Leases and Pods are required", ErrInvalidConfig))
	}
	if c.GracePeriod < 0 || c.StartupGracePeriod < 0 {
		errs = append(errs, fmt.Errorf("%w: grace periods must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller keeps nodes' conditions and taints in line with their
// heartbeats. Build it with New and start it with Run.
type Controller struct {
	client  kubernetes.Interface
	nodes   corelisters.NodeLister
	leases  coordlisters.LeaseLister
	pods    *podnode.Index
	events  record.EventRecorder
	grace   time.Duration
	startup time.Duration
	clock   clock.PassiveClock
	loop    *loop.Loop
	zones   *zones

	mu     sync.Mutex
	health map[string]*health
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pods, err := podnode.New(cfg.Pods.Informer())
	if err != nil {
		return nil, err
	}
	c := &Controller{
		client:  cfg.Client,
		nodes:   cfg.Nodes.Lister(),
		leases:  cfg.Leases.Lister(),
		pods:    pods,
		events:  cfg.Events,
		grace:   cfg.GracePeriod,
		startup: cfg.StartupGracePeriod,
		clock:   cfg.Clock,
		zones:   newZones(),
		health:  map[string]*health{},
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.grace == 0 {
		c.grace = DefaultGracePeriod
	}
	if c.startup == 0 {
		c.startup = DefaultStartupGracePeriod
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("node-lifecycle-controller", c.sync)
	if err := loop.Watch(c.loop, cfg.Nodes.Informer(), loop.OwnKey, true); err != nil {
		return nil, err
	}
	err = loop.Watch(c.loop, cfg.Leases.Informer(), func(obj any) []string {
		if l, ok := obj.(*coordinationv1.Lease); ok && l.Namespace == corev1.NamespaceNodeLease {
			return []string{l.Name}
		}
		return nil
	}, true)
	if err != nil {
		return nil, err
	}
	// A Ready pod bound to a node that is not ready is to be marked not
	// ready: its node is looked at.
	err = loop.Watch(c.loop, cfg.Pods.Informer(), func(obj any) []string {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" && podReady(p) {
			return []string{p.Spec.NodeName}
		}
		return nil
	}, false)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs nodes with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// sync brings the node called name in line with its heartbeats: conditions
// Unknown once the grace period passed without one, taints after its
// conditions, its pods not ready while it is not.
func (c *Controller) sync(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(name)
		return nil
	}
	if err != nil {
		return err
	}
	lease, err := c.leases.Leases(corev1.NamespaceNodeLease).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	now := c.clock.Now()
	h := c.observe(node, lease, now)
	grace := c.grace
	if readyCondition(node) == nil {
		grace = c.startup
	}
	if left := h.probe.Add(grace).Sub(now); left >= 0 {
		c.loop.AddAfter(name, left+time.Millisecond)
	} else if node, err = c.setUnknown(ctx, node, now); err != nil {
		return err
	}

	var ready corev1.ConditionStatus
	if rc := readyCondition(node); rc != nil {
		ready = rc.Status
	}
	zone := topology.GetZoneKey(node)
	if _, excluded := node.Labels[labelExcludeDisruption]; excluded {
		c.zones.remove(name)
	} else {
		c.zones.set(name, zone, ready == corev1.ConditionTrue)
	}
	state, all := c.zones.state(zone)
	if node, err = c.setTaints(ctx, node, ready, state, all, now); err != nil {
		return err
	}

	if ready == corev1.ConditionTrue {
		h.marked = nil
		return nil
	}
	c.loop.AddAfter(name, monitorPeriod)
	if ready == "" {
		return nil
	}
	return c.markPodsNotReady(ctx, node, h)
}

// observe updates and returns the node's health record.
func (c *Controller) observe(node *corev1.Node, lease *coordinationv1.Lease, now time.Time) *health {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := observe(c.health[node.Name], node, lease, now)
	c.health[node.Name] = h
	return h
}

// forget drops what the controller knows of a deleted node.
func (c *Controller) forget(name string) {
	c.mu.Lock()
	delete(c.health, name)
	c.mu.Unlock()
	c.zones.remove(name)
}

// setUnknown writes node's conditions Unknown, if they are not, and returns
// the node as written.
func (c *Controller) setUnknown(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	wasReady := readyCondition(node) != nil && readyCondition(node).Status == corev1.ConditionTrue
	updated := node.DeepCopy()
	if !markUnknown(updated, now) {
		return node, nil
	}
	updated, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("set conditions of node %s unknown: %w", node.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Node stopped posting status, conditions set Unknown", "node", klog.KObj(node))
	if wasReady {
		c.events.Eventf(&corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: node.Name, UID: node.UID},
			corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", node.Name)
	}
	return updated, nil
}

// setTaints gives node the taints its conditions call for, and returns the
// node as written. The NoExecute taint for a node that is not ready is
// withheld while every zone is fully disrupted, and not newly added while
// the node's zone is partially disrupted.
func (c *Controller) setTaints(ctx context.Context, node *corev1.Node, ready corev1.ConditionStatus, state zoneState, all bool, now time.Time) (*corev1.Node, error) {
	want := noScheduleTaints(node)
	if key := noExecuteKey(ready); key != "" && !all {
		already := hasTaint(node.Spec.Taints, corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute) ||
			hasTaint(node.Spec.Taints, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
		if already || state != zonePartialDisruption {
			want = append(want, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoExecute})
		}
	}
	taints, changed := desiredTaints(node, want, now)
	if !changed {
		return node, nil
	}
	updated := node.DeepCopy()
	updated.Spec.Taints = taints
	updated, err := c.client.CoreV1().Nodes().Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("set taints of node %s: %w", node.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Updated node taints", "node", klog.KObj(node), "taints", taints)
	return updated, nil
}
