package app

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/record"

	"github.com/kubelite/kubelite/controllers/nodeipam"
	"github.com/kubelite/kubelite/controllers/scope"
)

// DefaultClusterCIDR is --cluster-cidr's default: the range node pod CIDRs
// come from.
const DefaultClusterCIDR = "10.42.0.0/16"

// NodeIPAMConfig configures the node IPAM controller (upstream's
// --cluster-cidr, --node-cidr-mask-size*).
type NodeIPAMConfig struct {
	// ClusterCIDR is one CIDR, or two of different families comma-separated.
	// Empty: the controller does not run.
	ClusterCIDR string
	// NodeCIDRMaskSize is the node CIDR size of a single-stack cluster;
	// NodeCIDRMaskSizeIPv4 and IPv6 are each family's. Zero: 24 and 64.
	NodeCIDRMaskSize, NodeCIDRMaskSizeIPv4, NodeCIDRMaskSizeIPv6 int
	// ServiceCIDRs are kept out of node CIDRs, comma-separated. Empty: none.
	ServiceCIDRs string
}

func addNodeIPAMFlags(fs *pflag.FlagSet, c *NodeIPAMConfig) {
	fs.StringVar(&c.ClusterCIDR, "cluster-cidr", DefaultClusterCIDR, "CIDR range for pods in the cluster: each node's pod CIDR comes from it. Two CIDRs of different IP families, comma-separated, for dual stack. Empty: node pod CIDRs are not allocated.")
	fs.IntVar(&c.NodeCIDRMaskSize, "node-cidr-mask-size", 0, "Mask size of a node's pod CIDR in a single-stack cluster (default 24 for IPv4, 64 for IPv6).")
	fs.IntVar(&c.NodeCIDRMaskSizeIPv4, "node-cidr-mask-size-ipv4", 0, "Mask size of a node's IPv4 pod CIDR in a dual-stack cluster (default 24).")
	fs.IntVar(&c.NodeCIDRMaskSizeIPv6, "node-cidr-mask-size-ipv6", 0, "Mask size of a node's IPv6 pod CIDR in a dual-stack cluster (default 64).")
}

// controllerConfig turns the flags into the controller's config.
func (c NodeIPAMConfig) controllerConfig() (nodeipam.Config, error) {
	var cfg nodeipam.Config
	for _, s := range splitList(c.ClusterCIDR) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return cfg, fmt.Errorf("--cluster-cidr: %w", err)
		}
		cfg.ClusterCIDRs = append(cfg.ClusterCIDRs, p)
	}
	for _, s := range splitList(c.ServiceCIDRs) {
		if p, err := netip.ParsePrefix(s); err == nil {
			cfg.ServiceCIDRs = append(cfg.ServiceCIDRs, p)
		}
	}
	if len(cfg.ClusterCIDRs) > 1 && c.NodeCIDRMaskSize != 0 {
		return cfg, fmt.Errorf("--node-cidr-mask-size is for single-stack clusters; use --node-cidr-mask-size-ipv4 and --node-cidr-mask-size-ipv6")
	}
	for _, p := range cfg.ClusterCIDRs {
		size := c.NodeCIDRMaskSizeIPv6
		if p.Addr().Is4() {
			size = c.NodeCIDRMaskSizeIPv4
		}
		if len(cfg.ClusterCIDRs) == 1 && c.NodeCIDRMaskSize != 0 {
			size = c.NodeCIDRMaskSize
		}
		cfg.NodeMaskSizes = append(cfg.NodeMaskSizes, size)
	}
	return cfg, nil
}

// Validate reports bad flags without side effects.
func (c NodeIPAMConfig) Validate() error {
	if c.ClusterCIDR == "" {
		return nil
	}
	cfg, err := c.controllerConfig()
	if err != nil {
		return err
	}
	return cfg.Validate()
}

// newNodeIPAM builds the node IPAM controller, or returns nil when no
// cluster CIDR is set. As upstream, it runs as the node-controller.
func newNodeIPAM(c NodeIPAMConfig, clients *controllerClients, factory *scope.Scope, recorder record.EventRecorder) (*nodeipam.Controller, error) {
	if c.ClusterCIDR == "" {
		return nil, nil
	}
	cfg, err := c.controllerConfig()
	if err != nil {
		return nil, err
	}
	cfg.Client = clients.kube("node-controller")
	cfg.Nodes = factory.Core().V1().Nodes()
	cfg.Recorder = recorder
	return nodeipam.New(cfg)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
