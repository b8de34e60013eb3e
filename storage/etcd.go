package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
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
	// Member, when set, makes this etcd one member of a cluster of servers:
	// peers and clients on its advertised address too, all over TLS with
	// certificates of the etcd CA (see MemberConfig). Nil: a lone member on
	// loopback without TLS, the single server's default.
	Member *MemberConfig
}

// Validate reports what is missing or wrong in c, without side effects.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("etcd data dir is required")
	}
	if c.Member != nil {
		if err := c.Member.Validate(); err != nil {
			return err
		}
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
	// closing silences etcd's logger: its listeners report their closing as errors.
	closing *atomic.Bool
	// member is the cluster configuration; nil for a lone loopback member.
	member *MemberConfig
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
	ec.Name = DefaultMemberName
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
	// One member elects itself: short ticks make that take milliseconds, not
	// the half second of etcd's defaults.
	ec.TickMs = 10
	ec.ElectionMs = 100
	if cfg.Member != nil {
		clientURL = cfg.Member.configure(ec, cfg.ClientPort, cfg.PeerPort)
	}
	ec.LogLevel = "error"
	closing := &atomic.Bool{}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(quietLogger(closing))
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
	etcd := &Etcd{etcd: e, endpoint: clientURL.String(), closing: closing, member: cfg.Member}
	if cfg.Member != nil {
		if err := etcd.advertisePeers(ctx); err != nil {
			return nil, err
		}
	}
	return etcd, nil
}

// Starting is a lone member that StartInBackground is starting.
type Starting struct {
	endpoint string
	done     chan struct{}
	etcd     *Etcd
	err      error
}

// Endpoints returns the client URLs the server will serve.
func (s *Starting) Endpoints() []string { return []string{s.endpoint} }

// Wait returns the server once it serves clients, or why it did not start.
func (s *Starting) Wait() (*Etcd, error) {
	<-s.done
	return s.etcd, s.err
}

// StartInBackground starts a lone loopback member (cfg.Member must be nil) as
// Start does, but returns as soon as its client port accepts connections, so
// that its clients can be built while it starts (on an empty data dir, some
// 70-100 ms of creating its files and electing itself). A gRPC client that
// dialled before etcd listened would wait out a reconnection backoff of a
// second; etcd opens its listeners first thing, so the wait here is short.
// Wait for it before relying on its answers.
func StartInBackground(ctx context.Context, cfg Config) (*Starting, error) {
	if cfg.Member != nil {
		return nil, errors.New("etcd cluster members start with Start")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var err error
	if cfg.ClientPort == 0 {
		if cfg.ClientPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", cfg.ClientPort)
	s := &Starting{endpoint: "http://" + addr, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.etcd, s.err = Start(ctx, cfg)
	}()
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return s, nil
		}
		select {
		case <-s.done:
			if s.err != nil {
				return nil, s.err
			}
			return s, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// DefaultMemberName is the name of the lone member of a single server.
const DefaultMemberName = "kubelite"

// Endpoints returns the client URLs of the server.
func (e *Etcd) Endpoints() []string { return []string{e.endpoint} }

// Err returns a channel that receives the error of a server that failed after start.
func (e *Etcd) Err() <-chan error { return e.etcd.Err() }

// Done is closed once the server has stopped: after Close, or when it stops
// on its own, as a member removed from its cluster does.
func (e *Etcd) Done() <-chan struct{} { return e.etcd.Server.StopNotify() }

// TLS is what a client of this server presents and trusts: the member's
// files for a cluster member, none for a lone loopback member.
func (e *Etcd) TLS() TLSFiles {
	if e.member == nil {
		return TLSFiles{}
	}
	return e.member.TLS
}

// Close stops the server: it stops accepting clients, finishes in-flight requests,
// syncs and closes its files. Safe to call more than once.
func (e *Etcd) Close() {
	e.closeOnce.Do(func() {
		e.closing.Store(true)
		e.etcd.Close()
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// quietLogger logs etcd's errors to stderr until closing is set, then nothing.
func quietLogger(closing *atomic.Bool) *zap.Logger {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	cfg.Sampling = nil
	l, err := cfg.Build(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return &untilClosed{Core: c, closing: closing}
	}))
	if err != nil {
		return zap.NewNop()
	}
	return l
}

// untilClosed drops every entry once the server is closing.
type untilClosed struct {
	zapcore.Core
	closing *atomic.Bool
}

func (u *untilClosed) With(fields []zapcore.Field) zapcore.Core {
	return &untilClosed{Core: u.Core.With(fields), closing: u.closing}
}

func (u *untilClosed) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if u.closing.Load() {
		return ce
	}
	if u.Enabled(e.Level) {
		return ce.AddCore(e, u)
	}
	return ce
}
