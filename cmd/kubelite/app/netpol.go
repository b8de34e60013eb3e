package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/client-go/informers"
	"k8s.io/klog/v2"
	"sigs.k8s.io/knftables"

	"github.com/kubelite/kubelite/nodeagent/netpol"
)

// networkPolicyModes are the values --network-policy accepts: "nftables"
// enforces NetworkPolicies for the local node's pods (nodeagent/netpol),
// "none" leaves them to something else.
var networkPolicyModes = []string{"nftables", "none"}

func validateNetworkPolicy(mode, localNode string) error {
	switch {
	case mode != "" && !slices.Contains(networkPolicyModes, mode):
		return fmt.Errorf("--network-policy: unknown mode %q (known: %s)", mode, strings.Join(networkPolicyModes, ", "))
	case mode == "nftables" && localNode == "":
		return fmt.Errorf("--network-policy=nftables needs --local-node")
	}
	return nil
}

// networkPolicy is how the local node enforces NetworkPolicies.
type networkPolicy struct {
	// mode is one of networkPolicyModes; empty is "none".
	mode string
	// informers is a shared factory that may list pods, namespaces and
	// network policies of the whole cluster: peers run on any node. (The
	// node's own identity may read only the pods bound to it.)
	informers informers.SharedInformerFactory
}

// start starts enforcing for the pods of node; wait blocks until it has
// stopped after ctx ends. Mode "none" starts nothing.
func (np networkPolicy) start(ctx context.Context, node string) (wait func(), err error) {
	if np.mode != "nftables" {
		// A table of an earlier nftables run would keep pods isolated.
		if nft, err := knftables.New(knftables.InetFamily, netpol.TableName); err == nil {
			if err := netpol.Cleanup(ctx, nft); err != nil {
				klog.FromContext(ctx).Error(err, "Stale NetworkPolicy rules may remain")
			}
		}
		return func() {}, nil
	}
	if np.informers == nil {
		return nil, fmt.Errorf("network policy: no informers that may read the cluster's pods and policies")
	}
	e, err := netpol.New(netpol.Config{
		NodeName:   node,
		Pods:       np.informers.Core().V1().Pods(),
		Namespaces: np.informers.Core().V1().Namespaces(),
		Policies:   np.informers.Networking().V1().NetworkPolicies(),
	})
	if err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx)
	if err := netpol.EnsureBridgeNetfilter(ctx); err != nil {
		logger.Error(err, "NetworkPolicy enforcement covers routed traffic only")
	}
	np.informers.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ctx); err != nil {
			logger.Error(err, "NetworkPolicy enforcement stopped")
		}
	}()
	return func() { <-done }, nil
}
