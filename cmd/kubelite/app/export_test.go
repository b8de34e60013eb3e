package app

import (
	"errors"
	"path/filepath"

	"k8s.io/client-go/rest"
)

// RotateCertificate asks for a new node client certificate now, as the
// certificate manager does when the current one nears its expiry.
func (a *Agent) RotateCertificate() (bool, error) {
	r, ok := a.certs.(interface{ RotateCerts() (bool, error) })
	if !ok {
		return false, errors.New("the certificate manager cannot rotate on demand")
	}
	return r.RotateCerts()
}

// EnsurePKI makes a cluster's CA and certificates under dir.
func EnsurePKI(dir string) error { return pki{dir: dir}.ensure([]string{"localhost"}, nil) }

// CACertHash is the pin of the CA certificate in PEM data.
func CACertHash(ca []byte) string { return caHashOf(ca) }

// LocalNodeClient is the client config of the server's own node agent
// whose data dir is dataDir.
func LocalNodeClient(dataDir, server, name string) (*rest.Config, error) {
	return localNodeClient(pki{dir: filepath.Join(dataDir, "pki")}, server, name)
}
