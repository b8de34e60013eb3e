package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/stream"
)

// nodeEndpoint is how this process's node agents serve their endpoint
// (package nodeagent/stream).
type nodeEndpoint struct {
	// clientCA (PEM) verifies client certificates: the cluster CA.
	clientCA []byte
	// dialer is the in-process API server's node dialer, which simulated
	// nodes route their addresses through; nil when the API server runs
	// elsewhere.
	dialer *nodeDialer
	// port is the local node's endpoint port; zero picks a free one.
	port int
}

// endpointFromConfig is the endpoint of node agents that reach the API
// server through rc: clients are verified against the CA rc trusts.
func endpointFromConfig(rc *rest.Config) (nodeEndpoint, error) {
	ca := rc.TLSClientConfig.CAData
	if len(ca) == 0 && rc.TLSClientConfig.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(rc.TLSClientConfig.CAFile); err != nil {
			return nodeEndpoint{}, fmt.Errorf("read CA: %w", err)
		}
	}
	if len(ca) == 0 {
		return nodeEndpoint{}, errors.New("the kubeconfig names no CA: node agents cannot verify the API server's client certificate")
	}
	return nodeEndpoint{clientCA: ca}, nil
}

// server builds the endpoint's server on l for the pods pods finds.
func (e nodeEndpoint) server(l net.Listener, pods stream.Finder, client kubernetes.Interface, nodeName string, hosts []string) (*stream.Server, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.clientCA) {
		return nil, errors.New("node endpoint: no certificate in the client CA")
	}
	return stream.New(stream.Config{Listener: l, Pods: pods, ClientCA: pool, Client: client, NodeName: nodeName, Hosts: hosts})
}

// runEndpoint runs srv until ctx ends, logging a failure.
func runEndpoint(ctx context.Context, srv *stream.Server) {
	if err := srv.Run(ctx); err != nil {
		klog.FromContext(ctx).Error(err, "Node endpoint failed", "address", srv.Addr().String())
	}
}

// listenSimulated opens the one listener of a host of simulated nodes and,
// in a process with the API server, routes their addresses to it. The
// returned function removes the route.
func (e nodeEndpoint) listenSimulated(address string) (net.Listener, func(), error) {
	if address == "" {
		address = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, nil, fmt.Errorf("simulated nodes' endpoint: %w", err)
	}
	undo := func() {}
	if e.dialer != nil {
		prefix := netip.MustParsePrefix(nodeagent.SimulatedIPRange)
		target := l.Addr().String()
		if tcp, ok := l.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
			target = net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
		}
		e.dialer.route(prefix, target)
		undo = func() { e.dialer.unroute(prefix) }
	}
	return l, undo, nil
}
