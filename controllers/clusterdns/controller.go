// Package clusterdns keeps the endpoints of the cluster's DNS Service,
// kube-system/kube-dns: the DNS servers that node agents run beside their
// service proxy (nodeagent/dns), one per node, on the node's InternalIP.
// A node agent that serves DNS labels its Node LabelDNSPort with the port;
// this controller writes an EndpointSlice per port (kube-dns-<port>) with
// those nodes as endpoints, ready while the node is, and its dns (UDP) and
// dns-tcp (TCP) ports. The Service itself, without a selector, is created
// at bootstrap; without it, the controller's slices go.
package clusterdns

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

const (
	// ServiceName is the DNS Service's name in kube-system, as upstream's.
	ServiceName = "kube-dns"
	// LabelDNSPort on a Node is the port its DNS server listens on at the
	// node's InternalIP.
	LabelDNSPort = "node.kubelite.io/dns-port"
	// ManagedBy is the slices' endpointslice.kubernetes.io/managed-by.
	ManagedBy = "clusterdns.kubelite.io"
	// key is the loop's one key: every change syncs all slices.
	key = "kube-dns"
)

// Config holds what the controller needs. Every field is required.
type Config struct {
	// Client writes EndpointSlices in kube-system.
	Client kubernetes.Interface
	// Nodes, Services and EndpointSlices are shared informers the caller starts.
	Nodes          coreinformers.NodeInformer
	Services       coreinformers.ServiceInformer
	EndpointSlices discoveryinformers.EndpointSliceInformer
}

// Controller keeps the kube-dns Service's EndpointSlices.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	loop     *loop.Loop
}

// New registers the event handlers; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Services == nil || cfg.EndpointSlices == nil {
		return nil, errors.New("cluster DNS: Client, Nodes, Services and EndpointSlices are required")
	}
	c := &Controller{client: cfg.Client, nodes: cfg.Nodes.Lister(), services: cfg.Services.Lister(), slices: cfg.EndpointSlices.Lister()}
	c.loop = loop.New("cluster-dns", c.sync)
	ours := func(obj any) []string {
		if o, ok := obj.(metav1.Object); ok && o.GetNamespace() == metav1.NamespaceSystem &&
			(o.GetName() == ServiceName || o.GetLabels()[discoveryv1.LabelManagedBy] == ManagedBy) {
			return []string{key}
		}
		return nil
	}
	if err := c.watchNodes(cfg.Nodes.Informer()); err != nil {
		return nil, err
	}
	if err := loop.Watch(c.loop, cfg.Services.Informer(), ours, true); err != nil {
		return nil, err
	}
	if err := loop.Watch(c.loop, cfg.EndpointSlices.Informer(), ours, true); err != nil {
		return nil, err
	}
	return c, nil
}

// watchNodes syncs on the changes of nodes that serve DNS: those labelled
// LabelDNSPort, or that were before the change. Only they make endpoints,
// and a sync lists and sorts every node: on 5,000 simulated nodes, which
// serve no DNS, syncing on each of their heartbeats' status updates was 7%
// of the API server's CPU while they registered.
func (c *Controller) watchNodes(informer cache.SharedIndexInformer) error {
	dns := func(obj any) bool {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		n, ok := obj.(*corev1.Node)
		if !ok {
			return true // not a node: sync, to be safe
		}
		_, labelled := n.Labels[LabelDNSPort]
		return labelled
	}
	enqueue := func(obj any) {
		if dns(obj) {
			c.loop.Add(key)
		}
	}
	reg, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		UpdateFunc: func(old, cur any) {
			if dns(old) || dns(cur) {
				c.loop.Add(key)
			}
		},
		DeleteFunc: enqueue,
	})
	if err != nil {
		return fmt.Errorf("cluster DNS: add node handler: %w", err)
	}
	c.loop.WaitFor(informer.HasSynced, reg.HasSynced)
	return nil
}

// Run syncs until ctx ends (one worker: there is one key).
func (c *Controller) Run(ctx context.Context, _ int) error { return c.loop.Run(ctx, 1) }

func (c *Controller) sync(ctx context.Context, _ string) error {
	want := map[string]*discoveryv1.EndpointSlice{}
	if _, err := c.services.Services(metav1.NamespaceSystem).Get(ServiceName); err == nil {
		want = c.desired()
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	have, err := c.slices.EndpointSlices(metav1.NamespaceSystem).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelManagedBy: ManagedBy}))
	if err != nil {
		return err
	}
	api := c.client.DiscoveryV1().EndpointSlices(metav1.NamespaceSystem)
	var errs []error
	for _, cur := range have {
		w, ok := want[cur.Name]
		delete(want, cur.Name)
		switch {
		case !ok:
			if err := api.Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID}}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete endpoint slice %s: %w", cur.Name, err))
			}
		case !equality.Semantic.DeepEqual(cur.Endpoints, w.Endpoints) || !equality.Semantic.DeepEqual(cur.Ports, w.Ports):
			upd := cur.DeepCopy()
			upd.Endpoints, upd.Ports = w.Endpoints, w.Ports
			if _, err := api.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("update endpoint slice %s: %w", cur.Name, err))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, err := api.Create(ctx, want[name], metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("create endpoint slice %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// desired is the slices the labelled nodes make, by name.
func (c *Controller) desired() map[string]*discoveryv1.EndpointSlice {
	nodes, _ := c.nodes.List(labels.Everything())
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	out := map[string]*discoveryv1.EndpointSlice{}
	for _, n := range nodes {
		port, err := strconv.ParseInt(n.Labels[LabelDNSPort], 10, 32)
		if err != nil || port <= 0 || port > 65535 {
			continue
		}
		ip := internalIPv4(n)
		if ip == "" {
			continue
		}
		name := fmt.Sprintf("%s-%d", ServiceName, port)
		es := out[name]
		if es == nil {
			es = &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceSystem, Labels: map[string]string{
					discoveryv1.LabelServiceName: ServiceName, discoveryv1.LabelManagedBy: ManagedBy,
				}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports: []discoveryv1.EndpointPort{
					{Name: ptr.To("dns"), Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(int32(port))},
					{Name: ptr.To("dns-tcp"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(int32(port))},
				},
			}
			out[name] = es
		}
		r := ready(n)
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(r), Serving: ptr.To(r), Terminating: ptr.To(false)},
			NodeName:   ptr.To(n.Name),
			TargetRef:  &corev1.ObjectReference{Kind: "Node", Name: n.Name, UID: n.UID},
		})
	}
	return out
}

func internalIPv4(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if ip, err := netip.ParseAddr(a.Address); a.Type == corev1.NodeInternalIP && err == nil && ip.Is4() {
			return ip.String()
		}
	}
	return ""
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Service is the kube-dns Service at clusterIP, as bootstrap creates it:
// no selector (this controller writes its slices), ports dns and dns-tcp.
func Service(clusterIP string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ServiceName, Namespace: metav1.NamespaceSystem, Labels: map[string]string{
			"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeDNS",
		}},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  clusterIP,
			ClusterIPs: []string{clusterIP},
			Ports: []corev1.ServicePort{
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
				{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53},
			},
		},
	}
}
