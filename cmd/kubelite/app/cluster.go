package app

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/storage"
)

// Several servers form one cluster on embedded etcd, as k3s's servers do:
// `kubelite server --cluster-init` starts the first member, and
// `kubelite server --server URL --token T` on another machine joins it. The
// joining server trusts the cluster CA by the token's signature on
// cluster-info (as an agent does), fetches the cluster's keys from an
// existing server at serverBootstrapPath with the token, which must be a
// server token (`kubelite token create --server`), adds itself as an etcd
// member through the existing members, and starts its etcd beside theirs.
// Each server's API server uses its own member; controllers and scheduler
// elect one active instance through Leases.

// serverBootstrapPath is the non-resource URL where a server hands a
// joining server the cluster's keys.
const serverBootstrapPath = "/kubelite/v1/server-bootstrap"

// serverTokenGroup is the group of server tokens: the only users besides
// system:masters that may read serverBootstrapPath.
const serverTokenGroup = "system:bootstrappers:kubelite:servers"

// clusterFiles are the pki files every server of a cluster shares: the
// cluster CA (clients, nodes, serving), the service account key and the
// etcd CA. Each server makes its own certificates from them.
var clusterFiles = []string{"ca.crt", "ca.key", "sa.key", "etcd/ca.crt", "etcd/ca.key"}

// serverBootstrap is what serverBootstrapPath answers.
type serverBootstrap struct {
	// Files holds clusterFiles by name.
	Files map[string][]byte `json:"files"`
	// Members are the etcd cluster's members as the answering server knows them.
	Members []storage.Member `json:"members"`
}

// memberNameFile keeps a cluster member's etcd name in its data dir; its
// presence marks the data dir as a cluster member's.
func memberNameFile(dataDir string) string { return filepath.Join(dataDir, "etcd-name") }

// etcdDataDir is the embedded etcd's data dir.
func etcdDataDir(dataDir string) string { return filepath.Join(dataDir, "etcd") }

// isClusterMember reports whether dataDir belongs to a member of a cluster
// of servers (made by --cluster-init or a join).
func isClusterMember(dataDir string) bool {
	_, err := os.Stat(memberNameFile(dataDir))
	return err == nil
}

// memberName returns the etcd member name kept in dataDir, making one on
// first use: the host name and a random suffix, as k3s names its members,
// so that servers on hosts of one name (or re-joining under a new identity)
// differ.
func memberName(dataDir string) (string, error) {
	data, err := os.ReadFile(memberNameFile(dataDir))
	if err == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", err
	}
	name := localNodeName() + "-" + hex.EncodeToString(suffix)
	return name, writeFileAtomic(memberNameFile(dataDir), []byte(name+"\n"), 0o600)
}

// etcdFiles are the etcd TLS files under a pki dir: the etcd CA, and the
// member's certificate, which serves peers and clients and is the local
// API server's client certificate.
func (p pki) etcdFiles() storage.TLSFiles {
	return storage.TLSFiles{CAFile: p.path("etcd/ca.crt"), CertFile: p.path("etcd/member.crt"), KeyFile: p.path("etcd/member.key")}
}

// ensureEtcd makes the etcd CA (unless the cluster's was fetched) and the
// member's certificate for name, valid for the advertised address and
// loopback. The etcd CA is separate from the cluster CA: a node's client
// certificate must not open etcd.
func (p pki) ensureEtcd(name string, advertise net.IP) error {
	if err := os.MkdirAll(p.path("etcd"), 0o700); err != nil {
		return err
	}
	etcdCA := pki{dir: p.path("etcd")}
	ca, caKey, err := etcdCA.loadOrCreateCAWithName("kubelite-etcd-ca")
	if err != nil {
		return fmt.Errorf("etcd CA: %w", err)
	}
	files := p.etcdFiles()
	ips := []net.IP{net.ParseIP("127.0.0.1"), advertise}
	if certCovers(files.CertFile, []string{"localhost"}, ips) && certSignedBy(files.CertFile, ca) {
		return nil
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		DNSNames:    []string{"localhost", name},
		IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if err := p.issue(ca, caKey, tmpl, files.CertFile, files.KeyFile); err != nil {
		return fmt.Errorf("issue etcd member certificate: %w", err)
	}
	return nil
}

// certSignedBy reports whether the certificate in file was signed by ca.
func certSignedBy(file string, ca *x509.Certificate) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	cert, err := parseCert(data)
	return err == nil && cert.CheckSignatureFrom(ca) == nil
}

// startMember starts the embedded etcd as a cluster member: joining the
// cluster of cfg.JoinServer when the data dir has no etcd data yet,
// otherwise a new cluster (--cluster-init) or the one in the data dir.
func (s *Server) startMember(ctx context.Context, p pki, boot *serverBootstrap) (*storage.Etcd, error) {
	cfg := s.cfg
	name, err := memberName(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("etcd member name: %w", err)
	}
	member := &storage.MemberConfig{Name: name, AdvertiseIP: cfg.AdvertiseAddress, TLS: p.etcdFiles()}
	peerPort := cfg.EtcdPeerPort
	var added uint64
	var endpoints []string
	if boot != nil {
		if err := p.ensureEtcd(name, cfg.AdvertiseAddress); err != nil {
			return nil, err
		}
		for _, m := range boot.Members {
			endpoints = append(endpoints, m.ClientURLs...)
		}
		member.InitialCluster, added, err = storage.AddMember(ctx, endpoints, member.TLS, name, member.PeerURL(peerPort))
		if err != nil {
			return nil, err
		}
		klog.FromContext(ctx).Info("Added this server to the etcd cluster", "member", name, "initialCluster", member.InitialCluster)
	} else {
		_, err := os.Stat(filepath.Join(etcdDataDir(cfg.DataDir), "member"))
		if errors.Is(err, os.ErrNotExist) && !cfg.ClusterInit {
			// A member's data dir without etcd data: the server left its
			// cluster (server --remove) or never finished joining. Starting
			// a cluster of its own now would split the cluster in two.
			return nil, fmt.Errorf("%s belongs to a member of an etcd cluster but holds no etcd data: join with --server and --token, or start a new cluster with --cluster-init", cfg.DataDir)
		}
		if err := p.ensureEtcd(name, cfg.AdvertiseAddress); err != nil {
			return nil, err
		}
	}
	etcd, err := storage.Start(ctx, storage.Config{
		DataDir:    etcdDataDir(cfg.DataDir),
		ClientPort: cfg.EtcdClientPort,
		PeerPort:   peerPort,
		Member:     member,
	})
	if err != nil && added != 0 {
		// A member that never starts costs the cluster its quorum: take it out.
		if _, rmErr := storage.RemoveMember(context.WithoutCancel(ctx), endpoints, member.TLS, name); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
		_ = os.RemoveAll(etcdDataDir(cfg.DataDir))
	}
	return etcd, err
}

// needsJoin reports whether the server is to join a cluster: --server is
// given and the data dir holds no etcd data yet.
func (s *Server) needsJoin() bool {
	if s.cfg.JoinServer == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(etcdDataDir(s.cfg.DataDir), "member"))
	return errors.Is(err, os.ErrNotExist)
}

// fetchBootstrap gets the cluster's shared keys from cfg.JoinServer and
// writes them into the data dir's pki, trusting the server by the token's
// signature on cluster-info.
func (s *Server) fetchBootstrap(ctx context.Context) (*serverBootstrap, error) {
	cfg := s.cfg
	ca, err := discoverCA(ctx, cfg.JoinServer, cfg.Token, cfg.CACertHashes)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(&rest.Config{Host: cfg.JoinServer, BearerToken: cfg.Token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
	if err != nil {
		return nil, err
	}
	body, err := client.Discovery().RESTClient().Get().AbsPath(serverBootstrapPath).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch the cluster's keys from %s (is --token a server token, from `kubelite token create --server`?): %w", cfg.JoinServer, err)
	}
	var boot serverBootstrap
	if err := json.Unmarshal(body, &boot); err != nil {
		return nil, fmt.Errorf("server bootstrap from %s: %w", cfg.JoinServer, err)
	}
	dir := filepath.Join(cfg.DataDir, "pki")
	for _, name := range clusterFiles {
		data, ok := boot.Files[name]
		if !ok {
			return nil, fmt.Errorf("server bootstrap from %s lacks %s", cfg.JoinServer, name)
		}
		file := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(file, data, 0o600); err != nil {
			return nil, err
		}
	}
	if len(boot.Members) == 0 {
		return nil, fmt.Errorf("%s runs no etcd cluster to join", cfg.JoinServer)
	}
	// Certificates of an earlier CA in the data dir (a single server's
	// that now joins) are made anew with the cluster's.
	for _, f := range []string{"apiserver.crt", "admin.crt", "apiserver-kubelet-client.crt", "etcd/member.crt"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return &boot, nil
}

// serverBootstrapHandler answers serverBootstrapPath: the cluster's keys
// and etcd members, for a joining server. The API server's authorization
// lets only server tokens and system:masters reach it. members is nil on a
// server that runs no etcd cluster.
func serverBootstrapHandler(p pki, members func() []storage.Member) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if members == nil {
			http.Error(w, "this server runs no etcd cluster: start the first server with --cluster-init", http.StatusNotFound)
			return
		}
		boot := serverBootstrap{Files: map[string][]byte{}, Members: members()}
		for _, name := range clusterFiles {
			data, err := os.ReadFile(p.path(name))
			if err != nil {
				http.Error(w, "read "+name+": "+err.Error(), http.StatusInternalServerError)
				return
			}
			boot.Files[name] = data
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(boot)
	})
}
