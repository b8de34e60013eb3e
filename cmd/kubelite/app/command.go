// Package app assembles kubelite's components into its commands: one file per
// subcommand, each building a Config, validating it and running it until SIGTERM.
package app

import (
	"context"
	goflag "flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent"
)

// NewCommand returns the kubelite root command with its subcommands.
func NewCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "kubelite",
		Short: "kubelite: a Kubernetes cluster in one binary",
		Long: `kubelite runs a Kubernetes-compatible cluster from a single binary: an API server
serving the upstream Kubernetes API from embedded etcd, a scheduler, controllers and a
node agent. Unmodified kubectl, Helm and client-go programs drive it.`,
		SilenceUsage: true,
	}
	gfs := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(gfs)
	root.PersistentFlags().AddGoFlagSet(gfs)
	root.AddCommand(newServerCommand(), newNodeAgentCommand(), newSchedulerCommand(), newControllerManagerCommand(), newImagesCommand(), newVersionCommand(), newTokenCommand(), newAgentCommand(), newEtcdCommand(), newEtcdSnapshotCommand())
	return root
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newServerCommand() *cobra.Command {
	var cfg ServerConfig
	var bind, advertise string
	var remove bool
	profiling := true
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a whole cluster on this machine: etcd, API server, scheduler, controllers and a node agent",
		Long: `Run a whole Kubernetes-compatible cluster on this machine.

The server starts embedded etcd (unless --etcd-servers names an external cluster), the
API server on HTTPS, and the cluster's components. On first start it creates a CA, a
serving certificate and an admin client certificate under <data-dir>/pki, and writes
an admin kubeconfig to <data-dir>/kubeconfig; later starts reuse them and the data.

Several servers form one cluster on an embedded etcd cluster: start the first with
--cluster-init, make a server token on it (kubelite token create --server), and start
each other one with --server https://FIRST:6443 --token TOKEN. Each adds itself as an
etcd member (peer and client TLS with certificates of the cluster's etcd CA) and serves
the API; the controllers and the scheduler elect one active instance. --remove takes
this running server's member out of the cluster and moves its etcd data aside.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if remove {
				return removeServer(cmd.Context(), cmd.OutOrStdout(), cfg.DataDir, cfg.EtcdClientPort)
			}
			lowerStartupGC()
			cfg.Profiling.Disabled = !profiling
			if bind != "" {
				cfg.BindAddress = net.ParseIP(bind)
			}
			if advertise != "" {
				cfg.AdvertiseAddress = net.ParseIP(advertise)
			}
			if cfg.LocalNode == "" && !cmd.Flags().Changed("proxy") {
				cfg.Proxy = "none"
			}
			s, err := NewServer(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			go func() {
				select {
				case <-s.Ready():
					fmt.Fprintf(cmd.OutOrStdout(), "kubelite is ready; use it with: export KUBECONFIG=%s\n", s.KubeconfigPath())
				case <-ctx.Done():
				}
			}()
			return s.Run(ctx)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.DataDir, "data-dir", DefaultDataDir(), "Directory for etcd data, certificates and the admin kubeconfig.")
	fs.StringVar(&bind, "bind-address", "0.0.0.0", "The IP address on which to listen for the --secure-port port.")
	fs.IntVar(&cfg.SecurePort, "secure-port", 6443, "The port on which to serve HTTPS with authentication and authorization.")
	fs.StringVar(&advertise, "advertise-address", "", "The IP address on which to advertise the apiserver to members of the cluster. If blank, the host's default interface address is used.")
	fs.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "List of etcd servers to connect with (scheme://ip:port), comma separated. If empty, an embedded etcd is started.")
	fs.StringVar(&cfg.EtcdTLS.CAFile, "etcd-cafile", "", "SSL Certificate Authority file used to secure etcd communication (with --etcd-servers).")
	fs.StringVar(&cfg.EtcdTLS.CertFile, "etcd-certfile", "", "SSL certification file used to secure etcd communication (with --etcd-servers).")
	fs.StringVar(&cfg.EtcdTLS.KeyFile, "etcd-keyfile", "", "SSL key file used to secure etcd communication (with --etcd-servers).")
	fs.IntVar(&cfg.EtcdClientPort, "etcd-client-port", 2379, "Port of the embedded etcd's clients: on loopback, and in a cluster of servers on the advertise address too.")
	fs.IntVar(&cfg.EtcdPeerPort, "etcd-peer-port", 2380, "Port of the embedded etcd's peers: on loopback, and in a cluster of servers on the advertise address.")
	fs.BoolVar(&cfg.ClusterInit, "cluster-init", false, "Start the embedded etcd as the first member of a cluster of servers, which others join with --server and --token. A data dir of a single server converts.")
	fs.StringVar(&cfg.JoinServer, "server", "", "Join the cluster of this server (https://host:6443) as an etcd member and API server, with --token. Used while the data dir holds no etcd data.")
	fs.StringVar(&cfg.Token, "token", "", "Server token to join with (kubelite token create --server on a server of the cluster).")
	fs.StringSliceVar(&cfg.CACertHashes, "ca-cert-hash", nil, "With --server, validate that the cluster CA's public key matches this hash (format: \"sha256:<hex>\").")
	fs.StringSliceVar(&cfg.TLSSANs, "tls-san", nil, "More host names or IP addresses for the serving certificate, e.g. a load balancer's in front of several servers, comma separated.")
	fs.BoolVar(&remove, "remove", false, "Do not run: remove this running server (its --data-dir) from its etcd cluster through the other members; it then stops, and its etcd data is moved aside.")
	fs.StringVar(&cfg.ServiceClusterIPRange, "service-cluster-ip-range", "10.96.0.0/12", "A CIDR notation IP range from which to assign service cluster IPs.")
	fs.StringVar(&cfg.ServiceNodePortRange, "service-node-port-range", "30000-32767", "A port range to reserve for services with NodePort visibility.")
	addSimulatedNodeFlags(fs, &cfg.Simulated)
	fs.StringVar(&cfg.LocalNode, "local-node", defaultLocalNode(), "Run a node agent for this machine on this container runtime: containerd (a containerd of kubelite's own under <data-dir>/containerd, installed with apt-get when missing; images from <data-dir>/images and `kubelite images import`). Empty (--local-node=\"\"): no local node. The default is containerd when run as root on Linux with containerd and runc installed, else empty.")
	fs.StringVar(&cfg.NetworkPolicy, "network-policy", "none", "How the --local-node enforces NetworkPolicies for its pods: nftables (a table of kubelite's own, inet kubelite-netpol; needs the nft binary and br_netfilter for traffic between pods of the node) or none.")
	fs.StringVar(&cfg.Proxy, "proxy", defaultProxy(), "How the --local-node serves Services: nftables (the service proxy, in an nft table of kubelite's own, ip kubelite-proxy; and the cluster DNS server on the node's address, port 10053, behind the kube-dns Service) or none. The default is nftables when run as root on Linux with containerd and runc installed (none without a local node), else none.")
	fs.StringVar(&cfg.ClusterDNS, "cluster-dns", "", "The kube-dns Service's cluster IP, the name server of pods with dnsPolicy ClusterFirst. Default: the 10th address of --service-cluster-ip-range (10.96.0.10).")
	fs.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "The cluster's DNS domain: pods search <namespace>.svc.<domain>, svc.<domain> and <domain>.")
	fs.StringVar(&cfg.CNIBinDir, "cni-bin-dir", "", "Directory of the --local-node's CNI plugins (bridge, host-local, portmap; `make cni` builds them). Default: <data-dir>/cni/bin, then /opt/cni/bin. Without them pods get only a loopback interface.")
	fs.IntVar(&cfg.KubeletPort, "kubelet-port", nodeagent.DefaultKubeletPort, "The port of the --local-node agent's HTTPS endpoint (logs, exec, attach, port-forward), on all addresses.")
	fs.StringSliceVar(&cfg.Disable, "disable", nil, "Built-in components not to run, comma separated: "+strings.Join(disableable, ", ")+".")
	addControllerFlags(fs, &cfg.Controllers)
	addAuditFlags(fs, &cfg.Audit)
	addAdmissionFlags(fs, &cfg.Admission)
	fs.IntVar(&cfg.MaxRequestsInFlight, "max-requests-inflight", 400, "With --max-mutating-requests-inflight, the number of requests the API server executes at once, which API priority and fairness shares among its priority levels; beyond their queues, requests get 429.")
	fs.IntVar(&cfg.MaxMutatingRequestsInFlight, "max-mutating-requests-inflight", 200, "See --max-requests-inflight.")
	fs.BoolVar(&profiling, "profiling", true, "Enable profiling via web interface host:port/debug/pprof/ (authorized as any non-resource URL: RBAC allows it to cluster-admin only by default).")
	fs.BoolVar(&cfg.Profiling.Contention, "contention-profiling", false, "Enable block profiling, if profiling is enabled.")
	fs.SetNormalizeFunc(pflag.CommandLine.GetNormalizeFunc())
	return cmd
}
