package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// nodeCSR is a PEM certificate request for a node's client certificate.
func nodeCSR(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestAgentJoins: an agent with a bootstrap token discovers the CA from
// cluster-info, gets a system:node certificate through a CSR that the
// control plane approves and signs, and runs its node, which goes Ready
// under the node's own identity. It renews its certificate through a CSR of
// its own, and starts again from its data dir without the token. A wrong
// token or CA pin stops the join.
func TestAgentJoins(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	token, err := app.CreateBootstrapToken(ctx, s.Client, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(s.Config.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	agent, err := app.NewAgent(app.AgentConfig{
		Servers: []string{s.Config.Host}, Token: token, CACertHashes: []string{app.CACertHash(ca)},
		NodeName: "joiner", DataDir: dir, Runtime: "simulated",
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	waitFor(t, "node joiner Ready", 30*time.Second, func() bool {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, "joiner", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	t.Logf("joined and Ready in %v", time.Since(start))

	nodeCSRs := csrsOf(t, s, certificatesv1.KubeAPIServerClientKubeletSignerName)
	if len(nodeCSRs) != 1 {
		t.Fatalf("node CSRs = %v", nodeCSRs)
	}
	csr := nodeCSRs[0]
	if csr.Spec.Username != "system:bootstrap:"+token[:6] || csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName ||
		len(csr.Status.Certificate) == 0 || !approvedBy(csr, "Auto approving kubelet client certificate after SubjectAccessReview.") {
		t.Errorf("the join's CSR = %+v", csr)
	}

	// The node's kubeconfig speaks as the node.
	node := clientFromKubeconfig(t, agent.KubeconfigPath())
	who := whoAmI(t, node)
	if who.Username != "system:node:joiner" || !slices.Contains(who.Groups, "system:nodes") {
		t.Errorf("the node's kubeconfig is %+v", who)
	}
	// It may not forge endpoints, nor read another Node, which the Node
	// authorizer forbids.
	if _, err := node.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "forged"}, AddressType: discoveryv1.AddressTypeIPv4,
	}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the node creates an EndpointSlice: %v, want forbidden", err)
	}
	if _, err := node.CoreV1().Nodes().Get(ctx, "other", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the node reads another Node: %v, want forbidden", err)
	}
	first := certSerial(t, filepath.Join(dir, "pki", "kubelet-client-current.pem"))

	// The node's network workers (routes to other nodes' pods, a service
	// proxy, network policy) run as system:kube-proxy, with a certificate
	// the node asked for: that identity lists what they need of the whole
	// cluster, which the node's own may not.
	netCfg := rest.CopyConfig(s.Config)
	netCfg.TLSClientConfig = rest.TLSClientConfig{CAData: ca, CertFile: filepath.Join(dir, "pki", "kube-proxy-client-current.pem")}
	netCfg.KeyFile = netCfg.CertFile
	netCfg.BearerToken, netCfg.BearerTokenFile, netCfg.Username, netCfg.Password = "", "", "", ""
	network := kubernetes.NewForConfigOrDie(netCfg)
	if who := whoAmI(t, network); who.Username != "system:kube-proxy" || !slices.Equal(who.Groups, []string{"system:authenticated"}) {
		t.Errorf("the node's network workers are %+v", who)
	}
	lists := map[string]func(kubernetes.Interface) error{
		"nodes": func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err
		},
		"services": func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{})
			return err
		},
		"endpointslices": func(c kubernetes.Interface) error {
			_, err := c.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
			return err
		},
		"namespaces": func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			return err
		},
		"pods": func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
			return err
		},
		"networkpolicies": func(c kubernetes.Interface) error {
			_, err := c.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
			return err
		},
	}
	for what, list := range lists {
		if err := list(network); err != nil {
			t.Errorf("network workers list %s: %v", what, err)
		}
		if what == "services" {
			continue // nodes may list services (upstream's system:node role)
		}
		if err := list(node); !apierrors.IsForbidden(err) {
			t.Errorf("node lists %s: %v, want 403", what, err)
		}
	}
	if _, err := network.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("network workers list secrets: %v, want 403", err)
	}
	// Their informers list and watch: no get of one pod, namespace or
	// policy (least privilege, as upstream's kube-proxy role).
	if _, err := network.CoreV1().Pods("kube-system").Get(ctx, "any", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("network workers get a pod: %v, want 403", err)
	}
	if _, err := network.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("network workers get a namespace: %v, want 403", err)
	}
	if netCSRs := csrsOf(t, s, certificatesv1.KubeAPIServerClientSignerName); len(netCSRs) != 1 || netCSRs[0].Spec.Username != "system:node:joiner" ||
		!approvedBy(netCSRs[0], "Auto approving node proxier client certificate after SubjectAccessReview.") {
		t.Errorf("network workers' CSRs = %+v", netCSRs)
	}

	// Renewal: a CSR of the node's own, approved as selfnodeclient.
	if ok, err := agent.RotateCertificate(); !ok || err != nil {
		t.Fatalf("rotate: %v, %v", ok, err)
	}
	if certSerial(t, filepath.Join(dir, "pki", "kubelet-client-current.pem")) == first {
		t.Error("the certificate file still holds the first certificate")
	}
	var renewed bool
	for _, c := range csrsOf(t, s, certificatesv1.KubeAPIServerClientKubeletSignerName) {
		renewed = renewed || c.Spec.Username == "system:node:joiner" && approvedBy(c, "Auto approving self kubelet client certificate after SubjectAccessReview.")
	}
	if !renewed {
		t.Errorf("no approved renewal CSR from system:node:joiner: %+v", csrsOf(t, s, certificatesv1.KubeAPIServerClientKubeletSignerName))
	}
	if who := whoAmI(t, clientFromKubeconfig(t, agent.KubeconfigPath())); who.Username != "system:node:joiner" {
		t.Errorf("after renewal the node is %+v", who)
	}

	// A second start on the data dir needs no token.
	again, err := app.NewAgent(app.AgentConfig{Servers: []string{s.Config.Host}, NodeName: "joiner", DataDir: dir, Runtime: "simulated"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Join(ctx); err != nil {
		t.Errorf("join again from the data dir: %v", err)
	}

	// The server's own node speaks as a node too.
	rc, err := app.LocalNodeClient(s.DataDir, s.Config.Host, "local")
	if err != nil {
		t.Fatal(err)
	}
	if who := whoAmI(t, kubernetes.NewForConfigOrDie(rc)); who.Username != "system:node:local" || !slices.Contains(who.Groups, "system:nodes") {
		t.Errorf("the server's local node is %+v", who)
	}

	for name, cfg := range map[string]app.AgentConfig{
		"does not verify":           {Token: token[:7] + "0123456789abcdef"},
		"matches no --ca-cert-hash": {Token: token, CACertHashes: []string{"sha256:" + strings.Repeat("0", 64)}},
	} {
		cfg.Servers, cfg.NodeName, cfg.DataDir, cfg.Runtime = []string{s.Config.Host}, "intruder", t.TempDir(), "simulated"
		a, err := app.NewAgent(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Join(ctx); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("join with a bad token or pin: want an error that %s, got %v", name, err)
		}
	}
}

// csrsOf lists the CSRs for signer.
func csrsOf(t *testing.T, s *testserver.Server, signer string) []certificatesv1.CertificateSigningRequest {
	t.Helper()
	list, err := s.Client.CertificatesV1().CertificateSigningRequests().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var csrs []certificatesv1.CertificateSigningRequest
	for _, c := range list.Items {
		if c.Spec.SignerName == signer {
			csrs = append(csrs, c)
		}
	}
	return csrs
}

func approvedBy(csr certificatesv1.CertificateSigningRequest, message string) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved && c.Status == corev1.ConditionTrue && c.Message == message {
			return true
		}
	}
	return false
}

func clientFromKubeconfig(t *testing.T, path string) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(rc)
}

func whoAmI(t *testing.T, c kubernetes.Interface) authenticationv1.UserInfo {
	t.Helper()
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.UserInfo
}

func certSerial(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			t.Fatalf("no certificate in %s", file)
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return c.SerialNumber.String()
		}
	}
}

// TestAgentConfigValidate: the network flags of `kubelite agent` are
// checked before anything starts.
func TestAgentConfigValidate(t *testing.T) {
	base := app.AgentConfig{Servers: []string{"https://10.0.0.1:6443"}}
	for _, tc := range []struct {
		name string
		mod  func(*app.AgentConfig)
		want string // part of the error; empty: valid
	}{
		{"defaults", func(*app.AgentConfig) {}, ""},
		{"network policy on containerd", func(c *app.AgentConfig) { c.NetworkPolicy = "nftables" }, ""},
		{"dual-stack cluster CIDR", func(c *app.AgentConfig) { c.ClusterCIDR = "10.50.0.0/16, fd00:50::/56" }, ""},
		{"unknown network policy mode", func(c *app.AgentConfig) { c.NetworkPolicy = "iptables" }, `--network-policy: unknown mode "iptables"`},
		{"network policy without containers", func(c *app.AgentConfig) {
			c.NetworkPolicy, c.Runtime, c.Proxy = "nftables", "simulated", "none"
		}, "--network-policy=nftables needs --runtime=containerd"},
		{"bad cluster CIDR", func(c *app.AgentConfig) { c.ClusterCIDR = "10.50.0.0/33" }, "--cluster-cidr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}
