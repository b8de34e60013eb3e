package app

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"slices"
	"time"

	"k8s.io/client-go/rest"
)

// nodeClientFiles name the local node's client certificate and key.
func (p pki) nodeClientFiles() (cert, key string) {
	return p.path("kubelet-client.crt"), p.path("kubelet-client.key")
}

// localNodeClient returns the client config of the server's own node agent:
// it speaks to server as system:node:<name> in system:nodes, with a client
// certificate signed by the cluster CA, as kubeadm writes the control-plane
// node's kubelet.conf. The certificate is made when missing, when it names
// another node, or when it has less than 30 days left.
func localNodeClient(p pki, server, name string) (*rest.Config, error) {
	certFile, keyFile := p.nodeClientFiles()
	cn, org := "system:node:"+name, []string{"system:nodes"}
	if data, err := os.ReadFile(certFile); err != nil || !validFor(data, cn, org) {
		ca, caKey, err := p.loadOrCreateCA()
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: org}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if err := p.issue(ca, caKey, tmpl, certFile, keyFile); err != nil {
			return nil, err
		}
	}
	return &rest.Config{Host: server, TLSClientConfig: rest.TLSClientConfig{CAFile: p.CAFile(), CertFile: certFile, KeyFile: keyFile}}, nil
}

// validFor reports whether PEM certificate data is for cn in org and
// valid for 30 days more.
func validFor(data []byte, cn string, org []string) bool {
	cert, err := parseCert(data)
	return err == nil && cert.Subject.CommonName == cn && slices.Equal(cert.Subject.Organization, org) &&
		time.Until(cert.NotAfter) > 30*24*time.Hour
}
