// Package tainteviction deletes pods from nodes with NoExecute taints they
// do not tolerate, as upstream's taint eviction controller does.
//
// A pod bound to a node with NoExecute taints is deleted at once if a taint
// is not tolerated; if all are, it is deleted once the least
// tolerationSeconds of the tolerations that match them has passed since
// the controller first saw it so (a later change of taints or tolerations
// keeps that deadline, as upstream), and never if none of them sets
// tolerationSeconds. The deadline is dropped, with an event, when the
// taints go or the pod becomes tolerant forever. Before deleting, the pod
// gets the DisruptionTarget condition (reason DeletionByTaintManager) and a
// TaintManagerEviction event. Deadlines live in memory, as upstream's
// timers do: after a restart they start again.
package tainteviction

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/podnode"
)

// Upstream's reason and message for the DisruptionTarget condition.
const (
	ReasonDeletionByTaintManager = "DeletionByTaintManager"
	messageDeletion              = "Taint manager: deleting due to NoExecute taint"
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid taint eviction controller config")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client reads, marks and deletes pods.
	Client kubernetes.Interface
	// Pods and Nodes are the shared informers.
	Pods  coreinformers.PodInformer
	Nodes coreinformers.NodeInformer
	// Events records TaintManagerEviction events. Nil: none.
	Events record.EventRecorder
	// Clock times tolerationSeconds. Zero: the real clock.
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
	return errors.Join(errs...)
}

// Controller evicts pods from NoExecute-tainted nodes. Build it with New
// and start it with Run.
type Controller struct {
	client kubernetes.Interface
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
	byNode *podnode.Index
	events record.EventRecorder
	clock  clock.PassiveClock
	loop   *loop.Loop

	mu sync.Mutex
	// deadlines holds, by pod key, when a tolerated pod is to be deleted.
	deadlines map[string]time.Time
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
		client:    cfg.Client,
		pods:      cfg.Pods.Lister(),
		nodes:     cfg.Nodes.Lister(),
		byNode:    byNode,
		events:    cfg.Events,
		clock:     cfg.Clock,
		deadlines: map[string]time.Time{},
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("taint-eviction-controller", c.sync)

	pods := cfg.Pods.Informer()
	reg, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueuePod,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Pod)
			n, ok2 := cur.(*corev1.Pod)
			if ok1 && ok2 && o.Spec.NodeName == n.Spec.NodeName && apiequality.Semantic.DeepEqual(o.Spec.Tolerations, n.Spec.Tolerations) {
				return
			}
			c.enqueuePod(cur)
		},
		DeleteFunc: c.enqueuePod,
	})
	if err != nil {
		return nil, fmt.Errorf("taint-eviction-controller: add pod handler: %w", err)
	}
	c.loop.WaitFor(pods.HasSynced, reg.HasSynced)

	nodes := cfg.Nodes.Informer()
	reg, err = nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueNode,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Node)
			n, ok2 := cur.(*corev1.Node)
			if ok1 && ok2 && slices.EqualFunc(noExecute(o.Spec.Taints), noExecute(n.Spec.Taints), sameTaint) {
				return
			}
			c.enqueueNode(cur)
		},
		DeleteFunc: c.enqueueNode,
	})
	if err != nil {
		return nil, fmt.Errorf("taint-eviction-controller: add node handler: %w", err)
	}
	c.loop.WaitFor(nodes.HasSynced, reg.HasSynced)
	return c, nil
}

func sameTaint(a, b corev1.Taint) bool {
	return a.Key == b.Key && a.Value == b.Value && a.Effect == b.Effect
}

// Run syncs pods with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func (c *Controller) enqueuePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		c.loop.Add(key)
	}
}

// enqueueNode queues every pod bound to the node.
func (c *Controller) enqueueNode(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	for _, p := range c.byNode.Pods(node.Name) {
		c.enqueuePod(p)
	}
}

// sync deletes the pod key names if its node's NoExecute taints call for it
// now, or queues it for when they will.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.cancel(key, nil)
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
		c.cancel(key, nil)
		return nil
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		c.cancel(key, pod)
		return nil
	}
	if err != nil {
		return err
	}
	wait, evict := evictAfter(klog.FromContext(ctx), noExecute(node.Spec.Taints), pod.Spec.Tolerations)
	if !evict {
		c.cancel(key, pod)
		return nil
	}
	if wait > 0 {
		now := c.clock.Now()
		if left := c.deadline(key, now.Add(wait)).Sub(now); left > 0 {
			c.loop.AddAfter(key, left)
			return nil
		}
	}
	return c.evict(ctx, key, pod)
}

// deadline returns the pod's deletion deadline, setting it to at unless it
// has one.
func (c *Controller) deadline(key string, at time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.deadlines[key]; ok {
		return d
	}
	c.deadlines[key] = at
	return at
}

// cancel drops the pod's deadline; if it had one and pod is given, it says
// so in an event.
func (c *Controller) cancel(key string, pod *corev1.Pod) {
	c.mu.Lock()
	_, had := c.deadlines[key]
	delete(c.deadlines, key)
	c.mu.Unlock()
	if had && pod != nil {
		c.events.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Cancelling deletion of Pod %s", key)
	}
}

// evict marks the pod with DisruptionTarget and deletes it, if the server
// still has it on the same node.
func (c *Controller) evict(ctx context.Context, key string, cached *corev1.Pod) error {
	pod, err := c.client.CoreV1().Pods(cached.Namespace).Get(ctx, cached.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c.cancel(key, nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get pod %s: %w", key, err)
	}
	if pod.UID != cached.UID || pod.Spec.NodeName != cached.Spec.NodeName || pod.DeletionTimestamp != nil {
		// Changed since the cache saw it: the change's event syncs it again.
		return nil
	}
	c.events.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	err = podnode.Delete(ctx, c.client, pod, podnode.Deletion{Condition: &corev1.PodCondition{
		Type:               corev1.DisruptionTarget,
		Status:             corev1.ConditionTrue,
		Reason:             ReasonDeletionByTaintManager,
		Message:            messageDeletion,
		LastTransitionTime: metav1.NewTime(c.clock.Now()),
	}})
	if err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.deadlines, key)
	c.mu.Unlock()
	klog.FromContext(ctx).V(2).Info("Evicted pod from tainted node", "pod", klog.KObj(pod), "node", klog.KRef("", pod.Spec.NodeName))
	return nil
}
