package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// serverFailover dials the first of several API servers that answers,
// starting from the one that answered last: a client-side load balancer
// of the simplest kind, as k3s's agents have one. Each new connection
// asks it again, so a client whose connection to a failed server breaks
// reconnects to another.
type serverFailover struct {
	addrs []string // host:port of each server, in the order given

	mu      sync.Mutex
	current int
}

// newServerFailover takes the servers' https URLs.
func newServerFailover(servers []string) (*serverFailover, error) {
	f := &serverFailover{}
	for _, s := range servers {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("server URL %q: %w", s, err)
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "443")
		}
		f.addrs = append(f.addrs, host)
	}
	if len(f.addrs) == 0 {
		return nil, errors.New("no servers")
	}
	return f, nil
}

// DialContext ignores addr (the first server's, from the client's URL) and
// connects to the current server, or failing that to the next ones in
// turn.
func (f *serverFailover) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	f.mu.Lock()
	start := f.current
	f.mu.Unlock()
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	var errs []error
	for i := range f.addrs {
		n := (start + i) % len(f.addrs)
		conn, err := d.DialContext(ctx, network, f.addrs[n])
		if err == nil {
			if n != start {
				f.mu.Lock()
				f.current = n
				f.mu.Unlock()
				klog.FromContext(ctx).Info("API server failover", "from", f.addrs[start], "to", f.addrs[n])
			}
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}
