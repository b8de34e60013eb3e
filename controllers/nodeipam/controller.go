// Package nodeipam gives each Node its pod CIDRs, as upstream's node IPAM
// controller with the range allocator does: the cluster CIDRs (one per IP
// family) are cut into node CIDRs of one size; a Node without
// spec.podCIDRs gets the next free one of each family, never a second; a
// deleted Node's CIDRs are free again; at start the allocation is rebuilt
// from the Nodes that have CIDRs. When a cluster CIDR is full the Node gets
// a CIDRNotAvailable event and is retried.
//
// Unlike upstream, a Node whose CIDRs lie outside the cluster CIDRs (a
// simulated node's, or one set by hand) is left as it is instead of
// stopping the controller.
package nodeipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// Upstream's defaults.
const (
	// DefaultNodeMaskSizeIPv4 and DefaultNodeMaskSizeIPv6 are the node CIDR
	// sizes (--node-cidr-mask-size-ipv4, --node-cidr-mask-size-ipv6).
	DefaultNodeMaskSizeIPv4 = 24
	DefaultNodeMaskSizeIPv6 = 64
	// ReasonCIDRNotAvailable is the event reason when a cluster CIDR is full.
	ReasonCIDRNotAvailable = "CIDRNotAvailable"
	// ReasonCIDRAssignmentFailed is the event reason when writing the Node failed.
	ReasonCIDRAssignmentFailed = "CIDRAssignmentFailed"
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid node IPAM controller config")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client patches Nodes.
	Client kubernetes.Interface
	// Nodes is the shared Node informer.
	Nodes coreinformers.NodeInformer
	// ClusterCIDRs are the ranges node CIDRs come from, at most one per IP
	// family; each Node gets one of each, in this order.
	ClusterCIDRs []netip.Prefix
	// NodeMaskSizes are the node CIDRs' prefix lengths, by index of
	// ClusterCIDRs. Missing or zero: DefaultNodeMaskSizeIPv4 or
	// DefaultNodeMaskSizeIPv6 by the cluster CIDR's family.
	NodeMaskSizes []int
	// ServiceCIDRs are kept out of the node CIDRs where they overlap the
	// cluster CIDRs. Empty: none.
	ServiceCIDRs []netip.Prefix
	// Recorder records CIDRNotAvailable events. Nil: none.
	Recorder record.EventRecorder
}

// Validate reports bad ranges, without side effects. (New also requires
// Client and Nodes.)
func (c Config) Validate() error {
	var errs []error
	switch len(c.ClusterCIDRs) {
	case 1:
	case 2:
		if c.ClusterCIDRs[0].Addr().Is4() == c.ClusterCIDRs[1].Addr().Is4() {
			errs = append(errs, fmt.Errorf("%w: two cluster CIDRs must be of different IP families", ErrInvalidConfig))
		}
	default:
		errs = append(errs, fmt.Errorf("%w: one or two cluster CIDRs are required, got %d", ErrInvalidConfig, len(c.ClusterCIDRs)))
	}
	for i, p := range c.ClusterCIDRs {
		if _, err := newCIDRSet(p, c.maskSize(i)); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
		}
	}
	return errors.Join(errs...)
}

func (c Config) maskSize(i int) int {
	if i < len(c.NodeMaskSizes) && c.NodeMaskSizes[i] != 0 {
		return c.NodeMaskSizes[i]
	}
	if c.ClusterCIDRs[i].Addr().Is4() {
		return DefaultNodeMaskSizeIPv4
	}
	return DefaultNodeMaskSizeIPv6
}

// Controller assigns pod CIDRs to Nodes. Build it with New, start it with Run.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	recorder record.EventRecorder
	loop     *loop.Loop

	rebuild sync.Once
	mu      sync.Mutex
	sets    []*cidrSet
	// owners holds which Node holds each allocated node CIDR, so that only
	// its owner's deletion frees it.
	owners map[netip.Prefix]string
}

// New checks cfg and returns a controller ready to Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Client == nil || cfg.Nodes == nil {
		return nil, fmt.Errorf("%w: Client and Nodes are required", ErrInvalidConfig)
	}
	c := &Controller{
		client:   cfg.Client,
		nodes:    cfg.Nodes.Lister(),
		recorder: cfg.Recorder,
		owners:   map[netip.Prefix]string{},
	}
	for i, p := range cfg.ClusterCIDRs {
		s, _ := newCIDRSet(p, cfg.maskSize(i))
		for _, svc := range cfg.ServiceCIDRs {
			s.occupy(svc)
		}
		c.sets = append(c.sets, s)
	}
	c.loop = loop.New("node-ipam-controller", c.sync)
	reg, err := cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueue(obj) },
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.deleted,
	})
	if err != nil {
		return nil, err
	}
	c.loop.WaitFor(reg.HasSynced)
	return c, nil
}

// Run assigns CIDRs with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func (c *Controller) enqueue(obj any) {
	if n, ok := obj.(*corev1.Node); ok {
		c.loop.Add(n.Name)
	}
}

// deleted frees a deleted Node's CIDRs and queues the Nodes that still wait
// for one.
func (c *Controller) deleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	c.mu.Lock()
	for _, s := range node.Spec.PodCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil || c.owners[p.Masked()] != node.Name {
			continue
		}
		delete(c.owners, p.Masked())
		for _, set := range c.sets {
			set.release(p)
		}
	}
	c.mu.Unlock()
	waiting, _ := c.nodes.List(labels.Everything())
	for _, n := range waiting {
		if len(n.Spec.PodCIDRs) == 0 {
			c.loop.Add(n.Name)
		}
	}
}

// occupy marks node's CIDRs used. Those outside the cluster CIDRs are left
// alone. c.mu held.
func (c *Controller) occupy(node *corev1.Node) {
	for _, s := range node.Spec.PodCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		p = p.Masked()
		if owner, ok := c.owners[p]; ok && owner == node.Name {
			continue
		}
		for _, set := range c.sets {
			if set.occupy(p) {
				c.owners[p] = node.Name
			}
		}
	}
}

// sync gives the named Node its CIDRs if it has none, or records the ones
// it has. The first sync rebuilds the allocation from every Node in the
// cache, which is full by then.
func (c *Controller) sync(ctx context.Context, name string) error {
	c.rebuild.Do(func() {
		nodes, _ := c.nodes.List(labels.Everything())
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, n := range nodes {
			c.occupy(n)
		}
	})
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if node.DeletionTimestamp != nil {
		return nil
	}
	c.mu.Lock()
	if len(node.Spec.PodCIDRs) > 0 {
		c.occupy(node)
		c.mu.Unlock()
		return nil
	}
	cidrs := make([]netip.Prefix, 0, len(c.sets))
	for _, set := range c.sets {
		p, err := set.allocate()
		if err != nil {
			c.releaseLocked(cidrs)
			c.mu.Unlock()
			c.event(node, ReasonCIDRNotAvailable)
			return err
		}
		cidrs = append(cidrs, p)
	}
	for _, p := range cidrs {
		c.owners[p] = node.Name
	}
	c.mu.Unlock()

	if err := c.patch(ctx, node, cidrs); err != nil {
		c.mu.Lock()
		c.releaseLocked(cidrs)
		c.mu.Unlock()
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			c.event(node, ReasonCIDRAssignmentFailed)
		}
		return fmt.Errorf("set pod CIDRs of node %s: %w", node.Name, err)
	}
	klog.FromContext(ctx).Info("Set node PodCIDR", "node", klog.KObj(node), "podCIDRs", cidrs)
	return nil
}

// releaseLocked frees cidrs. c.mu held.
func (c *Controller) releaseLocked(cidrs []netip.Prefix) {
	for i, p := range cidrs {
		delete(c.owners, p)
		c.sets[i].release(p)
	}
}

// patch writes cidrs to node's spec, only if node is still at the version
// read: the API server never lets set CIDRs change, and a Node changed
// since may have got some.
func (c *Controller) patch(ctx context.Context, node *corev1.Node, cidrs []netip.Prefix) error {
	strs := make([]string, len(cidrs))
	for i, p := range cidrs {
		strs[i] = p.String()
	}
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": node.ResourceVersion},
		"spec":     map[string]any{"podCIDR": strs[0], "podCIDRs": strs},
	})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, body, metav1.PatchOptions{})
	return err
}

// event records a change of the Node's IPAM status, as upstream words it.
func (c *Controller) event(node *corev1.Node, reason string) {
	if c.recorder == nil {
		return
	}
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
	c.recorder.Eventf(ref, corev1.EventTypeNormal, reason, "Node %s status is now: %s", node.Name, reason)
}
