package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"
	bootstraptokens "k8s.io/cluster-bootstrap/util/tokens"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
	"github.com/kubelite/kubelite/storage"
)

// ServerConfig configures `kubelite server`: etcd, the API server and, as they
// arrive, the other components, in one process. Zero values take the defaults
// named in each field's comment.
type ServerConfig struct {
	// DataDir holds etcd's data, the PKI and the kubeconfig. Default: /var/lib/kubelite
	// for root, ~/.kubelite otherwise.
	DataDir string
	// BindAddress is the address the API server listens on. Default: 0.0.0.0.
	BindAddress net.IP
	// SecurePort is the HTTPS port. Zero picks a free port (tests); the command's
	// flag defaults to 6443.
	SecurePort int
	// AdvertiseAddress is the address other members reach this server at. Default:
	// the host's default-route interface address.
	AdvertiseAddress net.IP
	// EtcdServers, when set, are the client URLs of an external etcd; otherwise an
	// embedded etcd runs on DataDir/etcd.
	EtcdServers []string
	// EtcdTLS is the client identity towards the external EtcdServers:
	// the CA that signed their certificates and a client certificate and
	// key (--etcd-cafile, --etcd-certfile, --etcd-keyfile). Zero: no TLS.
	EtcdTLS storage.TLSFiles
	// EtcdClientPort and EtcdPeerPort are the embedded etcd's ports (loopback
	// only for a single server; the advertised address too in a cluster).
	// Zero picks free ones.
	EtcdClientPort, EtcdPeerPort int
	// ClusterInit starts the embedded etcd as the first member of a
	// cluster of servers, which others join (JoinServer). A data dir that
	// already belongs to a cluster member starts as one without it.
	ClusterInit bool
	// JoinServer is the URL of a server of the cluster this server joins
	// as an etcd member and API server, with Token, a server token
	// (`kubelite token create --server`). Used only while the data dir has
	// no etcd data. Empty: no join.
	JoinServer string
	// Token authenticates the join to JoinServer.
	Token string
	// CACertHashes optionally pin the cluster CA on join, as for agents.
	CACertHashes []string
	// TLSSANs are more names and addresses for the serving certificate:
	// a load balancer's in front of several servers. Empty: none.
	TLSSANs []string
	// ServiceClusterIPRange is the CIDR cluster IPs come from. Default: 10.96.0.0/12.
	ServiceClusterIPRange string
	// ServiceNodePortRange is the node port range. Default: 30000-32767.
	ServiceNodePortRange string
	// Simulated adds simulated nodes beside the server. Zero: none.
	Simulated SimulatedNodesConfig
	// LocalNode runs a node agent for this machine on the named runtime
	// (localNodeRuntimes: "containerd"), whose data is under DataDir.
	// Empty: none.
	LocalNode string
	// CNIBinDir holds the local node's CNI plugins. Empty:
	// <data-dir>/cni/bin, then /opt/cni/bin.
	CNIBinDir string
	// KubeletPort is the port of the local node agent's endpoint. Zero
	// picks a free port (tests); the command's flag defaults to 10250.
	KubeletPort int
	// NetworkPolicy enforces NetworkPolicies for the local node's pods:
	// "nftables" (nodeagent/netpol), or "none". Empty: "none".
	NetworkPolicy string
	// Proxy serves Services on the local node: "nftables" (the service
	// proxy, nodeagent/proxy, and the cluster DNS server, nodeagent/dns),
	// or "none". Empty: none (the command's --proxy defaults to nftables
	// for a local node on containerd run as root).
	Proxy string
	// ClusterDNS is the kube-dns Service's address, which ClusterFirst
	// pods' resolv.conf names. Empty: the 10th address of the service range
	// (10.96.0.10).
	ClusterDNS string
	// ClusterDomain is the cluster's DNS domain. Empty: cluster.local.
	ClusterDomain string
	// Controllers tunes the controller manager. Zero: upstream's behaviour.
	Controllers ControllersConfig
	// Audit is the API server's audit logging. Zero: none.
	Audit AuditConfig
	// Admission chooses and configures the admission plugins. Zero: all,
	// with their defaults.
	Admission AdmissionConfig
	// MaxRequestsInFlight and MaxMutatingRequestsInFlight are the API
	// server's seats, which priority and fairness shares out. Zero:
	// upstream's 400 and 200.
	MaxRequestsInFlight, MaxMutatingRequestsInFlight int
	// Profiling is the API server's /debug/pprof. Zero: served (to users
	// RBAC allows the path: system:masters), as upstream.
	Profiling ProfilingConfig
	// Disable names built-in components not to run (see disableable), e.g.
	// "scheduler" to run another scheduler, such as upstream's, in its
	// place, or "controller-manager". Empty: run them all.
	Disable []string
}

// disableable lists the components --disable accepts (a static table).
var disableable = []string{"scheduler", "controller-manager"}

// disabled reports whether component is in c.Disable.
func (c ServerConfig) disabled(component string) bool {
	return slices.Contains(c.Disable, component)
}

// Validate reports bad settings without side effects.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.ServiceClusterIPRange != "" {
		if _, _, err := net.ParseCIDR(c.ServiceClusterIPRange); err != nil {
			errs = append(errs, fmt.Errorf("--service-cluster-ip-range: %w", err))
		}
	}
	if c.ServiceNodePortRange != "" {
		if _, err := utilnet.ParsePortRange(c.ServiceNodePortRange); err != nil {
			errs = append(errs, fmt.Errorf("--service-node-port-range: %w", err))
		}
	}
	if c.JoinServer != "" {
		if !strings.HasPrefix(c.JoinServer, "https://") {
			errs = append(errs, fmt.Errorf("--server must be an https:// URL, got %q", c.JoinServer))
		}
		if c.Token == "" {
			errs = append(errs, errors.New("--server needs --token, a server token (kubelite token create --server)"))
		} else if _, _, err := bootstraptokens.ParseToken(c.Token); err != nil {
			errs = append(errs, fmt.Errorf("--token: %w", err))
		}
	}
	if (c.ClusterInit || c.JoinServer != "") && len(c.EtcdServers) > 0 {
		errs = append(errs, errors.New("--cluster-init and --server run an embedded etcd cluster: they exclude --etcd-servers"))
	}
	if c.ClusterInit && c.JoinServer != "" {
		errs = append(errs, errors.New("--cluster-init starts a new cluster; --server joins one: give one of them"))
	}
	if !c.EtcdTLS.Empty() && len(c.EtcdServers) == 0 {
		errs = append(errs, errors.New("--etcd-cafile, --etcd-certfile and --etcd-keyfile are for --etcd-servers"))
	}
	if c.SecurePort < 0 || c.SecurePort > 65535 {
		errs = append(errs, fmt.Errorf("--secure-port %d out of range", c.SecurePort))
	}
	if c.KubeletPort < 0 || c.KubeletPort > 65535 {
		errs = append(errs, fmt.Errorf("--kubelet-port %d out of range", c.KubeletPort))
	}
	errs = append(errs, c.Simulated.Validate())
	errs = append(errs, c.Admission.Validate())
	if c.LocalNode != "" && !slices.Contains(localNodeRuntimes, c.LocalNode) {
		errs = append(errs, fmt.Errorf("--local-node: unknown runtime %q (known: %s)", c.LocalNode, strings.Join(localNodeRuntimes, ", ")))
	}
	if err := validateNetworkPolicy(c.NetworkPolicy, c.LocalNode); err != nil {
		errs = append(errs, err)
	}
	if err := validateProxy(c.Proxy, c.LocalNode); err != nil {
		errs = append(errs, err)
	}
	if c.ClusterDNS != "" && net.ParseIP(c.ClusterDNS) == nil {
		errs = append(errs, fmt.Errorf("--cluster-dns: %q is not an IP address", c.ClusterDNS))
	}
	for _, d := range c.Disable {
		if !slices.Contains(disableable, d) {
			errs = append(errs, fmt.Errorf("--disable: unknown component %q (known: %s)", d, strings.Join(disableable, ", ")))
		}
	}
	errs = append(errs, c.Controllers.Validate())
	return errors.Join(errs...)
}

// DefaultDataDir is /var/lib/kubelite for root and ~/.kubelite for other users.
func DefaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/kubelite"
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".kubelite"
	}
	return filepath.Join(home, ".kubelite")
}

// Server is a running `kubelite server`.
type Server struct {
	cfg        ServerConfig
	ready      chan struct{}
	kubeconfig string
	restConfig *rest.Config
	mu         sync.Mutex
}

// NewServer checks cfg and fills in its defaults.
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir()
	}
	if cfg.BindAddress == nil {
		cfg.BindAddress = net.IPv4zero
	}
	if cfg.AdvertiseAddress == nil {
		ip, err := utilnet.ResolveBindAddress(cfg.BindAddress)
		if err != nil {
			ip = net.ParseIP("127.0.0.1")
		}
		cfg.AdvertiseAddress = ip
	}
	if cfg.ServiceClusterIPRange == "" {
		cfg.ServiceClusterIPRange = "10.96.0.0/12"
	}
	if cfg.ServiceNodePortRange == "" {
		cfg.ServiceNodePortRange = "30000-32767"
	}
	return &Server{cfg: cfg, ready: make(chan struct{}), kubeconfig: filepath.Join(cfg.DataDir, "kubeconfig")}, nil
}

// Ready is closed once /readyz answers ok and the kubeconfig is written.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// KubeconfigPath is where the admin kubeconfig is written.
func (s *Server) KubeconfigPath() string { return s.kubeconfig }

// RESTConfig returns an admin client config for the server, once Ready.
func (s *Server) RESTConfig() *rest.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rest.CopyConfig(s.restConfig)
}

// Run starts etcd and the API server and blocks until ctx ends, then stops them in
// order: the API server drains its requests, then etcd syncs and closes.
func (s *Server) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	cfg := s.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	_, serviceCIDR, _ := net.ParseCIDR(cfg.ServiceClusterIPRange)
	nodePorts, _ := utilnet.ParsePortRange(cfg.ServiceNodePortRange)
	kubeIP, err := firstIP(serviceCIDR)
	if err != nil {
		return err
	}
	clusterDNS, err := clusterDNSAddress(cfg.ClusterDNS, serviceCIDR)
	if err != nil {
		// A service range too small for it: the cluster runs without DNS.
		logger.Error(err, "No cluster DNS")
		clusterDNS = nil
	}
	host, _ := os.Hostname()
	p := pki{dir: filepath.Join(cfg.DataDir, "pki")}
	dnsNames := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if host != "" {
		dnsNames = append(dnsNames, host)
	}
	ips := []net.IP{net.ParseIP("127.0.0.1"), kubeIP, cfg.AdvertiseAddress}
	if !cfg.BindAddress.IsUnspecified() {
		ips = append(ips, cfg.BindAddress)
	}
	for _, san := range cfg.TLSSANs {
		if ip := net.ParseIP(san); ip != nil {
			ips = append(ips, ip)
		} else {
			dnsNames = append(dnsNames, san)
		}
	}
	var boot *serverBootstrap
	if s.needsJoin() {
		// The cluster's CA and keys first: this server's certificates are
		// made with them.
		if boot, err = s.fetchBootstrap(ctx); err != nil {
			return err
		}
	}
	if err := p.ensure(dnsNames, ips); err != nil {
		return err
	}

	etcdServers, etcdTLS := cfg.EtcdServers, cfg.EtcdTLS
	var etcdDone <-chan struct{}
	var etcdMembers func() []storage.Member
	// waitEtcd waits for an etcd started in the background.
	waitEtcd := func() error { return nil }
	switch {
	case len(etcdServers) > 0:
	case cfg.ClusterInit || cfg.JoinServer != "" || isClusterMember(cfg.DataDir):
		etcd, err := s.startMember(ctx, p, boot)
		if err != nil {
			return err
		}
		etcdMembers = etcd.Members
		defer etcd.Close()
		etcdServers, etcdTLS, etcdDone = etcd.Endpoints(), etcd.TLS(), etcd.Done()
	default:
		// A lone member starts while the API server is built.
		starting, err := storage.StartInBackground(ctx, storage.Config{
			DataDir:    etcdDataDir(cfg.DataDir),
			ClientPort: cfg.EtcdClientPort,
			PeerPort:   cfg.EtcdPeerPort,
		})
		if err != nil {
			return err
		}
		defer func() {
			if etcd, err := starting.Wait(); err == nil {
				etcd.Close()
			}
		}()
		etcdServers = starting.Endpoints()
		waitEtcd = func() error {
			etcd, err := starting.Wait()
			if err != nil {
				return err
			}
			etcdDone = etcd.Done()
			return nil
		}
	}

	dialer := &nodeDialer{}
	api, err := newAPIServer(APIServerConfig{
		NodeDialer:       dialer,
		BindAddress:      cfg.BindAddress,
		SecurePort:       cfg.SecurePort,
		AdvertiseAddress: cfg.AdvertiseAddress,
		EtcdServers:      etcdServers,
		EtcdTLS:          etcdTLS,
		EtcdMembers:      etcdMembers,
		ServiceCIDR:      serviceCIDR,
		NodePorts:        *nodePorts,
		ClusterDNS:       clusterDNS,
		PKI:              p,
		Audit:            cfg.Audit,
		Admission:        cfg.Admission,

		MaxRequestsInFlight:         cfg.MaxRequestsInFlight,
		MaxMutatingRequestsInFlight: cfg.MaxMutatingRequestsInFlight,
		Profiling:                   cfg.Profiling,
	})
	if err != nil {
		return err
	}
	defer api.close()
	port := api.port
	serverURL := "https://" + net.JoinHostPort(localHost(cfg.BindAddress), strconv.Itoa(port))
	if err := writeKubeconfig(s.kubeconfig, serverURL, p); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}

	if err := waitEtcd(); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	prepared, err := api.prepare()
	if err != nil {
		return err
	}
	go func() { errc <- prepared.RunWithContext(runCtx) }()

	if err := s.waitReady(ctx, api, errc); err != nil {
		return err
	}
	s.mu.Lock()
	s.restConfig = &rest.Config{
		Host: serverURL,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile: p.CAFile(), CertFile: p.AdminCertFile(), KeyFile: p.AdminKeyFile(),
		},
	}
	s.mu.Unlock()
	rootCA, err := os.ReadFile(p.CAFile())
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	endpoint := nodeEndpoint{clientCA: rootCA, dialer: dialer, port: cfg.KubeletPort}
	// Start-up ends once the controllers have filled their caches (in their
	// first term as leader): then what only start-up needed is released.
	startedOnce := sync.OnceFunc(func() { releaseStartupMemory(logger) })
	if !cfg.disabled("controller-manager") {
		go func() {
			tuning := cfg.Controllers
			if tuning.ClusterSigningCertFile == "" {
				tuning.ClusterSigningCertFile, tuning.ClusterSigningKeyFile = p.CAFile(), p.caKeyFile()
			}
			if tuning.ServiceAccountKeyFile == "" {
				tuning.ServiceAccountKeyFile = p.saKeyFile()
			}
			if tuning.NodeIPAM.ServiceCIDRs == "" {
				tuning.NodeIPAM.ServiceCIDRs = cfg.ServiceClusterIPRange
			}
			if tuning.LocalPathDir == "" {
				tuning.LocalPathDir = filepath.Join(cfg.DataDir, "storage")
			}
			if err := runControllerManager(runCtx, api.components.controllerManager(), api.informers, serverIdentity(cfg.DataDir), rootCA, tuning, startedOnce,
				api.components.serviceAccountConfig); err != nil {
				logger.Error(err, "controller manager failed")
				cancel()
			}
		}()
	}
	if cfg.LocalNode != "" {
		// The agent, and the containerd it started, stop before the API
		// server does; the containers keep running for the next start.
		localDone := make(chan struct{})
		defer func() { cancel(); <-localDone }()
		go func() {
			defer close(localDone)
			// The node speaks as itself, system:node:<name>, not as the API server.
			nodeConfig, err := localNodeClient(p, serverURL, localNodeName())
			if err == nil {
				net := localNetwork{CNIBinDir: cfg.CNIBinDir}
				net.Nodes, _ = api.components.config(user.KubeProxy) // made by defaultComponentIdentities
				if cfg.Controllers.NodeIPAM.ClusterCIDR == "" || cfg.disabled("controller-manager") {
					net.PodCIDRs = []string{containerd.DefaultPodCIDR} // nobody else gives the Node one
				}
				sp := serviceProxy{mode: cfg.Proxy, informers: api.informers, clusterDomain: cfg.ClusterDomain}
				if clusterDNS != nil {
					sp.clusterDNS = clusterDNS.String()
				}
				if cidrs := cfg.Controllers.NodeIPAM.ClusterCIDR; cidrs != "" {
					sp.clusterCIDRs = splitList(cidrs)
				} else {
					sp.clusterCIDRs = net.PodCIDRs
				}
				err = runLocalNode(runCtx, nodeConfig, cfg.DataDir, localNodeName(), endpoint,
					networkPolicy{mode: cfg.NetworkPolicy, informers: api.informers}, net, sp)
			}
			if err != nil {
				logger.Error(err, "local node failed")
				cancel()
			}
		}()
	}
	go func() {
		if err := runSimulatedNodes(runCtx, api.loopbackConfig, cfg.Simulated, endpoint); err != nil {
			logger.Error(err, "simulated nodes failed")
			cancel()
		}
	}()
	if !cfg.disabled("scheduler") {
		go func() {
			if err := runScheduler(runCtx, api.components.scheduler(), api.informers, serverIdentity(cfg.DataDir), ""); err != nil {
				logger.Error(err, "scheduler failed")
				cancel()
			}
		}()
	}
	logger.Info("kubelite is ready", "kubeconfig", s.kubeconfig, "server", serverURL)
	close(s.ready)
	// Start-up builds much that it then drops (OpenAPI specs, discovery); give
	// those pages back now rather than when the scavenger gets to them.
	debug.FreeOSMemory()
	if cfg.disabled("controller-manager") {
		startedOnce()
	}
	go releaseWhenIdle(runCtx, logger)
	go tuneLargeHeaps(runCtx, logger)
	select {
	case err := <-errc:
		return err
	case <-etcdDone:
		// A member removed from its cluster stops its etcd: the server
		// has no store left.
		cancel()
		<-errc
		return errors.New("embedded etcd stopped: this server's member was removed from the etcd cluster, or failed")
	}
}

func (s *Server) waitReady(ctx context.Context, api *apiServer, errc <-chan error) error {
	var runErr error
	err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case runErr = <-errc:
			return false, fmt.Errorf("api server stopped: %w", runErr)
		default:
		}
		body, err := api.loopback.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	return err
}

// localHost is the host clients on this machine use to reach a server bound to bind.
func localHost(bind net.IP) string {
	if bind == nil || bind.IsUnspecified() || bind.IsLoopback() {
		return "127.0.0.1"
	}
	return bind.String()
}
