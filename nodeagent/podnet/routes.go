package podnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

const (
	// routeProtocol marks the routes Routes owns (rtm_protocol), so that
	// it finds and removes stale ones and leaves every other route alone.
	routeProtocol = netlink.RouteProtocol(108)
	// nftTable is Routes' nftables table (family inet).
	nftTable = "kubelite-podnet"
	// resync is how often Routes converges even without Node changes
	// (someone may have removed a route).
	resync = time.Minute
)

// RoutesConfig configures Routes.
type RoutesConfig struct {
	// Client lists and watches every Node. Required.
	Client kubernetes.Interface
	// NodeName is this node's name. Required.
	NodeName string
	// NetNS, when set, is the path of the network namespace whose routes and
	// nftables rules Routes keeps (tests' hosts). Empty: the agent's own.
	NetNS string
}

// Routes keeps this node's routes to the other nodes' pod CIDRs (host-gw:
// via the node's InternalIP, for nodes whose address is on a directly
// connected network) and the masquerade of its pods' traffic to addresses
// outside every node's pod CIDRs. Build it with NewRoutes.
type Routes struct {
	cfg RoutesConfig
}

// NewRoutes checks cfg and returns Routes ready to Run.
func NewRoutes(cfg RoutesConfig) (*Routes, error) {
	if cfg.Client == nil || cfg.NodeName == "" {
		return nil, errors.New("routes: Client and NodeName are required")
	}
	return &Routes{cfg: cfg}, nil
}

// Run watches the Nodes and converges until ctx ends. It leaves the routes
// and rules in place when it returns: pods keep working while the agent
// restarts.
func (r *Routes) Run(ctx context.Context) error {
	logger := klog.LoggerWithName(klog.FromContext(ctx), "podnet-routes")
	factory := informers.NewSharedInformerFactory(r.cfg.Client, resync)
	nodes := factory.Core().V1().Nodes()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer queue.ShutDown()
	enqueue := func(any) { queue.Add("nodes") }
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodes.Informer().HasSynced) {
		return ctx.Err()
	}
	go func() { <-ctx.Done(); queue.ShutDown() }()
	for {
		key, quit := queue.Get()
		if quit {
			return nil
		}
		list, _ := nodes.Lister().List(labels.Everything())
		if err := r.Sync(ctx, list); err != nil {
			logger.Error(err, "Sync pod network routes, will retry")
			queue.AddRateLimited(key)
		} else {
			queue.Forget(key)
		}
		queue.Done(key)
	}
}

// Sync makes the routes and masquerade rules match nodes.
func (r *Routes) Sync(ctx context.Context, nodes []*corev1.Node) error {
	var own []netip.Prefix
	var all []netip.Prefix
	type peer struct {
		cidr netip.Prefix
		via  netip.Addr
	}
	var peers []peer
	for _, n := range nodes {
		cidrs := podCIDRs(n)
		all = append(all, cidrs...)
		if n.Name == r.cfg.NodeName {
			own = cidrs
			continue
		}
		for _, c := range cidrs {
			if via, ok := internalIP(n, c.Addr().Is4()); ok {
				peers = append(peers, peer{c, via})
			}
		}
	}
	h, err := r.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	want := map[string]*netlink.Route{}
	for _, p := range peers {
		// Only nodes on a directly connected network (one L2 hop away).
		got, err := h.RouteGet(p.via.AsSlice())
		if err != nil || len(got) == 0 || got[0].Gw != nil {
			continue
		}
		want[p.cidr.String()] = &netlink.Route{
			LinkIndex: got[0].LinkIndex, Dst: prefixNet(p.cidr), Gw: p.via.AsSlice(), Protocol: routeProtocol,
		}
	}
	var errs []error
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		have, err := h.RouteListFiltered(family, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			return fmt.Errorf("list routes: %w", err)
		}
		for _, rt := range have {
			w, ok := want[rt.Dst.String()]
			if ok && w.Gw.Equal(rt.Gw) && w.LinkIndex == rt.LinkIndex {
				delete(want, rt.Dst.String())
				continue
			}
			if err := h.RouteDel(&rt); err != nil {
				errs = append(errs, fmt.Errorf("delete route to %s: %w", rt.Dst, err))
			}
		}
	}
	for _, rt := range want {
		if err := h.RouteReplace(rt); err != nil {
			errs = append(errs, fmt.Errorf("route %s via %s: %w", rt.Dst, rt.Gw, err))
		}
	}
	if err := r.masquerade(ctx, own, all); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r *Routes) handle() (*netlink.Handle, error) {
	if r.cfg.NetNS == "" {
		return netlink.NewHandle()
	}
	ns, err := netns.GetFromPath(r.cfg.NetNS)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// masquerade replaces the nftables table: traffic from this node's pods to
// an address outside every node's pod CIDRs leaves with the node's
// address; pod-to-pod traffic keeps its source.
func (r *Routes) masquerade(ctx context.Context, own, all []netip.Prefix) error {
	var b strings.Builder
	fmt.Fprintf(&b, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", nftTable, nftTable, nftTable)
	for _, fam := range []struct{ name, typ string }{{"ip", "ipv4_addr"}, {"ip6", "ipv6_addr"}} {
		var elems []string
		for _, p := range all {
			if p.Addr().Is4() == (fam.name == "ip") {
				elems = append(elems, p.String())
			}
		}
		fmt.Fprintf(&b, "  set podcidrs-%s { type %s; flags interval; auto-merge;", fam.name, fam.typ)
		if len(elems) > 0 {
			fmt.Fprintf(&b, " elements = { %s };", strings.Join(elems, ", "))
		}
		b.WriteString(" }\n")
	}
	b.WriteString("  chain postrouting {\n    type nat hook postrouting priority srcnat;\n")
	for _, p := range own {
		fam := "ip6"
		if p.Addr().Is4() {
			fam = "ip"
		}
		fmt.Fprintf(&b, "    %s saddr %s %s daddr != @podcidrs-%s masquerade\n", fam, p, fam, fam)
	}
	b.WriteString("  }\n}\n")
	args := []string{"-f", "-"}
	name := "nft"
	if r.cfg.NetNS != "" {
		args = append([]string{"--net=" + r.cfg.NetNS, "--", "nft"}, args...)
		name = "nsenter"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(b.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// podCIDRs are node's valid pod CIDRs.
func podCIDRs(n *corev1.Node) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range n.Spec.PodCIDRs {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// internalIP is node's first InternalIP of the family.
func internalIP(n *corev1.Node, v4 bool) (netip.Addr, bool) {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() == v4 {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
