package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// nodeDialer dials node agents for the API server. An address inside a
// routed prefix is dialled at the route's address instead: the simulated
// nodes of this process report InternalIPs (100.64.0.0/10) that no
// interface holds, and their host serves them all from one listener. It
// plays the part upstream's egress selector (Konnectivity) plays for API
// servers that cannot reach their nodes directly.
type nodeDialer struct {
	d net.Dialer

	mu     sync.RWMutex
	routes map[netip.Prefix]string
}

// route sends connections to any address and port in prefix to target (host:port).
func (n *nodeDialer) route(prefix netip.Prefix, target string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.routes == nil {
		n.routes = map[netip.Prefix]string{}
	}
	n.routes[prefix] = target
}

// unroute removes the route of prefix.
func (n *nodeDialer) unroute(prefix netip.Prefix) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.routes, prefix)
}

// DialContext dials addr, or the route that covers its host.
func (n *nodeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		n.mu.RLock()
		for p, target := range n.routes {
			if p.Contains(ap.Addr().Unmap()) {
				addr = target
				break
			}
		}
		n.mu.RUnlock()
	}
	return n.d.DialContext(ctx, network, addr)
}

// nodeTransport is the API server's transport to node agents: TLS with its
// kubelet client certificate, through dial. Node agents serve self-signed
// certificates, which it does not verify: upstream's API server does not
// either unless given --kubelet-certificate-authority.
func nodeTransport(p pki, dial *nodeDialer) (*http.Transport, error) {
	cert, err := tls.LoadX509KeyPair(p.KubeletClientCertFile(), p.KubeletClientKeyFile())
	if err != nil {
		return nil, fmt.Errorf("kubelet client certificate: %w", err)
	}
	return &http.Transport{
		DialContext: dial.DialContext,
		TLSClientConfig: &tls.Config{
			Certificates:       []tls.Certificate{cert},
			InsecureSkipVerify: true, //nolint:gosec // upstream's default, see above
			MinVersion:         tls.VersionTLS12,
		},
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 25,
	}, nil
}
