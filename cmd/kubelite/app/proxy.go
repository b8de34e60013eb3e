package app

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"sigs.k8s.io/knftables"

	"github.com/kubelite/kubelite/controllers/clusterdns"
	"github.com/kubelite/kubelite/controllers/servicelb"
	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/dns"
	"github.com/kubelite/kubelite/nodeagent/proxy"
)

// proxyModes are the values --proxy accepts: "nftables" runs the service
// proxy (nodeagent/proxy) and the cluster DNS server (nodeagent/dns) on
// the local node, "none" leaves Services to something else.
var proxyModes = []string{"nftables", "none"}

const (
	// DefaultDNSPort is where a node's DNS server listens, on the node's
	// InternalIP; kube-dns's endpoints name it.
	DefaultDNSPort = 10053
	// defaultClusterDNSIndex: the kube-dns Service takes the 10th address
	// of the service range, as upstream's kubeadm gives it.
	defaultClusterDNSIndex = 10
	// defaultAgentClusterDNS is an agent's --cluster-dns: the 10th address
	// of the default service range.
	defaultAgentClusterDNS = "10.96.0.10"
)

// defaultProxy is --proxy's default: nftables where a real local node runs
// by default (a root process with containerd and runc), none otherwise.
// The commands turn it off when their node is not on containerd.
func defaultProxy() string {
	if defaultLocalNode() == "containerd" {
		return "nftables"
	}
	return "none"
}

func validateProxy(mode, localNode string) error {
	switch {
	case mode != "" && !slices.Contains(proxyModes, mode):
		return fmt.Errorf("--proxy: unknown mode %q (known: %s)", mode, strings.Join(proxyModes, ", "))
	case mode == "nftables" && localNode != "containerd":
		return fmt.Errorf("--proxy=nftables needs a local node on containerd")
	}
	return nil
}

// clusterDNSAddress is the --cluster-dns address, or the 10th of the
// service range when it is empty.
func clusterDNSAddress(flag string, serviceCIDR *net.IPNet) (net.IP, error) {
	if flag != "" {
		ip := net.ParseIP(flag)
		if ip == nil {
			return nil, fmt.Errorf("--cluster-dns: %q is not an IP address", flag)
		}
		return ip, nil
	}
	ip, err := firstIP(serviceCIDR)
	if err != nil {
		return nil, err
	}
	for range defaultClusterDNSIndex - 1 {
		ip = nextIP(ip)
	}
	if !serviceCIDR.Contains(ip) {
		return nil, fmt.Errorf("service range %s is too small for the cluster DNS address", serviceCIDR)
	}
	return ip, nil
}

func nextIP(ip net.IP) net.IP {
	out := slices.Clone(ip)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			break
		}
	}
	return out
}

// serviceProxy is how the local node serves Services.
type serviceProxy struct {
	// mode is one of proxyModes; empty is "none", without the clean-up.
	mode string
	// informers may list and watch the cluster's Services and
	// EndpointSlices (system:node-proxier's rights).
	informers informers.SharedInformerFactory
	// clusterCIDRs are the pods' ranges: traffic to a cluster IP from
	// elsewhere is masqueraded. Empty: none is.
	clusterCIDRs []string
	// clusterDNS and clusterDomain go into ClusterFirst pods'
	// resolv.conf. Empty clusterDNS: pods get the host's.
	clusterDNS, clusterDomain string
	// dnsPort is where the node's DNS server listens. Zero: DefaultDNSPort.
	dnsPort int
}

func (sp serviceProxy) enabled() bool { return sp.mode == "nftables" }

// label marks node as running the proxy and a DNS server, for the
// servicelb and clusterdns controllers.
func (sp serviceProxy) label(node *nodeagent.NodeConfig) {
	if !sp.enabled() {
		return
	}
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	node.Labels[servicelb.LabelServiceProxy] = sp.mode
	if len(node.InternalIPs) > 0 {
		node.Labels[clusterdns.LabelDNSPort] = strconv.Itoa(sp.port())
	}
}

// unlabel removes the labels of an earlier run with the proxy from the
// Node, so that no Service is sent to a DNS server or load balancer
// address that is no longer there. A Node not registered yet has none.
func (sp serviceProxy) unlabel(ctx context.Context, client kubernetes.Interface, node string) {
	if sp.enabled() {
		return
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:null,%q:null}}}`, servicelb.LabelServiceProxy, clusterdns.LabelDNSPort)
	n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil || (n.Labels[servicelb.LabelServiceProxy] == "" && n.Labels[clusterdns.LabelDNSPort] == "") {
		return
	}
	if _, err := client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		klog.FromContext(ctx).Error(err, "Node keeps the labels of its service proxy", "node", node)
	}
}

func (sp serviceProxy) port() int {
	if sp.dnsPort == 0 {
		return DefaultDNSPort
	}
	return sp.dnsPort
}

// start runs the proxy and the DNS server for node; wait blocks until
// they have stopped after ctx ends. Mode "none" (the command's) removes
// the rules an earlier run left and starts nothing; an empty mode (a
// program's zero value: tests) touches nothing.
func (sp serviceProxy) start(ctx context.Context, node nodeagent.NodeConfig) (wait func(), err error) {
	logger := klog.FromContext(ctx)
	if sp.mode == "" {
		return func() {}, nil
	}
	if !sp.enabled() {
		for _, f := range []knftables.Family{knftables.IPv4Family, knftables.IPv6Family} {
			if nft, err := knftables.New(f, proxy.TableName); err == nil {
				_ = proxy.Cleanup(ctx, nft) // none there is the usual case
			}
		}
		return func() {}, nil
	}
	if sp.informers == nil {
		return nil, fmt.Errorf("service proxy: no informers that may read the cluster's Services")
	}
	services, slices := sp.informers.Core().V1().Services(), sp.informers.Discovery().V1().EndpointSlices()
	// IPv4 always; IPv6 too where the cluster's pods have IPv6 addresses.
	families := []knftables.Family{knftables.IPv4Family}
	for _, c := range sp.clusterCIDRs {
		if ip, _, err := net.ParseCIDR(c); err == nil && ip.To4() == nil {
			families = append(families, knftables.IPv6Family)
			break
		}
	}
	var proxies []*proxy.Proxier
	for _, f := range families {
		p, err := proxy.New(proxy.Config{NodeName: node.Name, Family: f, Services: services, EndpointSlices: slices, ClusterCIDRs: sp.clusterCIDRs})
		if err != nil {
			return nil, err
		}
		proxies = append(proxies, p)
	}
	var server *dns.Server
	if len(node.InternalIPs) > 0 {
		upstream, err := dns.HostResolvers("/etc/resolv.conf")
		if err != nil {
			logger.Error(err, "Cluster DNS forwards no other names")
		}
		if server, err = dns.New(dns.Config{Domain: sp.clusterDomain, Services: services, EndpointSlices: slices, Upstream: upstream}); err != nil {
			return nil, err
		}
	}
	sp.informers.Start(ctx.Done())
	done := make(chan struct{}, len(proxies)+1)
	for _, p := range proxies {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := p.Run(ctx); err != nil {
				logger.Error(err, "Service proxy stopped")
			}
		}()
	}
	go func() {
		defer func() { done <- struct{}{} }()
		if server == nil {
			logger.Info("No cluster DNS server: the node has no InternalIP")
			return
		}
		addr := net.JoinHostPort(node.InternalIPs[0], strconv.Itoa(sp.port()))
		if err := server.Serve(ctx, addr, func(udp, tcp net.Addr) {
			logger.Info("Cluster DNS serving", "address", addr)
		}); err != nil && ctx.Err() == nil {
			logger.Error(err, "Cluster DNS server stopped", "address", addr)
		}
	}()
	return func() {
		for range len(proxies) + 1 {
			<-done
		}
	}, nil
}
