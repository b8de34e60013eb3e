package main

// The upstream control plane for side-by-side measurements: etcd and
// kube-apiserver built from Go modules by conformance/tools/build.sh, found through
// ETCD_BIN and KUBE_APISERVER_BIN or in the binary cache ($KUBELITE_CACHE, else the
// repository's .cache/bin).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// upstreamBins returns the paths of upstream's etcd and kube-apiserver, or skips.
func upstreamBins(b *testing.B) (etcd, apiserver string) {
	find := func(env, name string) string {
		if p := os.Getenv(env); p != "" {
			return p
		}
		// The binary cache conformance/tools/build.sh fills: $KUBELITE_CACHE or .cache/bin.
		dir := os.Getenv("KUBELITE_CACHE")
		if dir == "" {
			dir = "../../.cache/bin"
		}
		p, _ := filepath.Abs(filepath.Join(dir, name))
		return p
	}
	etcd, apiserver = find("ETCD_BIN", "etcd"), find("KUBE_APISERVER_BIN", "kube-apiserver")
	for _, p := range []string{etcd, apiserver} {
		if _, err := os.Stat(p); err != nil {
			b.Skipf("no upstream binary at %s (conformance/tools/build.sh builds it): %v", p, err)
		}
	}
	return etcd, apiserver
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startUpstream starts etcd, waits for it, then starts kube-apiserver and returns
// once /readyz answers ok, with the time from kube-apiserver's exec to ready (etcd
// already up, as upstream is usually measured) and from etcd's exec to ready.
func startUpstream(b *testing.B) (c *cluster, apiserverReady, total time.Duration) {
	etcdBin, apiserverBin := upstreamBins(b)
	dir := b.TempDir()
	pki := writeUpstreamPKI(b, dir)
	clientPort, peerPort, securePort := freePort(b), freePort(b), freePort(b)
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)

	dropCachedPages(b, etcdBin, apiserverBin)
	start := time.Now()
	etcd := exec.Command(etcdBin, "--data-dir", filepath.Join(dir, "etcd"), "--name", "default",
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--log-level", "error")
	if err := etcd.Start(); err != nil {
		b.Fatal(err)
	}
	stops := []func(){func() { _ = etcd.Process.Signal(os.Interrupt); _ = etcd.Wait() }}
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	b.Cleanup(stop)
	waitFor(b, "", func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", clientPort))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})

	apiStart := time.Now()
	api := exec.Command(apiserverBin,
		"--etcd-servers", clientURL, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(securePort), "--cert-dir", filepath.Join(dir, "certs"),
		"--client-ca-file", pki.caFile, "--authorization-mode", "Node,RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", pki.saKeyFile, "--service-account-signing-key-file", pki.saKeyFile,
		"--service-cluster-ip-range", "10.96.0.0/12",
		// Loopback addresses are not allowed in the kubernetes endpoints.
		"--endpoint-reconciler-type", "none")
	logFile, err := os.Create(filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	api.Stdout, api.Stderr = logFile, logFile
	if err := api.Start(); err != nil {
		b.Fatal(err)
	}
	stops = append(stops, func() { _ = api.Process.Signal(os.Interrupt); _ = api.Wait() })
	cfg := &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", securePort),
		TLSClientConfig: rest.TLSClientConfig{Insecure: true, CertFile: pki.adminCert, KeyFile: pki.adminKey},
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	waitFor(b, logFile.Name(), func() bool {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		return err == nil && string(body) == "ok"
	})
	now := time.Now()
	return &cluster{config: cfg, pids: []int{etcd.Process.Pid, api.Process.Pid}, stop: stop}, now.Sub(apiStart), now.Sub(start)
}

func waitFor(b *testing.B, log string, ok func() bool) {
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log)
			if len(out) > 4000 {
				out = out[len(out)-4000:]
			}
			b.Fatalf("upstream control plane not ready after a minute; log ends:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type upstreamPKI struct {
	caFile, caKey, adminCert, adminKey, saKeyFile string
	// servingCert and servingKey are kube-apiserver's serving certificate,
	// signed by the CA for 127.0.0.1 and the kubernetes Service's names, so
	// that kubeconfigs can name the CA (the control plane's components and
	// kubelite's node agent verify the server).
	servingCert, servingKey string
}

// writeUpstreamPKI makes a CA, an admin client certificate in system:masters, a
// serving certificate and a service-account signing key for kube-apiserver,
// as kubeadm would before the control plane starts.
func writeUpstreamPKI(b *testing.B, dir string) upstreamPKI {
	p := upstreamPKI{
		caFile: filepath.Join(dir, "ca.crt"), caKey: filepath.Join(dir, "ca.key"),
		adminCert: filepath.Join(dir, "admin.crt"),
		adminKey:  filepath.Join(dir, "admin.key"), saKeyFile: filepath.Join(dir, "sa.key"),
		servingCert: filepath.Join(dir, "apiserver.crt"), servingKey: filepath.Join(dir, "apiserver.key"),
	}
	caKey := newKey(b)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	adminKey := newKey(b)
	adminTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	adminDER, err := x509.CreateCertificate(rand.Reader, adminTmpl, ca, adminKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	servingKey := newKey(b)
	servingTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTmpl, ca, servingKey.Public(), caKey)
	if err != nil {
		b.Fatal(err)
	}
	writePEMFile(b, p.caFile, "CERTIFICATE", caDER)
	writeKeyFile(b, p.caKey, caKey)
	writePEMFile(b, p.adminCert, "CERTIFICATE", adminDER)
	writeKeyFile(b, p.adminKey, adminKey)
	writePEMFile(b, p.servingCert, "CERTIFICATE", servingDER)
	writeKeyFile(b, p.servingKey, servingKey)
	writeKeyFile(b, p.saKeyFile, newKey(b))
	return p
}

func newKey(b *testing.B) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func writeKeyFile(b *testing.B, file string, k *ecdsa.PrivateKey) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		b.Fatal(err)
	}
	writePEMFile(b, file, "EC PRIVATE KEY", der)
}

func writePEMFile(b *testing.B, file, typ string, der []byte) {
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		b.Fatal(err)
	}
}
