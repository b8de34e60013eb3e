package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
	"github.com/kubelite/kubelite/nodeagent/volumes"
)

// localNodeWorkers is how many pods the local node agent syncs at once.
const localNodeWorkers = 8

// localNodeRuntimes are the runtimes --local-node accepts.
var localNodeRuntimes = []string{"containerd"}

// defaultLocalNode is the default of `kubelite server --local-node`:
// "containerd" when this process runs as root on Linux and containerd and
// runc are installed, so that a plain `kubelite server` is a one-node
// cluster that runs real containers; else "" (no local node).
func defaultLocalNode() string {
	if goruntime.GOOS != "linux" || os.Geteuid() != 0 {
		return ""
	}
	for _, bin := range []string{"containerd", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return ""
		}
	}
	return "containerd"
}

// runLocalNode runs a node agent for this machine, named name (empty: the
// host name), on containerd until ctx ends: a containerd of its own under dataDir/containerd (started when none
// answers there, stopped after), pods' files under dataDir/pods, and the
// archives of dataDir/images imported at start; NetworkPolicies enforced as np says;
// Services served, and cluster DNS, as sp says.
//
// With the CNI plugins in netCfg's directories, pods join the node's bridge
// network on the pod CIDRs the Node gets (see podNetwork); without, each
// sandbox has only a loopback interface.
func runLocalNode(ctx context.Context, rc *rest.Config, dataDir, name string, ep nodeEndpoint, np networkPolicy, netCfg localNetwork, sp serviceProxy) error {
	node, err := nodeagent.LocalNodeConfig(name, dataDir)
	if err != nil {
		return err
	}
	sp.label(&node)
	// The endpoint listens on every address, as upstream's kubelet.
	l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(ep.port)))
	if err != nil {
		return fmt.Errorf("node endpoint: %w", err)
	}
	defer l.Close()
	node.KubeletPort = int32(l.Addr().(*net.TCPAddr).Port)
	network, err := netCfg.podNetwork(ctx, dataDir)
	if err != nil {
		return err
	}
	node.PodCIDRs = netCfg.PodCIDRs
	if network == nil && len(node.PodCIDRs) == 0 {
		node.PodCIDRs = []string{containerd.DefaultPodCIDR}
	}
	d, err := containerd.StartDaemon(ctx, containerd.DaemonConfig{Dir: filepath.Join(dataDir, "containerd"), Install: true})
	if err != nil {
		return err
	}
	defer d.Close()
	// Upstream kubelet's defaults (kubeAPIQPS 50, kubeAPIBurst 100); client-go's
	// own 5 and 10 made 100 pods take minutes to start.
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = 50, 100
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	// Events have a client, and so a rate limit, of their own, as upstream's
	// kubelet (eventRecordQPS 50, eventBurst 100): three events a pod must
	// not hold back its status.
	eventClient, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	// Containers' service variables come from a Service informer, as
	// upstream's kubelet: a list of the namespace's Services at every
	// container start cost two requests.
	factory := sp.informers
	if factory == nil {
		factory = informers.NewSharedInformerFactory(client, 0)
		defer factory.Shutdown()
	}
	services := factory.Core().V1().Services()
	serviceLister := services.Lister()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), services.Informer().HasSynced) {
		return ctx.Err()
	}
	sp.unlabel(ctx, client, node.Name)
	podDir := filepath.Join(dataDir, "pods")
	vols, err := volumes.New(volumes.Config{Client: client, Dir: podDir})
	if err != nil {
		return err
	}
	cfg := containerd.Config{
		Address:  d.Address,
		Dir:      podDir,
		ImageDir: filepath.Join(dataDir, "images"),
		PodCIDRs: node.PodCIDRs,
		HostIPs:  node.InternalIPs,
		Volumes:  vols,
		Client:   client,
		Services: serviceLister,
	}
	if network != nil { // a nil *CNI in the interface would not be nil
		cfg.Network = network
	}
	if sp.enabled() && sp.clusterDNS != "" {
		cfg.ClusterDNS, cfg.ClusterDomain = []string{sp.clusterDNS}, sp.clusterDomain
	}
	if network != nil {
		routesCtx, stopRoutes := context.WithCancel(ctx)
		routesDone := make(chan struct{})
		go func() { defer close(routesDone); netCfg.runRoutes(routesCtx, node.Name) }()
		defer func() { stopRoutes(); <-routesDone }()
	}
	rt, err := containerd.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("containerd runtime: %w", err)
	}
	defer rt.Close()
	volCtx, stopVolumes := context.WithCancel(ctx)
	volDone := make(chan struct{})
	go func() { defer close(volDone); vols.Run(volCtx) }()
	defer func() { stopVolumes(); <-volDone }()
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: eventClient.CoreV1().Events("")})
	defer b.Shutdown()
	agent, err := nodeagent.New(nodeagent.Config{
		Node:    node,
		Client:  client,
		Runtime: rt,
		// Pod syncs mostly wait on containerd and the API: more at once
		// than the default 2, as upstream's kubelet has one worker per pod.
		Workers:  localNodeWorkers,
		Recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: node.Name}),
	})
	if err != nil {
		return err
	}
	srv, err := ep.server(l, agent, client, node.Name, append([]string{node.Hostname, node.Name, "localhost", "127.0.0.1"}, node.InternalIPs...))
	if err != nil {
		return err
	}
	go runEndpoint(ctx, srv)
	npCtx, stopNP := context.WithCancel(ctx)
	npWait, err := np.start(npCtx, node.Name)
	if err != nil {
		stopNP()
		return err
	}
	defer func() { stopNP(); npWait() }()
	spCtx, stopSP := context.WithCancel(ctx)
	spWait, err := sp.start(spCtx, node)
	if err != nil {
		stopSP()
		return err
	}
	defer func() { stopSP(); spWait() }()
	return agent.Run(ctx)
}
