package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/certificate"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"k8s.io/cluster-bootstrap/token/jws"
	bootstraptokens "k8s.io/cluster-bootstrap/util/tokens"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/certificates"
	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// agentRuntimes are the container runtimes `kubelite agent` runs pods on.
var agentRuntimes = []string{"containerd", "simulated"}

// AgentConfig configures `kubelite agent`: a worker node that joins a
// cluster with a bootstrap token. Zero values take the defaults in the
// comments.
type AgentConfig struct {
	// Servers are the API servers' URLs, of one cluster. Required. With
	// more than one, the agent's connections go to the first that answers
	// and fail over to the next (serverFailover).
	Servers []string
	// Token is a bootstrap token ("<id>.<secret>", `kubelite token
	// create`). Required on the first start; later starts use the node's
	// own certificate from DataDir.
	Token string
	// CACertHashes pin the cluster CA ("sha256:<hex>" of its public key, as
	// `kubelite token create --print-join-command` prints). Empty: the CA
	// in cluster-info is trusted on the token's signature alone.
	CACertHashes []string
	// NodeName is the node's name. Default: the host name, lower-cased.
	NodeName string
	// DataDir holds the node's credentials (pki/, kubeconfig) and, for
	// containerd, its containers' data. Default: DefaultDataDir().
	DataDir string
	// Runtime runs the pods: "containerd" (default) or "simulated".
	Runtime string
	// CNIBinDir holds the CNI plugins of containerd's pod network. Empty:
	// <data-dir>/cni/bin, then /opt/cni/bin.
	CNIBinDir string
	// Proxy serves Services on the node (see ServerConfig.Proxy), reading
	// them as the node's network workers (system:kube-proxy). Empty: none (the command's --proxy
	// defaults to nftables for a containerd node run as root).
	Proxy string
	// ClusterDNS and ClusterDomain go into ClusterFirst pods' resolv.conf.
	// Empty: 10.96.0.10 (the server's default kube-dns address) and
	// cluster.local.
	ClusterDNS, ClusterDomain string
	// ClusterCIDR is the cluster's pod range, the server's --cluster-cidr
	// (one CIDR, or two of different families comma-separated): the
	// service proxy masquerades traffic to a cluster IP from outside it,
	// as the server's node does. Empty: DefaultClusterCIDR, the server's
	// default.
	ClusterCIDR string
	// NetworkPolicy enforces NetworkPolicies for the node's pods
	// (networkPolicyModes), reading pods, namespaces and policies as the
	// node's network workers (system:kube-proxy). Empty: none.
	NetworkPolicy string
}

// Validate reports bad settings without side effects.
func (c AgentConfig) Validate() error {
	var errs []error
	if len(c.Servers) == 0 {
		errs = append(errs, errors.New("--server is required"))
	}
	for _, s := range c.Servers {
		if !strings.HasPrefix(s, "https://") {
			errs = append(errs, fmt.Errorf("--server must be an https:// URL, got %q", s))
		}
	}
	if c.Token != "" {
		if _, _, err := bootstraptokens.ParseToken(c.Token); err != nil {
			errs = append(errs, fmt.Errorf("--token: %w", err))
		}
	}
	for _, h := range c.CACertHashes {
		if _, hex, ok := strings.Cut(h, "sha256:"); !ok || len(hex) != 64 {
			errs = append(errs, fmt.Errorf("--ca-cert-hash %q: want sha256:<64 hex digits>", h))
		}
	}
	if err := validateProxy(c.Proxy, c.runtime()); err != nil {
		errs = append(errs, err)
	}
	if c.NetworkPolicy != "" && !slices.Contains(networkPolicyModes, c.NetworkPolicy) {
		errs = append(errs, fmt.Errorf("--network-policy: unknown mode %q (known: %s)", c.NetworkPolicy, strings.Join(networkPolicyModes, ", ")))
	} else if c.NetworkPolicy == "nftables" && c.runtime() != "containerd" {
		errs = append(errs, errors.New("--network-policy=nftables needs --runtime=containerd"))
	}
	for _, cidr := range splitList(c.ClusterCIDR) {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			errs = append(errs, fmt.Errorf("--cluster-cidr: %w", err))
		}
	}
	if c.ClusterDNS != "" && net.ParseIP(c.ClusterDNS) == nil {
		errs = append(errs, fmt.Errorf("--cluster-dns: %q is not an IP address", c.ClusterDNS))
	}
	if c.Runtime != "" && !slices.Contains(agentRuntimes, c.Runtime) {
		errs = append(errs, fmt.Errorf("--runtime: unknown runtime %q (known: %s)", c.Runtime, strings.Join(agentRuntimes, ", ")))
	}
	return errors.Join(errs...)
}

// Agent is a joining worker node.
type Agent struct {
	cfg   AgentConfig
	certs certificate.Manager
	// proxier renews the network workers' certificate, once NetworkConfig
	// got one.
	proxier certificate.Manager
}

// NewAgent checks cfg and fills in its defaults.
func NewAgent(cfg AgentConfig) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NodeName == "" {
		cfg.NodeName = localNodeName()
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir()
	}
	if cfg.Runtime == "" {
		cfg.Runtime = "containerd"
	}
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = DefaultClusterCIDR
	}
	return &Agent{cfg: cfg}, nil
}

// runtime is the agent's runtime, containerd when unset.
func (c AgentConfig) runtime() string {
	if c.Runtime == "" {
		return "containerd"
	}
	return c.Runtime
}

func (a *Agent) pkiDir() string { return filepath.Join(a.cfg.DataDir, "pki") }

// caFile is the cluster CA the agent trusts, from discovery.
func (a *Agent) caFile() string { return filepath.Join(a.pkiDir(), "ca.crt") }

// certFile holds the node's current client certificate and key, as the
// certificate store names it (kubelet's kubelet-client-current.pem).
func (a *Agent) certFile() string { return filepath.Join(a.pkiDir(), "kubelet-client-current.pem") }

// proxierCertFile holds the client certificate and key of the node's
// network workers (system:kube-proxy).
func (a *Agent) proxierCertFile() string {
	return filepath.Join(a.pkiDir(), "kube-proxy-client-current.pem")
}

// KubeconfigPath is the node's kubeconfig, with its own certificate.
func (a *Agent) KubeconfigPath() string { return filepath.Join(a.cfg.DataDir, "kubelet.kubeconfig") }

// Run joins the cluster (unless DataDir holds the node's credentials from
// an earlier start), then runs the node agent with the node's identity,
// renewing its certificate before it expires, until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	rc, err := a.Join(ctx)
	if err != nil {
		return err
	}
	defer a.certs.Stop()
	netConfig, err := a.NetworkConfig(ctx, rc, time.Minute)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		klog.FromContext(ctx).Error(err, "No credentials for the node's network workers: no routes to other nodes' pods")
	} else {
		defer a.proxier.Stop()
	}
	return a.runNode(ctx, rc, netConfig)
}

// NetworkConfig returns the client config of the node's network workers
// (routes to other nodes' pods, a service proxy, network policy), which
// need to list the cluster's Nodes, Services, EndpointSlices, Namespaces,
// Pods and NetworkPolicies: more than the Node authorizer lets a node read.
// As upstream's kube-proxy and network daemons run with identities of
// their own, they run as system:kube-proxy (bound to upstream's
// system:node-proxier, and to kubelite:node-network for the rest), with a
// client certificate the node asks for under its own identity, which the
// control plane approves for nodes and which is renewed before it expires.
// It waits at most timeout for the certificate; nodeConfig is the node's
// own client config.
func (a *Agent) NetworkConfig(ctx context.Context, nodeConfig *rest.Config, timeout time.Duration) (*rest.Config, error) {
	store, err := certificate.NewFileStore("kube-proxy-client", a.pkiDir(), a.pkiDir(), "", "")
	if err != nil {
		return nil, err
	}
	m, err := certificate.NewManager(&certificate.Config{
		ClientsetFn: func(*tls.Certificate) (kubernetes.Interface, error) {
			return kubernetes.NewForConfig(nodeConfig)
		},
		Template:         &x509.CertificateRequest{Subject: pkix.Name{CommonName: certificates.NodeProxierUser}},
		SignerName:       certificatesv1.KubeAPIServerClientSignerName,
		Usages:           []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		CertificateStore: store,
		Name:             "kube-proxy-client",
		Ctx:              &ctx,
	})
	if err != nil {
		return nil, err
	}
	m.Start()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return m.Current() != nil, nil
	}); err != nil {
		m.Stop()
		return nil, fmt.Errorf("no client certificate for %s: %w", certificates.NodeProxierUser, err)
	}
	a.proxier = m
	cfg := rest.AnonymousClientConfig(nodeConfig)
	cfg.CertFile, cfg.KeyFile = a.proxierCertFile(), a.proxierCertFile()
	return cfg, nil
}

// Join gets the node its credentials: the cluster CA, by discovery with the
// token, and a client certificate for system:node:<name> through a CSR,
// which the certificate manager renews from then on. It returns the node's
// client config and writes its kubeconfig.
func (a *Agent) Join(ctx context.Context) (*rest.Config, error) {
	logger := klog.FromContext(ctx)
	if err := os.MkdirAll(a.pkiDir(), 0o700); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(a.caFile())
	if errors.Is(err, os.ErrNotExist) {
		if a.cfg.Token == "" {
			return nil, errors.New("--token is required to join: no credentials in the data dir")
		}
		if ca, err = a.discover(ctx); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(a.caFile(), ca, 0o644); err != nil {
			return nil, err
		}
		logger.Info("Trusting the cluster CA from cluster-info", "caCertHash", caHashOf(ca))
	} else if err != nil {
		return nil, err
	}

	store, err := certificate.NewFileStore("kubelet-client", a.pkiDir(), a.pkiDir(), "", "")
	if err != nil {
		return nil, err
	}
	nodeConfig := a.serverConfig(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: ca, CertFile: a.certFile(), KeyFile: a.certFile()}})
	a.certs, err = certificate.NewManager(&certificate.Config{
		ClientsetFn: func(current *tls.Certificate) (kubernetes.Interface, error) {
			if current != nil {
				return kubernetes.NewForConfig(nodeConfig)
			}
			if a.cfg.Token == "" {
				return nil, errors.New("no valid node certificate and no --token to ask for one")
			}
			return kubernetes.NewForConfig(a.serverConfig(&rest.Config{BearerToken: a.cfg.Token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}))
		},
		Template: &x509.CertificateRequest{Subject: pkix.Name{
			CommonName: "system:node:" + a.cfg.NodeName, Organization: []string{"system:nodes"},
		}},
		SignerName:       certificatesv1.KubeAPIServerClientKubeletSignerName,
		Usages:           []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		CertificateStore: store,
		Name:             "kubelet-client",
		Ctx:              &ctx,
	})
	if err != nil {
		return nil, err
	}
	a.certs.Start()
	if a.certs.Current() == nil {
		logger.Info("Asking for the node's client certificate", "node", a.cfg.NodeName)
	}
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
		return a.certs.Current() != nil, nil
	}); err != nil {
		a.certs.Stop()
		return nil, fmt.Errorf("no node client certificate: %w", err)
	}
	if err := a.writeKubeconfig(ca); err != nil {
		a.certs.Stop()
		return nil, err
	}
	return rest.CopyConfig(nodeConfig), nil
}

// serverConfig points rc at the servers: the one server's URL, or with
// several, a dialer that fails over between them. Every kubelite server's
// certificate names "kubernetes", which the client then checks instead of
// the address it happens to reach.
func (a *Agent) serverConfig(rc *rest.Config) *rest.Config {
	rc.Host = a.cfg.Servers[0]
	if len(a.cfg.Servers) > 1 {
		f, err := newServerFailover(a.cfg.Servers)
		if err == nil {
			rc.Dial = f.DialContext
			rc.TLSClientConfig.ServerName = "kubernetes"
		}
	}
	return rc
}

// writeKubeconfig writes the node's kubeconfig: the server, the CA, and
// the certificate file the manager keeps current.
func (a *Agent) writeKubeconfig(ca []byte) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["default-cluster"] = &clientcmdapi.Cluster{Server: a.cfg.Servers[0], CertificateAuthorityData: ca}
	cfg.AuthInfos["default-auth"] = &clientcmdapi.AuthInfo{ClientCertificate: a.certFile(), ClientKey: a.certFile()}
	cfg.Contexts["default-context"] = &clientcmdapi.Context{Cluster: "default-cluster", AuthInfo: "default-auth"}
	cfg.CurrentContext = "default-context"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(a.KubeconfigPath(), data, 0o600)
}

// discover returns the cluster CA from the first of the servers that
// gives it (discoverCA).
func (a *Agent) discover(ctx context.Context) ([]byte, error) {
	var errs []error
	for _, server := range a.cfg.Servers {
		ca, err := discoverCA(ctx, server, a.cfg.Token, a.cfg.CACertHashes)
		if err == nil {
			return ca, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// discoverCA returns the cluster CA, as kubeadm's token discovery finds it:
// the cluster-info ConfigMap of server read anonymously (the server is not
// yet trusted), believed only when its signature for the token verifies,
// and its CA only when it matches a pinned hash if any is given. It waits
// for the bootstrap signer to sign with a new token.
func discoverCA(ctx context.Context, server, token string, hashes []string) ([]byte, error) {
	id, secret, err := bootstraptokens.ParseToken(token)
	if err != nil {
		return nil, err
	}
	insecure, err := kubernetes.NewForConfig(&rest.Config{Host: server, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	var ca []byte
	var last error
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		ca, last = verifyClusterInfo(ctx, insecure, id, secret, hashes)
		var permanent *permanentError
		if errors.As(last, &permanent) {
			return false, last
		}
		if last != nil {
			klog.FromContext(ctx).V(2).Info("cluster-info not usable yet", "server", server, "err", last)
		}
		return last == nil, nil
	})
	if err != nil && last != nil {
		return nil, fmt.Errorf("discover the cluster CA at %s: %w", server, last)
	}
	return ca, err
}

// permanentError is a discovery failure that waiting does not mend.
type permanentError struct{ error }

func verifyClusterInfo(ctx context.Context, client kubernetes.Interface, id, secret string, hashes []string) ([]byte, error) {
	cm, err := client.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, bootstrapapi.ConfigMapClusterInfo, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read cluster-info: %w", err)
	}
	content, ok := cm.Data[bootstrapapi.KubeConfigKey]
	if !ok {
		return nil, errors.New("cluster-info has no kubeconfig")
	}
	sig, ok := cm.Data[bootstrapapi.JWSSignatureKeyPrefix+id]
	if !ok {
		return nil, fmt.Errorf("cluster-info is not signed for token id %s yet", id)
	}
	if !jws.DetachedTokenIsValid(sig, content, id, secret) {
		return nil, &permanentError{fmt.Errorf("cluster-info's signature for token id %s does not verify: wrong token, or a server that is not the cluster's", id)}
	}
	kc, err := clientcmd.Load([]byte(content))
	if err != nil {
		return nil, &permanentError{fmt.Errorf("cluster-info's kubeconfig: %w", err)}
	}
	var ca []byte
	for _, c := range kc.Clusters {
		ca = c.CertificateAuthorityData
	}
	if len(kc.Clusters) != 1 || len(ca) == 0 {
		return nil, &permanentError{errors.New("cluster-info's kubeconfig must name one cluster with its CA")}
	}
	if len(hashes) > 0 && !slices.Contains(hashes, caHashOf(ca)) {
		return nil, &permanentError{fmt.Errorf("the cluster CA's hash %s matches no --ca-cert-hash", caHashOf(ca))}
	}
	return ca, nil
}

// caHashOf is the pin of the first certificate in PEM bundle ca.
func caHashOf(ca []byte) string {
	cert, err := parseCert(ca)
	if err != nil {
		return ""
	}
	return caCertHash(cert)
}

// runNode runs the node agent as the node's own user, and its pod
// network's routes as netConfig's (none when nil).
func (a *Agent) runNode(ctx context.Context, rc, netConfig *rest.Config) error {
	if a.cfg.Runtime == "containerd" {
		// The node's endpoint (logs, exec, port-forward) on the kubelet's
		// port, for callers with a certificate of the cluster CA.
		ep, err := endpointFromConfig(rc)
		if err != nil {
			return err
		}
		ep.port = 10250
		sp := serviceProxy{mode: a.cfg.Proxy, clusterDNS: a.cfg.ClusterDNS, clusterDomain: a.cfg.ClusterDomain,
			clusterCIDRs: splitList(a.cfg.ClusterCIDR)}
		if sp.clusterDNS == "" {
			sp.clusterDNS = defaultAgentClusterDNS
		}
		np := networkPolicy{mode: a.cfg.NetworkPolicy}
		if sp.enabled() || np.mode == "nftables" {
			// The proxy reads the whole cluster's Services and
			// EndpointSlices, network policy its pods, namespaces and
			// policies (peers run on any node), as the node's network
			// workers (system:kube-proxy) may and the node itself may
			// not.
			if netConfig == nil && np.mode == "nftables" {
				return errors.New("network policy: no credentials for the node's network workers")
			}
			pc := netConfig
			if pc == nil {
				pc = rc
			}
			client, err := kubernetes.NewForConfig(pc)
			if err != nil {
				return err
			}
			factory := informers.NewSharedInformerFactory(client, 0)
			defer factory.Shutdown()
			sp.informers, np.informers = factory, factory
		}
		return runLocalNode(ctx, rc, a.cfg.DataDir, a.cfg.NodeName, ep, np, localNetwork{CNIBinDir: a.cfg.CNIBinDir, Nodes: netConfig}, sp)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer b.Shutdown()
	node := nodeagent.SimulatedNodeConfig(a.cfg.NodeName, 0, false)
	rt, err := simulated.New(simulated.Config{PodCIDRs: node.PodCIDRs})
	if err != nil {
		return err
	}
	agent, err := nodeagent.New(nodeagent.Config{
		Node:     node,
		Client:   client,
		Runtime:  rt,
		Recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: node.Name}),
	})
	if err != nil {
		return err
	}
	return agent.Run(ctx)
}

func newAgentCommand() *cobra.Command {
	var cfg AgentConfig
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a worker node that joins a cluster with a bootstrap token",
		Long: `Run a worker node that joins a kubelite server.

On its first start the agent reads the cluster-info ConfigMap from --server, trusts the CA in
it once its signature for --token verifies (and its hash matches --ca-cert-hash, if given),
and asks for the node's client certificate (system:node:<name> in system:nodes) through a
CertificateSigningRequest that the cluster approves and signs. It keeps the CA, the
certificate and a kubeconfig under --data-dir, renews the certificate before it expires, and
runs the node agent with that identity. Later starts need no token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.runtime() != "containerd" && !cmd.Flags().Changed("proxy") {
				cfg.Proxy = "none"
			}
			a, err := NewAgent(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			return a.Run(ctx)
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&cfg.Servers, "server", nil, "URL of the API server to join, e.g. https://10.0.0.1:6443. Several servers of one cluster, comma separated or the flag repeated: the agent uses the first that answers and fails over to the others.")
	fs.StringVar(&cfg.Token, "token", "", "Bootstrap token to join with (kubelite token create).")
	fs.StringSliceVar(&cfg.CACertHashes, "ca-cert-hash", nil, "For token-based discovery, validate that the cluster CA's public key matches this hash (format: \"sha256:<hex>\").")
	fs.StringVar(&cfg.NodeName, "node-name", "", "The node's name. Default: the host name.")
	fs.StringVar(&cfg.DataDir, "data-dir", DefaultDataDir(), "Directory for the node's credentials and data.")
	fs.StringVar(&cfg.CNIBinDir, "cni-bin-dir", "", "Directory of the CNI plugins (bridge, host-local, portmap; `make cni` builds them) of the pod network. Default: <data-dir>/cni/bin, then /opt/cni/bin. Without them pods get only a loopback interface.")
	fs.StringVar(&cfg.Proxy, "proxy", defaultProxy(), "How the node serves Services: nftables (the service proxy and the cluster DNS server, as the server's local node) or none. The default is nftables when run as root with containerd and runc installed (none for --runtime=simulated), else none.")
	fs.StringVar(&cfg.ClusterDNS, "cluster-dns", "", "The kube-dns Service's cluster IP, the name server of pods with dnsPolicy ClusterFirst. Default: "+defaultAgentClusterDNS+".")
	fs.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "The cluster's DNS domain.")
	fs.StringVar(&cfg.ClusterCIDR, "cluster-cidr", DefaultClusterCIDR, "The cluster's pod range, as the server's --cluster-cidr (two CIDRs of different IP families, comma-separated, for dual stack): the service proxy masquerades traffic to a cluster IP from outside it.")
	fs.StringVar(&cfg.NetworkPolicy, "network-policy", "none", "How the node enforces NetworkPolicies for its pods: nftables (as the server's --network-policy, reading pods, namespaces and policies as the node's network workers) or none.")
	fs.StringVar(&cfg.Runtime, "runtime", "containerd", "Container runtime: containerd (a containerd of the agent's own under <data-dir>/containerd), or simulated (containers that run no process).")
	return cmd
}
