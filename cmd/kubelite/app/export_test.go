package app

import (
	"errors"
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/storage"
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

// EtcdMemberPKI makes an etcd member's certificate for name under
// dir/pki, with the etcd CA of caDir/pki (made there when missing).
func EtcdMemberPKI(caDir, dir, name string, ip net.IP) (storage.TLSFiles, error) {
	ca := pki{dir: filepath.Join(caDir, "pki")}
	if err := ca.ensureEtcd(name+"-ca", ip); err != nil {
		return storage.TLSFiles{}, err
	}
	p := pki{dir: filepath.Join(dir, "pki")}
	if caDir != dir {
		if err := os.MkdirAll(p.path("etcd"), 0o700); err != nil {
			return storage.TLSFiles{}, err
		}
		for _, f := range []string{"etcd/ca.crt", "etcd/ca.key"} {
			data, err := os.ReadFile(ca.path(f))
			if err != nil {
				return storage.TLSFiles{}, err
			}
			if err := os.WriteFile(p.path(f), data, 0o600); err != nil {
				return storage.TLSFiles{}, err
			}
		}
	}
	return p.etcdFiles(), p.ensureEtcd(name, ip)
}
