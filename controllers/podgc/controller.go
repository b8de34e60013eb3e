// Package podgc deletes pods nobody else will, as upstream's pod garbage
// collector does:
//
//   - pods bound to a node that no longer exists: once the node has been
//     missing from the cache for the quarantine period (upstream's 40 s) and
//     a live read confirms it is gone, they get the DisruptionTarget
//     condition (reason DeletionByPodGC), phase Failed, and are deleted at
//     once;
//   - pods being deleted that were never scheduled: phase Failed, deleted at
//     once;
//   - pods being deleted on a node that is not Ready and carries the
//     node.kubernetes.io/out-of-service taint: phase Failed, deleted at
//     once;
//   - terminated pods (Succeeded or Failed) beyond the threshold (upstream's
//     12500): the oldest go first, evicted ones before the rest.
//
// Upstream looks every 20 s; this controller acts on pod and node events
// instead.
package podgc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/podnode"
)

// Upstream's defaults.
const (
	// DefaultTerminatedThreshold is kube-controller-manager's
	// --terminated-pod-gc-threshold.
	DefaultTerminatedThreshold = 12500
	// DefaultQuarantine is how long a node must be missing before its pods
	// are deleted.
	DefaultQuarantine = 40 * time.Second
)

// Upstream's reason and message for the DisruptionTarget condition of a pod
// whose node is gone.
const (
	ReasonDeletionByPodGC = "DeletionByPodGC"
	messageOrphaned       = "PodGC: node no longer exists"
)

// terminatedKey queues the pass over terminated pods; pod keys always hold a
// slash, so it cannot collide with one.
const terminatedKey = "terminated"

// terminatedBatch is how long the terminated pass waits for more pods to
// finish before it counts them.
const terminatedBatch = time.Second

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid pod gc controller config")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client reads nodes and patches and deletes pods.
	Client kubernetes.Interface
	// Pods and Nodes are the shared informers.
	Pods  coreinformers.PodInformer
	Nodes coreinformers.NodeInformer
	// TerminatedThreshold is how many terminated pods may stay. Zero:
	// DefaultTerminatedThreshold; negative: no limit.
	TerminatedThreshold int
	// Quarantine is how long a node must be missing before its pods are
	// deleted. Zero: DefaultQuarantine.
	Quarantine time.Duration
	// Clock times the quarantine. Zero: the real clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, fmt.Errorf("%w: Client is required", ErrInvalidConfig))
	}
	if c.Pods == nil || c.Nodes == nil {
		errs = append(errs, fmt.Errorf("%w: Pods and Nodes are required", ErrInvalidConfig))
	}
	if c.Quarantine < 0 {
		errs = append(errs, fmt.Errorf("%w: Quarantine must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller is the pod garbage collector. Build it with New and start it
// with Run.
type Controller struct {
	client     kubernetes.Interface
	pods       corelisters.PodLister
	nodes      corelisters.NodeLister
	byNode     *podnode.Index
	threshold  int
	quarantine time.Duration
	clock      clock.PassiveClock
	loop       *loop.Loop

	mu sync.Mutex
	// missing holds when each node that pods name was first found missing.
	missing map[string]time.Time
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	byNode, err := podnode.New(cfg.Pods.Informer())
	if err != nil {
		return nil, err
	}
	c := &Controller{
		client:     cfg.Client,
		pods:       cfg.Pods.Lister(),
		nodes:      cfg.Nodes.Lister(),
		byNode:     byNode,
		threshold:  cfg.TerminatedThreshold,
		quarantine: cfg.Quarantine,
		clock:      cfg.Clock,
		missing:    map[string]time.Time{},
	}
	if c.threshold == 0 {
		c.threshold = DefaultTerminatedThreshold
	}
	if c.quarantine == 0 {
		c.quarantine = DefaultQuarantine
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("pod-garbage-collector", c.sync)

	pods := cfg.Pods.Informer()
	enqueuePod := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if terminated(pod) && c.threshold > 0 {
			c.loop.AddAfter(terminatedKey, terminatedBatch)
		}
		if pod.DeletionTimestamp != nil || (pod.Spec.NodeName != "" && !c.nodeCached(pod.Spec.NodeName)) {
			c.enqueue(pod)
		}
	}
	reg, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueuePod,
		UpdateFunc: func(_, cur any) { enqueuePod(cur) },
	})
	if err != nil {
		return nil, fmt.Errorf("pod-garbage-collector: add pod handler: %w", err)
	}
	c.loop.WaitFor(pods.HasSynced, reg.HasSynced)

	nodes := cfg.Nodes.Informer()
	reg, err = nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if node, ok := obj.(*corev1.Node); ok {
				c.mu.Lock()
				delete(c.missing, node.Name)
				c.mu.Unlock()
			}
		},
		// A node that went out of service may release its terminating
		// pods.
		UpdateFunc: func(_, cur any) {
			if node, ok := cur.(*corev1.Node); ok && outOfService(node) {
				c.enqueueNode(node.Name, func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if node, ok := obj.(*corev1.Node); ok {
				c.enqueueNode(node.Name, func(*corev1.Pod) bool { return true })
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("pod-garbage-collector: add node handler: %w", err)
	}
	c.loop.WaitFor(nodes.HasSynced, reg.HasSynced)
	return c, nil
}

// Run collects pods with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func (c *Controller) enqueue(pod *corev1.Pod) {
	if key, err := cache.MetaNamespaceKeyFunc(pod); err == nil {
		c.loop.Add(key)
	}
}

func (c *Controller) enqueueNode(name string, which func(*corev1.Pod) bool) {
	for _, p := range c.byNode.Pods(name) {
		if which(p) {
			c.enqueue(p)
		}
	}
}

func (c *Controller) nodeCached(name string) bool {
	_, err := c.nodes.Get(name)
	return err == nil
}

// sync deletes the pod key names if nobody else will, or runs the pass over
// terminated pods.
func (c *Controller) sync(ctx context.Context, key string) error {
	if key == terminatedKey {
		return c.gcTerminated(ctx)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := klog.FromContext(ctx)
	if pod.Spec.NodeName == "" {
		if pod.DeletionTimestamp == nil {
			return nil
		}
		logger.V(2).Info("Deleting unscheduled terminating pod", "pod", klog.KObj(pod))
		return c.forceDelete(ctx, pod, nil)
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	switch {
	case apierrors.IsNotFound(err):
		return c.collectOrphan(ctx, key, pod)
	case err != nil:
		return err
	case pod.DeletionTimestamp != nil && outOfService(node) && !nodeReady(node):
		logger.V(2).Info("Deleting terminating pod on out-of-service node", "pod", klog.KObj(pod), "node", klog.KObj(node))
		return c.forceDelete(ctx, pod, nil)
	}
	return nil
}

// collectOrphan deletes pod, whose node is missing from the cache, once the
// quarantine has passed and the server confirms the node is gone.
func (c *Controller) collectOrphan(ctx context.Context, key string, pod *corev1.Pod) error {
	nodeName := pod.Spec.NodeName
	now := c.clock.Now()
	c.mu.Lock()
	since, ok := c.missing[nodeName]
	if !ok {
		since = now
		c.missing[nodeName] = now
	}
	c.mu.Unlock()
	if left := since.Add(c.quarantine).Sub(now); left > 0 {
		c.loop.AddAfter(key, left)
		return nil
	}
	_, err := c.client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err == nil {
		return nil // The cache lags; the node's add event clears the quarantine.
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get node %s: %w", nodeName, err)
	}
	klog.FromContext(ctx).V(2).Info("Deleting orphaned pod of deleted node", "pod", klog.KObj(pod), "node", klog.KRef("", nodeName))
	err = c.forceDelete(ctx, pod, &corev1.PodCondition{
		Type:               corev1.DisruptionTarget,
		Status:             corev1.ConditionTrue,
		Reason:             ReasonDeletionByPodGC,
		Message:            messageOrphaned,
		LastTransitionTime: metav1.NewTime(now),
	})
	c.prune(now)
	return err
}

// prune forgets the missing nodes whose quarantine has passed and that no
// cached pod names any more.
func (c *Controller) prune(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, since := range c.missing {
		if now.Sub(since) > c.quarantine && len(c.byNode.Pods(name)) == 0 {
			delete(c.missing, name)
		}
	}
}

// forceDelete marks pod Failed (and with cond) and deletes it at once.
func (c *Controller) forceDelete(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition) error {
	var zero int64
	return podnode.Delete(ctx, c.client, pod, podnode.Deletion{Condition: cond, Fail: true, GracePeriodSeconds: &zero})
}

// gcTerminated deletes the terminated pods beyond the threshold.
func (c *Controller) gcTerminated(ctx context.Context) error {
	all, err := c.pods.List(labels.Everything())
	if err != nil {
		return err
	}
	var done []*corev1.Pod
	for _, p := range all {
		if terminated(p) && p.DeletionTimestamp == nil {
			done = append(done, p)
		}
	}
	excess := len(done) - c.threshold
	if excess <= 0 {
		return nil
	}
	klog.FromContext(ctx).Info("Deleting terminated pods beyond the threshold", "count", excess, "threshold", c.threshold)
	slices.SortFunc(done, deleteFirst)
	var errs []error
	for _, p := range done[:excess] {
		if err := c.forceDelete(ctx, p, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteFirst orders terminated pods as upstream deletes them: evicted ones
// first, then the oldest, then by name.
func deleteFirst(a, b *corev1.Pod) int {
	if ea, eb := evicted(a), evicted(b); ea != eb {
		if ea {
			return -1
		}
		return 1
	}
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func evicted(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted"
}

// terminated reports whether pod has finished: phase Succeeded or Failed.
func terminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func outOfService(node *corev1.Node) bool {
	return slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeOutOfService })
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
