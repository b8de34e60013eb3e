package app

import (
	"context"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/podnet"
)

// localNetwork configures a local node's pod network.
type localNetwork struct {
	// CNIBinDir holds the CNI plugins (`make cni`). Empty: <data-dir>/cni/bin,
	// then /opt/cni/bin.
	CNIBinDir string
	// PodCIDRs, when set, are registered as the Node's pod CIDRs (no node
	// IPAM controller gives it any). Empty: the Node's pod CIDRs come from
	// the node IPAM controller, and pods wait for them.
	PodCIDRs []string
	// Nodes may list and watch every Node (system:kube-proxy's rights), for
	// the routes to other nodes' pods. Nil: no routes (a node's own
	// identity may read only its own Node).
	Nodes *rest.Config
}

// podNetwork prepares the host and returns the CNI network, or nil (with a
// log line) when the plugins are missing.
func (c localNetwork) podNetwork(ctx context.Context, dataDir string) (*podnet.CNI, error) {
	logger := klog.FromContext(ctx)
	dirs := []string{c.CNIBinDir}
	if c.CNIBinDir == "" {
		dirs = []string{filepath.Join(dataDir, "cni", "bin"), "/opt/cni/bin"}
	}
	cfg := podnet.CNIConfig{PluginDirs: dirs, Dir: filepath.Join(dataDir, "cni")}
	if err := cfg.Validate(); err != nil {
		logger.Info("No pod network: pods get only a loopback interface", "reason", err.Error())
		return nil, nil
	}
	if err := podnet.PrepareHost(false); err != nil {
		return nil, err
	}
	return podnet.NewCNI(cfg)
}

// runRoutes keeps the routes to other nodes' pods and the pods' masquerade
// until ctx ends, when the pod network runs and c.Nodes is set.
func (c localNetwork) runRoutes(ctx context.Context, node string) {
	logger := klog.FromContext(ctx)
	if c.Nodes == nil {
		logger.Info("No routes to other nodes' pods: no credentials that may list Nodes")
		return
	}
	client, err := kubernetes.NewForConfig(c.Nodes)
	if err == nil {
		var routes *podnet.Routes
		if routes, err = podnet.NewRoutes(podnet.RoutesConfig{Client: client, NodeName: node}); err == nil {
			err = routes.Run(ctx)
		}
	}
	if err != nil {
		logger.Error(err, "Pod network routes stopped")
	}
}
