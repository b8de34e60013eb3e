// Package nettest builds throw-away "hosts" for tests of the pod network:
// network namespaces joined by veth links to a switch (a bridge in a
// namespace of its own), each with an address on one link network. The
// test makes them and removes them; the machine's own network is never
// touched.
package nettest

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kubelite/kubelite/nodeagent/internal/netnsexec"
)

// Host is a network namespace playing one machine.
type Host struct {
	// Name is the namespace's name (ip netns), Path its file.
	Name, Path string
	// Addr is the host's address on the link network, Link its interface.
	Addr netip.Addr
	Link string
}

var seq atomic.Int32

// Available reports why hosts cannot be made here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return err
	}
	return nil
}

// NewHosts makes n hosts on one link network, 10.251.<k>.0/24 (k differs
// per call in this process), host i at .<i+1>, each with forwarding on; it
// skips the test where that is impossible. They are removed when the test
// ends.
func NewHosts(t testing.TB, n int) []*Host {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("no test hosts: %v", err)
	}
	k := seq.Add(1)
	prefix := fmt.Sprintf("kl%d-%d", os.Getpid()%100000, k)
	sw := prefix + "-sw"
	Run(t, "ip", "netns", "add", sw)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", sw).Run() })
	Run(t, "ip", "-n", sw, "link", "add", "br0", "type", "bridge")
	Run(t, "ip", "-n", sw, "link", "set", "br0", "up")
	hosts := make([]*Host, n)
	for i := range n {
		h := &Host{Name: fmt.Sprintf("%s-h%d", prefix, i), Addr: netip.MustParseAddr(fmt.Sprintf("10.251.%d.%d", k%250, i+1)), Link: "eth0"}
		h.Path = "/run/netns/" + h.Name
		Run(t, "ip", "netns", "add", h.Name)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", h.Name).Run() })
		peer := fmt.Sprintf("p%d", i)
		Run(t, "ip", "-n", sw, "link", "add", peer, "type", "veth", "peer", "name", h.Link, "netns", h.Name)
		Run(t, "ip", "-n", sw, "link", "set", peer, "master", "br0", "up")
		Run(t, "ip", "-n", h.Name, "addr", "add", h.Addr.String()+"/24", "dev", h.Link)
		Run(t, "ip", "-n", h.Name, "link", "set", h.Link, "up")
		Run(t, "ip", "-n", h.Name, "link", "set", "lo", "up")
		Run(t, "ip", "netns", "exec", h.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		hosts[i] = h
	}
	return hosts
}

// Run runs a command, failing the test if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Do runs fn on an OS thread in the host's namespace. Sockets fn opens
// stay in the namespace after it returns.
func (h *Host) Do(fn func() error) error { return netnsexec.Do(h.Path, fn) }

// Listen opens a TCP listener in the host's namespace.
func (h *Host) Listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	if err := h.Do(func() (err error) { l, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, h.Name, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
