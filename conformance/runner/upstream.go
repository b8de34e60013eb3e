package main

// CLUSTER=upstream: upstream's own control plane, started by the runner so that
// kubelite's numbers can be set beside upstream's on the same machine. etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler are the binaries
// conformance/tools/build.sh builds from the conformance module; the runner
// makes their keys and certificates, picks free loopback ports and writes an
// admin kubeconfig, all in a temp dir removed afterwards (KEEP_DATA keeps it).

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// UpstreamBins are the programs of the upstream control plane.
type UpstreamBins struct {
	Etcd, APIServer, ControllerManager, Scheduler string
}

// upstreamBinsFromEnv takes each binary from its variable (ETCD_BIN,
// KUBE_APISERVER_BIN, KUBE_CONTROLLER_MANAGER_BIN, KUBE_SCHEDULER_BIN), else
// from dir, the binary cache that lib-runner.sh builds them into.
func upstreamBinsFromEnv(dir string) UpstreamBins {
	return UpstreamBins{
		Etcd:              env("ETCD_BIN", filepath.Join(dir, "etcd")),
		APIServer:         env("KUBE_APISERVER_BIN", filepath.Join(dir, "kube-apiserver")),
		ControllerManager: env("KUBE_CONTROLLER_MANAGER_BIN", filepath.Join(dir, "kube-controller-manager")),
		Scheduler:         env("KUBE_SCHEDULER_BIN", filepath.Join(dir, "kube-scheduler")),
	}
}

// The addresses upstream's control plane gets. The kubernetes Service's
// ClusterIP is the first address of the service range, as kube-apiserver
// allocates it.
const (
	upstreamServiceCIDR = "10.96.0.0/12"
	upstreamServiceIP   = "10.96.0.1"
	upstreamIssuer      = "https://kubernetes.default.svc.cluster.local"
)

// upstreamVersions asks each binary for its version: "v1.37.2
// (kube-apiserver, kube-controller-manager, kube-scheduler), etcd 3.7.0".
func upstreamVersions(ctx context.Context, b UpstreamBins) (string, error) {
	version := func(bin, prefix string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "--version").Output()
		if err != nil {
			return "", fmt.Errorf("%s --version: %w (conformance/tools/build.sh builds it)", bin, err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), prefix); ok {
				return strings.TrimSpace(v), nil
			}
		}
		return "", fmt.Errorf("%s --version: no %q line in %q", bin, prefix, out)
	}
	kube := map[string]string{}
	var order []string
	for _, c := range []struct{ name, bin string }{
		{"kube-apiserver", b.APIServer}, {"kube-controller-manager", b.ControllerManager}, {"kube-scheduler", b.Scheduler},
	} {
		v, err := version(c.bin, "Kubernetes ")
		if err != nil {
			return "", err
		}
		if _, ok := kube[v]; !ok {
			order = append(order, v)
		}
		kube[v] += ", " + c.name
	}
	etcd, err := version(b.Etcd, "etcd Version:")
	if err != nil {
		return "", err
	}
	var parts []string
	for _, v := range order {
		parts = append(parts, fmt.Sprintf("%s (%s)", v, strings.TrimPrefix(kube[v], ", ")))
	}
	return strings.Join(parts, ", ") + ", etcd " + etcd, nil
}

// startUpstream starts etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler on free loopback ports with a new temp dir for their data,
// keys and kubeconfigs, and returns once kube-apiserver is ready, both
// controllers answer /healthz and the default namespace has its ServiceAccount
// and kube-root-ca.crt ConfigMap (which the controllers make). Each logs to
// logDir/<component><logSuffix>.log.
func startUpstream(ctx context.Context, bins UpstreamBins, logDir, logSuffix string, keep bool, readyTimeout time.Duration) (*Cluster, error) {
	for _, p := range []*string{&bins.Etcd, &bins.APIServer, &bins.ControllerManager, &bins.Scheduler} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("upstream binary: %w (conformance/tools/build.sh %s builds it)", err, filepath.Base(abs))
		}
		*p = abs
	}
	versions, err := upstreamVersions(ctx, bins)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "upstream-conformance-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Kind: "upstream control plane", dataDir: dir, keep: keep, Versions: versions, anyExit: true}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()

	advertise, reconciler := "127.0.0.1", "none"
	if a := os.Getenv("UPSTREAM_ADVERTISE_ADDRESS"); a != "" {
		if ip := net.ParseIP(a); ip == nil || ip.IsLoopback() {
			return nil, fmt.Errorf("UPSTREAM_ADVERTISE_ADDRESS=%q: want an IP address that is not loopback", a)
		}
		advertise, reconciler = a, "lease"
	}
	pki, err := writeUpstreamPKI(dir, advertise)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	apiURL := fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	kcmPort, schedPort := ports[3], ports[4]

	kubeconfigs := map[string][2]string{ // kubeconfig file -> client certificate and key
		"admin.kubeconfig":                   {pki.adminCert, pki.adminKey},
		"kube-controller-manager.kubeconfig": {pki.kcmCert, pki.kcmKey},
		"kube-scheduler.kubeconfig":          {pki.schedCert, pki.schedKey},
	}
	for name, cert := range kubeconfigs {
		if err := writeKubeconfig(filepath.Join(dir, name), apiURL, pki.caCert, cert[0], cert[1]); err != nil {
			return nil, err
		}
	}
	c.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	kcmConf, schedConf := filepath.Join(dir, "kube-controller-manager.kubeconfig"), filepath.Join(dir, "kube-scheduler.kubeconfig")

	start := func(name, bin string, args ...string) (*proc, error) {
		p, _, err := startProc(name, bin, args, filepath.Join(logDir, name+logSuffix+".log"), nil)
		if err != nil {
			return nil, err
		}
		c.procs = append(c.procs, p)
		return p, nil
	}
	deadline := time.Now().Add(readyTimeout)
	// waitFor polls check until it succeeds, a process of the cluster exits or
	// the deadline passes.
	waitFor := func(what string, p *proc, check func() error) error {
		var last error
		for {
			if last = check(); last == nil {
				return nil
			}
			if exited, err := c.Exited(); exited {
				ended := p
				for _, q := range c.procs {
					if e, _ := q.exited(); e {
						ended = q
					}
				}
				return fmt.Errorf("%s exited before %s (%v); last lines of %s:\n%s", ended.name, what, exitText(err), ended.log, tail(ended.log, 30))
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s after %s: %v; last lines of %s:\n%s", what, readyTimeout, last, p.log, tail(p.log, 30))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}

	etcd, err := start("etcd", bins.Etcd, "--name", "default", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if err := waitFor("etcd was healthy", etcd, func() error {
		return getOK(plain, etcdURL+"/health", `"health":"true"`)
	}); err != nil {
		return nil, err
	}

	api, err := start("kube-apiserver", bins.APIServer,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(ports[2]), "--advertise-address", advertise,
		// Loopback cannot be published as the kubernetes Service's endpoint
		// ("cannot use public IP 127.0.0.1 with endpoint reconciler").
		"--endpoint-reconciler-type", reconciler,
		"--tls-cert-file", pki.servingCert, "--tls-private-key-file", pki.servingKey,
		"--client-ca-file", pki.caCert,
		"--authorization-mode", "Node,RBAC",
		"--enable-admission-plugins", "NodeRestriction",
		"--allow-privileged=true",
		"--enable-bootstrap-token-auth=true",
		"--service-cluster-ip-range", upstreamServiceCIDR,
		"--service-account-issuer", upstreamIssuer,
		"--service-account-key-file", pki.saPub,
		"--service-account-signing-key-file", pki.saKey,
		"--requestheader-client-ca-file", pki.frontProxyCA,
		"--requestheader-allowed-names", "front-proxy-client",
		"--requestheader-username-headers", "X-Remote-User",
		"--requestheader-group-headers", "X-Remote-Group",
		"--requestheader-extra-headers-prefix", "X-Remote-Extra-",
		"--proxy-client-cert-file", pki.frontProxyCert, "--proxy-client-key-file", pki.frontProxyKey)
	if err != nil {
		return nil, err
	}
	admin, err := pki.client(pki.adminCert, pki.adminKey)
	if err != nil {
		return nil, err
	}
	if err := waitFor("kube-apiserver was ready", api, func() error {
		return getOK(admin, apiURL+"/readyz", "ok")
	}); err != nil {
		return nil, err
	}

	kcm, err := start("kube-controller-manager", bins.ControllerManager,
		"--kubeconfig", kcmConf, "--authentication-kubeconfig", kcmConf, "--authorization-kubeconfig", kcmConf,
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(kcmPort), "--cert-dir", filepath.Join(dir, "kcm-certs"),
		"--client-ca-file", pki.caCert, "--requestheader-client-ca-file", pki.frontProxyCA,
		"--cluster-name", "kubernetes",
		"--use-service-account-credentials=true",
		"--root-ca-file", pki.caCert,
		"--service-account-private-key-file", pki.saKey,
		"--cluster-signing-cert-file", pki.caCert, "--cluster-signing-key-file", pki.caKey,
		"--service-cluster-ip-range", upstreamServiceCIDR,
		// One instance: no election, so that a lease renewal missed on a
		// busy machine cannot make it exit in the middle of a run.
		"--leader-elect=false")
	if err != nil {
		return nil, err
	}
	sched, err := start("kube-scheduler", bins.Scheduler,
		"--kubeconfig", schedConf, "--authentication-kubeconfig", schedConf, "--authorization-kubeconfig", schedConf,
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(schedPort),
		"--leader-elect=false")
	if err != nil {
		return nil, err
	}
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // their self-signed serving certificates
	if err := waitFor("kube-controller-manager answered /healthz", kcm, func() error {
		return getOK(insecure, fmt.Sprintf("https://127.0.0.1:%d/healthz", kcmPort), "ok")
	}); err != nil {
		return nil, err
	}
	if err := waitFor("kube-scheduler answered /healthz", sched, func() error {
		return getOK(insecure, fmt.Sprintf("https://127.0.0.1:%d/healthz", schedPort), "ok")
	}); err != nil {
		return nil, err
	}
	// The controllers work: the serviceaccount and root-ca-cert-publisher
	// controllers fill the default namespace.
	for _, path := range []string{"/api/v1/namespaces/default/serviceaccounts/default", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt"} {
		if err := waitFor("kube-controller-manager made "+path, kcm, func() error {
			return getOK(admin, apiURL+path, "")
		}); err != nil {
			return nil, err
		}
	}

	ok = true
	c.Describe = fmt.Sprintf("upstream control plane started by the runner: %s; binaries in %s; data dir %s; "+
		"--endpoint-reconciler-type=%s (advertise address %s), --authorization-mode=Node,RBAC, --leader-elect=false",
		versions, filepath.Dir(bins.APIServer), dir, reconciler, advertise)
	return c, nil
}

// getOK GETs url and wants 200 and a body containing want.
func getOK(client *http.Client, url, want string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %q", url, strings.TrimSpace(string(body)))
	}
	return nil
}

// freePorts finds n distinct free loopback TCP ports, holding them all open
// until all are found so that none is handed out twice.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// upstreamPKI is the files of the control plane's keys and certificates.
type upstreamPKI struct {
	caCert, caKey                        string // the cluster CA: serving and client certificates, CSR signing
	servingCert, servingKey              string // kube-apiserver's serving certificate
	adminCert, adminKey                  string // kubernetes-admin in system:masters
	kcmCert, kcmKey, schedCert, schedKey string // system:kube-controller-manager, system:kube-scheduler
	saKey, saPub                         string // service account token signing key pair
	frontProxyCA                         string // the request-header CA (kube-apiserver as an aggregator)
	frontProxyCert, frontProxyKey        string // front-proxy-client
	ca                                   *x509.Certificate
}

// writeUpstreamPKI makes the keys and certificates a kubeadm cluster has, in dir.
func writeUpstreamPKI(dir, advertise string) (*upstreamPKI, error) {
	pkiDir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return nil, err
	}
	f := func(name string) string { return filepath.Join(pkiDir, name) }
	p := &upstreamPKI{
		caCert: f("ca.crt"), caKey: f("ca.key"), servingCert: f("apiserver.crt"), servingKey: f("apiserver.key"),
		adminCert: f("admin.crt"), adminKey: f("admin.key"),
		kcmCert: f("kube-controller-manager.crt"), kcmKey: f("kube-controller-manager.key"),
		schedCert: f("kube-scheduler.crt"), schedKey: f("kube-scheduler.key"),
		saKey: f("sa.key"), saPub: f("sa.pub"),
		frontProxyCA: f("front-proxy-ca.crt"), frontProxyCert: f("front-proxy-client.crt"), frontProxyKey: f("front-proxy-client.key"),
	}
	serial := int64(1)
	// issue writes a certificate for a new key, signed by parent (self-signed
	// when parent is nil), and returns the certificate and key.
	issue := func(certFile, keyFile string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(7 * 24 * time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			return nil, nil, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, err
		}
		if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
			return nil, nil, err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return cert, key, writePEM(keyFile, "EC PRIVATE KEY", keyDER)
	}
	caTmpl := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	}
	client := func(cn string, orgs ...string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: orgs},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	}

	ca, caKey, err := issue(p.caCert, p.caKey, caTmpl("kubernetes"), nil, nil)
	if err != nil {
		return nil, err
	}
	p.ca = ca
	serving := &x509.Certificate{Subject: pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(upstreamServiceIP), net.ParseIP(advertise)}}
	for _, c := range []struct {
		cert, key string
		tmpl      *x509.Certificate
	}{
		{p.servingCert, p.servingKey, serving},
		{p.adminCert, p.adminKey, client("kubernetes-admin", "system:masters")},
		{p.kcmCert, p.kcmKey, client("system:kube-controller-manager")},
		{p.schedCert, p.schedKey, client("system:kube-scheduler")},
	} {
		if _, _, err := issue(c.cert, c.key, c.tmpl, ca, caKey); err != nil {
			return nil, err
		}
	}
	fpCA, fpKey, err := issue(p.frontProxyCA, f("front-proxy-ca.key"), caTmpl("front-proxy-ca"), nil, nil)
	if err != nil {
		return nil, err
	}
	if _, _, err := issue(p.frontProxyCert, p.frontProxyKey, client("front-proxy-client"), fpCA, fpKey); err != nil {
		return nil, err
	}

	// Service account tokens are signed with RSA (RS256), as on kubeadm clusters.
	sa, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(sa.Public())
	if err != nil {
		return nil, err
	}
	if err := writePEM(p.saKey, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(sa)); err != nil {
		return nil, err
	}
	return p, writePEM(p.saPub, "PUBLIC KEY", pub)
}

// client is an HTTPS client that trusts the cluster CA and authenticates with
// the given client certificate.
func (p *upstreamPKI) client(certFile, keyFile string) (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}, nil
}

func writePEM(file, typ string, der []byte) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// writeKubeconfig writes a kubeconfig for server with the CA and the client
// certificate embedded, so that it stands alone.
func writeKubeconfig(file, server, caFile, certFile, keyFile string) error {
	data := func(path string) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	var vals []string
	for _, f := range []string{caFile, certFile, keyFile} {
		v, err := data(f)
		if err != nil {
			return err
		}
		vals = append(vals, v)
	}
	if vals[0] == "" {
		return errors.New("empty CA file " + caFile)
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: upstream
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: user
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: upstream
  context:
    cluster: upstream
    user: user
current-context: upstream
`, server, vals[0], vals[1], vals[2])
	return os.WriteFile(file, []byte(kc), 0o600)
}
