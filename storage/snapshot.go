package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/snapshot"
	utilsnapshot "go.etcd.io/etcd/etcdutl/v3/snapshot"
)

// SaveSnapshot writes a consistent snapshot of the etcd server at endpoint
// (one member: a snapshot is one member's database) to path, through a
// temporary file, and returns the etcd version that made it.
func SaveSnapshot(ctx context.Context, endpoint string, files TLSFiles, path string) (string, error) {
	cfg := clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second, Logger: quietLogger(&atomic.Bool{}), Context: ctx}
	if !files.Empty() {
		info := transport.TLSInfo{CertFile: files.CertFile, KeyFile: files.KeyFile, TrustedCAFile: files.CAFile}
		tls, err := info.ClientConfig()
		if err != nil {
			return "", fmt.Errorf("etcd client TLS: %w", err)
		}
		cfg.TLS = tls
	}
	version, err := snapshot.SaveWithVersion(ctx, quietLogger(&atomic.Bool{}), cfg, path)
	if err != nil {
		return "", fmt.Errorf("save etcd snapshot of %s: %w", endpoint, err)
	}
	return version, nil
}

// RestoreRevisionBump is how far a restore moves the store's revision past
// the snapshot's, marking everything before compacted: clients' watches
// and caches hold resourceVersions from after the snapshot, which must not
// come back with other content (etcd's advice for Kubernetes).
const RestoreRevisionBump = 1_000_000_000

// RestoreSnapshot makes a new etcd data dir at dataDir from the snapshot
// file: a cluster of one member called name (DefaultMemberName when
// empty), whose loopback peer URL a lone member's start replaces or a
// cluster member's start updates. dataDir must not exist yet.
func RestoreSnapshot(path, dataDir, name string) error {
	if name == "" {
		name = DefaultMemberName
	}
	if _, err := os.Stat(dataDir); err == nil {
		return fmt.Errorf("restore etcd snapshot: %s exists; move it aside first", dataDir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o700); err != nil {
		return err
	}
	peer := "http://127.0.0.1:2380"
	err := utilsnapshot.NewV3(quietLogger(&atomic.Bool{})).Restore(utilsnapshot.RestoreConfig{
		SnapshotPath:        path,
		Name:                name,
		OutputDataDir:       dataDir,
		PeerURLs:            []string{peer},
		InitialCluster:      name + "=" + peer,
		InitialClusterToken: "kubelite",
		RevisionBump:        RestoreRevisionBump,
		MarkCompacted:       true,
	})
	if err != nil {
		return fmt.Errorf("restore etcd snapshot %s: %w", path, err)
	}
	return nil
}
