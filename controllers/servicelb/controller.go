// Package servicelb answers LoadBalancer Services as a cluster on local
// machines does: a Service of type LoadBalancer (without a
// loadBalancerClass) gets the InternalIPs of the ready nodes that run a
// service proxy (labelled LabelServiceProxy) as its status.loadBalancer
// ingress, and the proxies on those nodes accept its ports on those
// addresses. Of two Services that claim one port and protocol, the older
// one keeps it and the newer gets no ingress until it is free.
package servicelb

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// LabelServiceProxy marks the Nodes whose agent runs the service proxy;
// its value is the proxy's mode ("nftables").
const LabelServiceProxy = "node.kubelite.io/service-proxy"

// Config holds what the controller needs. Every field is required.
type Config struct {
	// Client updates Services' status (system:controller:service-controller's rights).
	Client kubernetes.Interface
	// Services and Nodes are shared informers the caller starts.
	Services coreinformers.ServiceInformer
	Nodes    coreinformers.NodeInformer
}

// Controller keeps LoadBalancer Services' ingress on the proxies' nodes.
type Controller struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	nodes    corelisters.NodeLister
	loop     *loop.Loop
}

// New registers the event handlers; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Services == nil || cfg.Nodes == nil {
		return nil, errors.New("service load balancer: Client, Services and Nodes are required")
	}
	c := &Controller{client: cfg.Client, services: cfg.Services.Lister(), nodes: cfg.Nodes.Lister()}
	c.loop = loop.New("service-lb", c.sync)
	// A Service's change may free or take a port another one wants:
	// every LoadBalancer Service is looked at again, as on a Node's change.
	all := func(any) []string { return c.balancedKeys() }
	if err := loop.Watch(c.loop, cfg.Services.Informer(), func(obj any) []string {
		return append(loop.OwnKey(obj), all(obj)...)
	}, true); err != nil {
		return nil, err
	}
	if err := loop.Watch(c.loop, cfg.Nodes.Informer(), all, true); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs Services with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func (c *Controller) balancedKeys() []string {
	list, _ := c.services.List(labels.Everything())
	var keys []string
	for _, s := range list {
		if balanced(s) {
			keys = append(keys, s.Namespace+"/"+s.Name)
		}
	}
	return keys
}

// balanced reports whether this controller answers s.
func balanced(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Spec.LoadBalancerClass == nil
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var want []corev1.LoadBalancerIngress
	switch {
	case svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
		// A Service that stopped being a load balancer loses its ingress.
	case svc.Spec.LoadBalancerClass != nil:
		return nil // another implementation's
	case !c.portsFree(svc):
	default:
		want = c.ingress(svc)
	}
	if equality.Semantic.DeepEqual(svc.Status.LoadBalancer.Ingress, want) {
		return nil
	}
	svc = svc.DeepCopy()
	svc.Status.LoadBalancer.Ingress = want
	if _, err := c.client.CoreV1().Services(ns).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update load balancer status of service %s: %w", key, err)
	}
	return nil
}

// ingress is the addresses of the ready proxy nodes, in the families of
// svc, sorted.
func (c *Controller) ingress(svc *corev1.Service) []corev1.LoadBalancerIngress {
	nodes, _ := c.nodes.List(labels.Everything())
	var addrs []netip.Addr
	for _, n := range nodes {
		if n.Labels[LabelServiceProxy] == "" || !ready(n) || n.Spec.Unschedulable {
			continue
		}
		for _, a := range n.Status.Addresses {
			ip, err := netip.ParseAddr(a.Address)
			if a.Type != corev1.NodeInternalIP || err != nil || !hasFamily(svc, ip) || slices.Contains(addrs, ip) {
				continue
			}
			addrs = append(addrs, ip)
		}
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	var out []corev1.LoadBalancerIngress
	for _, a := range addrs {
		out = append(out, corev1.LoadBalancerIngress{IP: a.String(), IPMode: ptrTo(corev1.LoadBalancerIPModeVIP)})
	}
	return out
}

// portsFree reports whether no older LoadBalancer Service holds one of
// svc's ports (port and protocol) on the nodes' addresses.
func (c *Controller) portsFree(svc *corev1.Service) bool {
	list, _ := c.services.List(labels.Everything())
	for _, o := range list {
		if o.UID == svc.UID || !balanced(o) || !older(o, svc) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			for _, q := range o.Spec.Ports {
				if p.Port == q.Port && p.Protocol == q.Protocol {
					return false
				}
			}
		}
	}
	return true
}

func older(a, b *corev1.Service) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

func hasFamily(svc *corev1.Service, ip netip.Addr) bool {
	if len(svc.Spec.IPFamilies) == 0 {
		return ip.Is4()
	}
	for _, f := range svc.Spec.IPFamilies {
		if (f == corev1.IPv4Protocol) == ip.Is4() {
			return true
		}
	}
	return false
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ptrTo[T any](v T) *T { return &v }
