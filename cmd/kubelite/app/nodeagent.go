package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
	"k8s.io/client-go/kubernetes/scheme"
)

// SimulatedNodesConfig configures a host of simulated nodes: node agents on
// the simulated runtime, whose containers run no process.
type SimulatedNodesConfig struct {
	// Count is how many nodes. Zero: none.
	Count int
	// Prefix starts each node's name; the node's index follows. Empty:
	// "kubelite-sim-".
	Prefix string
	// Taint gives each node the kubelite.io/simulated=true:NoSchedule taint,
	// so that only pods that tolerate it land there.
	Taint bool
	// StagesFile names a YAML file of container lifecycles that replaces the
	// built-in ones. Empty: the built-in ones.
	StagesFile string
	// EndpointAddress is where the nodes' one endpoint listens (host:port;
	// every node reports its port). Empty: 127.0.0.1 on a free port.
	EndpointAddress string
	// SharedIdentity lets every node speak as the host, for API servers
	// without kubelite's node tokens; Node authorization and NodeRestriction
	// then do not apply to them. False: each node is system:node:<name>.
	SharedIdentity bool
	// MissingImages are images the nodes fail to pull as no registry had
	// them (ErrImagePull, then ImagePullBackOff). Default:
	// DefaultMissingImages.
	MissingImages []string
}

// DefaultMissingImages are images that exist in no registry, which
// upstream's e2e tests name to see a pull fail: a simulated node fails to
// pull them as a real one does.
var DefaultMissingImages = []string{
	"webserver:404",
	"invalid.registry.k8s.io/invalid/alpine:3.1",
	"registry.k8s.io/invalid-image:invalid-tag",
}

// Validate reports bad settings.
func (c SimulatedNodesConfig) Validate() error {
	if c.Count < 0 {
		return fmt.Errorf("--simulated-nodes must not be negative, got %d", c.Count)
	}
	if err := (&simulated.Config{MissingImages: c.MissingImages}).Validate(); err != nil {
		return fmt.Errorf("--simulated-missing-images: %w", err)
	}
	return nil
}

// runSimulatedNodes runs cfg.Count simulated nodes against the API server
// that rc reaches, until ctx ends, with one endpoint for all of them.
func runSimulatedNodes(ctx context.Context, rc *rest.Config, cfg SimulatedNodesConfig, ep nodeEndpoint) error {
	if cfg.Count == 0 {
		return nil
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "kubelite-sim-"
	}
	var stages *simulated.Stages
	if cfg.StagesFile != "" {
		var err error
		if stages, err = simulated.LoadStages(cfg.StagesFile); err != nil {
			return err
		}
	}
	rc = rest.CopyConfig(rc)
	// The host's client watches the pods and nodes of all its nodes and
	// makes their tokens; each node reads and writes its own objects, and
	// its events, as itself.
	rc.QPS, rc.Burst = float32(min(50*cfg.Count, 2000)), min(100*cfg.Count, 4000)
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	names := make([]string, cfg.Count)
	for i := range names {
		names[i] = fmt.Sprintf("%s%04d", cfg.Prefix, i)
	}
	clients := make([]kubernetes.Interface, len(names))
	if cfg.SharedIdentity {
		for i := range clients {
			clients[i] = client
		}
	} else {
		start := time.Now()
		if clients, err = nodeClients(ctx, client, rc, names); err != nil {
			return err
		}
		klog.FromContext(ctx).Info("Simulated nodes' credentials ready", "nodes", len(names), "took", time.Since(start))
	}
	// A broadcaster writes its events one at a time, each waiting for its
	// etcd write: one for all nodes fell minutes behind, then dropped events,
	// when thousands of pods started. One per node (as upstream, where each
	// kubelet has its own), up to 64 shared round robin, write in parallel.
	sink := nodeEventSink(client, names, clients)
	broadcasters := make([]record.EventBroadcaster, min(cfg.Count, 64))
	for i := range broadcasters {
		broadcasters[i] = record.NewBroadcaster(record.WithContext(ctx))
		broadcasters[i].StartRecordingToSink(sink)
		defer broadcasters[i].Shutdown()
	}

	l, unroute, err := ep.listenSimulated(cfg.EndpointAddress)
	if err != nil {
		return err
	}
	defer unroute()
	port := int32(l.Addr().(*net.TCPAddr).Port)

	agents := make([]nodeagent.Config, 0, cfg.Count)
	for i := range cfg.Count {
		node := nodeagent.SimulatedNodeConfig(names[i], i, cfg.Taint)
		node.KubeletPort = port
		rt, err := simulated.New(simulated.Config{PodCIDRs: node.PodCIDRs, Stages: stages, MissingImages: cfg.MissingImages})
		if err != nil {
			return err
		}
		agents = append(agents, nodeagent.Config{
			Node:     node,
			Client:   clients[i],
			Runtime:  rt,
			Recorder: broadcasters[i%len(broadcasters)].NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: node.Name}),
			Workers:  1,
		})
	}
	host, err := nodeagent.NewHost(client, agents)
	if err != nil {
		l.Close()
		return err
	}
	srv, err := ep.server(l, host, client, "", []string{"127.0.0.1", "localhost"})
	if err != nil {
		l.Close()
		return err
	}
	go runEndpoint(ctx, srv)
	return host.Run(ctx)
}

func newNodeAgentCommand() *cobra.Command {
	var sim SimulatedNodesConfig
	var kubeconfig, profiling string
	cmd := &cobra.Command{
		Use:   "nodeagent",
		Short: "Run node agents that join a cluster",
		Long: `Run node agents that register their nodes with a kubelite (or any Kubernetes) API
server and run the pods bound to them.

With --simulated-nodes N, one process hosts N simulated nodes: their containers run no
process, and move through their states as the simulated runtime's stages say. Use them
for scale tests and for controllers that need pods to progress.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sim.Validate(); err != nil {
				return err
			}
			if sim.Count == 0 {
				return errors.New("--simulated-nodes is required: a node agent on containerd is not available yet")
			}
			rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			ep, err := endpointFromConfig(rc)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			if profiling != "" {
				if err := serveProfiling(ctx, profiling); err != nil {
					return err
				}
			}
			klog.FromContext(ctx).Info("Starting simulated nodes", "count", sim.Count)
			return runSimulatedNodes(ctx, rc, sim, ep)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&kubeconfig, "kubeconfig", "", "Path to a kubeconfig file that reaches the API server.")
	fs.StringVar(&profiling, "profiling-address", "", "Serve /debug/pprof/ over plain HTTP on this address, e.g. 127.0.0.1:10252 (no authentication: keep it on loopback). Empty: off.")
	addSimulatedNodeFlags(fs, &sim)
	return cmd
}

// addSimulatedNodeFlags adds the flags of SimulatedNodesConfig to fs.
func addSimulatedNodeFlags(fs interface {
	IntVar(*int, string, int, string)
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
	StringSliceVar(*[]string, string, []string, string)
}, sim *SimulatedNodesConfig) {
	fs.IntVar(&sim.Count, "simulated-nodes", 0, "Number of simulated nodes to run: node agents whose containers run no process.")
	fs.StringVar(&sim.Prefix, "simulated-node-prefix", "kubelite-sim-", "Prefix of the simulated nodes' names; each name ends in the node's index.")
	fs.BoolVar(&sim.Taint, "simulated-node-taint", false, "Taint simulated nodes with kubelite.io/simulated=true:NoSchedule, so that only pods that tolerate it are scheduled there.")
	fs.StringVar(&sim.EndpointAddress, "simulated-endpoint-address", "", "host:port of the simulated nodes' one HTTPS endpoint (logs, exec, port-forward), whose port every simulated node reports. Empty: 127.0.0.1 on a free port.")
	fs.StringVar(&sim.StagesFile, "simulated-stages", "", "YAML file of container lifecycles for the simulated runtime, replacing the built-in ones.")
	fs.StringSliceVar(&sim.MissingImages, "simulated-missing-images", DefaultMissingImages, "Images the simulated nodes fail to pull, as a real node fails an image no registry has: the pod waits in ErrImagePull, then ImagePullBackOff. Names are compared in full (webserver:404 is docker.io/library/webserver:404).")
	fs.BoolVar(&sim.SharedIdentity, "simulated-node-shared-identity", false, "Let every simulated node speak as the host's own identity instead of as system:node:<name> with a node token of its own, for API servers that do not know kubelite's node tokens. Node authorization and NodeRestriction then do not apply to the simulated nodes.")
}

// nodeEventSink returns an event sink that writes each event as the node
// whose agent reported it (its source host), and others as the host.
func nodeEventSink(host kubernetes.Interface, names []string, clients []kubernetes.Interface) record.EventSink {
	byNode := make(map[string]typedcorev1.EventInterface, len(names))
	for i, name := range names {
		byNode[name] = clients[i].CoreV1().Events("")
	}
	return routedEventSink{byNode: byNode, host: host.CoreV1().Events("")}
}

type routedEventSink struct {
	byNode map[string]typedcorev1.EventInterface
	host   typedcorev1.EventInterface
}

func (s routedEventSink) sink(e *corev1.Event) *typedcorev1.EventSinkImpl {
	if events, ok := s.byNode[e.Source.Host]; ok {
		return &typedcorev1.EventSinkImpl{Interface: events}
	}
	return &typedcorev1.EventSinkImpl{Interface: s.host}
}

func (s routedEventSink) Create(e *corev1.Event) (*corev1.Event, error) { return s.sink(e).Create(e) }
func (s routedEventSink) Update(e *corev1.Event) (*corev1.Event, error) { return s.sink(e).Update(e) }
func (s routedEventSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	return s.sink(e).Patch(e, data)
}
