package app

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the cluster's certificate authority and the certificates signed by it,
// kept as PEM files under <data-dir>/pki. They are made on first start and reused.
type pki struct {
	dir string
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

// CAFile, ServingCertFile, ... name the files.
func (p pki) CAFile() string          { return p.path("ca.crt") }
func (p pki) caKeyFile() string       { return p.path("ca.key") }
func (p pki) ServingCertFile() string { return p.path("apiserver.crt") }
func (p pki) ServingKeyFile() string  { return p.path("apiserver.key") }
func (p pki) AdminCertFile() string   { return p.path("admin.crt") }
func (p pki) AdminKeyFile() string    { return p.path("admin.key") }
func (p pki) saKeyFile() string       { return p.path("sa.key") }

// KubeletClientCertFile and KubeletClientKeyFile are the API server's client
// certificate towards node agents (pods/log, exec, attach, portforward,
// nodes/proxy): kube-apiserver-kubelet-client in system:masters, as kubeadm
// makes it.
func (p pki) KubeletClientCertFile() string { return p.path("apiserver-kubelet-client.crt") }
func (p pki) KubeletClientKeyFile() string  { return p.path("apiserver-kubelet-client.key") }

// serviceAccountKey loads the key that signs service account tokens, making
// it on first start. Tokens signed with it stay valid across restarts.
func (p pki) serviceAccountKey() (*ecdsa.PrivateKey, error) {
	if _, err := os.Stat(p.saKeyFile()); err == nil {
		return loadServiceAccountKey(p.saKeyFile())
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return key, writePEM(p.saKeyFile(), key, nil)
}

// ensure makes whatever is missing: the CA, a serving certificate valid for the
// given names and addresses, the admin client certificate (system:masters) and
// the API server's client certificate towards node agents.
// A serving certificate that lacks one of the names is made anew.
func (p pki) ensure(dnsNames []string, ips []net.IP) error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("create pki dir: %w", err)
	}
	ca, caKey, err := p.loadOrCreateCA()
	if err != nil {
		return err
	}
	if !certCovers(p.ServingCertFile(), dnsNames, ips) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			DNSNames:    dnsNames,
			IPAddresses: ips,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if err := p.issue(ca, caKey, tmpl, p.ServingCertFile(), p.ServingKeyFile()); err != nil {
			return fmt.Errorf("issue serving certificate: %w", err)
		}
	}
	if _, err := os.Stat(p.AdminCertFile()); errors.Is(err, os.ErrNotExist) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := p.issue(ca, caKey, tmpl, p.AdminCertFile(), p.AdminKeyFile()); err != nil {
			return fmt.Errorf("issue admin certificate: %w", err)
		}
	}
	if _, err := os.Stat(p.KubeletClientCertFile()); errors.Is(err, os.ErrNotExist) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := p.issue(ca, caKey, tmpl, p.KubeletClientCertFile(), p.KubeletClientKeyFile()); err != nil {
			return fmt.Errorf("issue kubelet client certificate: %w", err)
		}
	}
	return nil
}

func (p pki) loadOrCreateCA() (*x509.Certificate, crypto.Signer, error) {
	return p.loadOrCreateCAWithName("kubelite-ca")
}

// loadOrCreateCAWithName loads the CA in ca.crt and ca.key, or makes one
// called commonName.
func (p pki) loadOrCreateCAWithName(commonName string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err1 := os.ReadFile(p.CAFile())
	keyPEM, err2 := os.ReadFile(p.caKeyFile())
	if err1 == nil && err2 == nil {
		cert, err := parseCert(certPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", p.CAFile(), err)
		}
		key, err := parseKey(keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", p.caKeyFile(), err)
		}
		return cert, key, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	if err := writePEM(p.caKeyFile(), key, nil); err != nil {
		return nil, nil, err
	}
	if err := writePEM(p.CAFile(), nil, der); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func (p pki) issue(ca *x509.Certificate, caKey crypto.Signer, tmpl *x509.Certificate, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(365 * 24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return err
	}
	if err := writePEM(keyFile, key, nil); err != nil {
		return err
	}
	return writePEM(certFile, nil, der)
}

// certCovers reports whether the certificate in file is valid for a while yet and
// names every given DNS name and address.
func certCovers(file string, dnsNames []string, ips []net.IP) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	cert, err := parseCert(data)
	if err != nil || time.Until(cert.NotAfter) < 30*24*time.Hour {
		return false
	}
	for _, n := range dnsNames {
		if cert.VerifyHostname(n) != nil {
			return false
		}
	}
	for _, ip := range ips {
		if cert.VerifyHostname(ip.String()) != nil {
			return false
		}
	}
	return true
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// writePEM writes a private key or a certificate atomically.
func writePEM(file string, key *ecdsa.PrivateKey, certDER []byte) error {
	var block *pem.Block
	mode := os.FileMode(0o644)
	if key != nil {
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		mode = 0o600
	} else {
		block = &pem.Block{Type: "CERTIFICATE", Bytes: certDER}
	}
	return writeFileAtomic(file, pem.EncodeToMemory(block), mode)
}

func writeFileAtomic(file string, data []byte, mode os.FileMode) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

func parseCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no certificate in PEM data")
	}
	return x509.ParseCertificate(b.Bytes)
}

func parseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no key in PEM data")
	}
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("key cannot sign")
	}
	return s, nil
}

// selfSignedCert makes a certificate and key for host, in memory: the API
// server's loopback certificate, made anew at each start. The generic
// server's loopback option makes a 2048-bit RSA key for it, whose prime search
// takes from tens to hundreds of milliseconds of CPU before the server can
// serve; a P-256 key takes microseconds.
func selfSignedCert(host string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", host, now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{host},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
