package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config says where and how the embedded etcd runs. The zero value is valid apart
// from DataDir.
type Config struct {
	// DataDir holds etcd's files (DataDir/member/...). Required.
	DataDir string
	// ClientPort is the loopback port clients reach etcd on. Zero picks a free one.
	ClientPort int
	// PeerPort is the loopback port of the raft peer listener. Zero picks a free one.
	PeerPort int
	// StartTimeout bounds the wait for etcd to serve. Zero means one minute.
	StartTimeout time.Duration
}

// Validate reports what is missing or wrong in c, without side effects.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("etcd data dir is required")
	}
	if c.ClientPort < 0 || c.ClientPort > 65535 || c.PeerPort < 0 || c.PeerPort > 65535 {
		return fmt.Errorf("etcd ports out of range: client %d, peer %d", c.ClientPort, c.PeerPort)
	}
	return nil
}

// Etcd is a running embedded etcd server.
type Etcd struct {
	etcd      *embed.Etcd
	endpoint  string
	closeOnce sync.Once
}

// Start starts etcd in-process on cfg.DataDir and returns once it serves clients.
func Start(ctx context.Context, cfg Config) (_ *Etcd, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ClientPort == 0 {
		if cfg.ClientPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	if cfg.PeerPort == 0 {
		if cfg.PeerPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = time.Minute
	}
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cfg.ClientPort)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cfg.PeerPort)}

	ec := embed.NewConfig()
	ec.Name = "kubelite"
	ec.Dir = filepath.Clean(cfg.DataDir)
	ec.ListenClientUrls = []url.URL{clientURL}
	ec.AdvertiseClientUrls = []url.URL{clientURL}
	ec.ListenPeerUrls = []url.URL{peerURL}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.ListenMetricsUrls = nil
	ec.Metrics = "basic"
	// The API server compacts on its own schedule; etcd keeps a short raft log so that
	// memory stays small.
	ec.SnapshotCount = 10000
	ec.LogLevel = "error"
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(quietLogger())
	if err := ec.Validate(); err != nil {
		return nil, fmt.Errorf("etcd config: %w", err)
	}

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		return nil, fmt.Errorf("etcd failed while starting: %w", err)
	case <-timer.C:
		return nil, fmt.Errorf("etcd not ready after %v", cfg.StartTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &Etcd{etcd: e, endpoint: clientURL.String()}, nil
}

// Endpoints returns the client URLs of the server.
func (e *Etcd) Endpoints() []string { return []string{e.endpoint} }

// Err returns a channel that receives the error of a server that failed after start.
func (e *Etcd) Err() <-chan error { return e.etcd.Err() }

// Close stops the server: it stops accepting clients, finishes in-flight requests,
// syncs and closes its files. Safe to call more than once.
func (e *Etcd) Close() {
	e.closeOnce.Do(e.etcd.Close)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func quietLogger() *zap.Logger {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	cfg.Sampling = nil
	l, err := cfg.Build()
	if err != nil {
		return zap.NewNop()
	}
	return l
}
