package containerd_test

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubelite/kubelite/nodeagent/podnet"
	"github.com/kubelite/kubelite/nodeagent/podnet/nettest"
	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
)

// cniBinDir is where `make cni` builds the CNI plugins.
func cniBinDir(t testing.TB) string {
	dir := os.Getenv("KUBELITE_CNI_BIN")
	if dir == "" {
		dir, _ = filepath.Abs(filepath.Join("..", "..", "..", ".cache", "cni", "bin"))
	}
	if err := (podnet.CNIConfig{PluginDirs: []string{dir}, Dir: "x"}).Validate(); err != nil {
		t.Skipf("CNI plugins: %v", err)
	}
	return dir
}

// newNetworkRuntime returns a runtime on the shared daemon whose pods join a
// CNI bridge network on host, with pod CIDR cidr.
func newNetworkRuntime(t *testing.T, host *nettest.Host, cidr string) (*containerd.Runtime, containerd.Config) {
	t.Helper()
	cfg := newConfig(t)
	network, err := podnet.NewCNI(podnet.CNIConfig{PluginDirs: []string{cniBinDir(t)}, Dir: filepath.Join(cfg.Dir, "cni"), HostNetNS: host.Path})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Network = network
	r, err := containerd.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := r.ImportArchive(t.Context(), imageArchive(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.SetPodCIDRs([]string{cidr}); err != nil {
		t.Fatal(err)
	}
	return r, cfg
}

// server is a container that serves its pod's name over HTTP on port 8080.
func server(name string) corev1.Container {
	return corev1.Container{Name: "main", Command: []string{"sh", "-c",
		"mkdir -p /www && echo " + name + " > /www/index.html && exec httpd -f -p 8080 -h /www"}}
}

// fetcher is a container that fetches each address's page ("ip:port")
// until it answers, printing the page, then exits. (busybox's wget, a
// static glibc build, crashes here: nc speaks the HTTP.)
func fetcher(addrs ...string) corev1.Container {
	var script strings.Builder
	for _, a := range addrs {
		host, port, _ := strings.Cut(a, ":")
		fmt.Fprintf(&script, `for i in $(seq 20); do out=$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 1 %s %s) && [ -n "$out" ] && echo "$out" | tail -n 1 && break; sleep 0.2; done; `, host, port)
	}
	return corev1.Container{Name: "main", Command: []string{"sh", "-c", script.String()}}
}

func podIP(t *testing.T, r runtime.Runtime, pod *corev1.Pod) string {
	t.Helper()
	s, err := r.PodStatus(t.Context(), pod.UID)
	if err != nil || s == nil || s.Sandbox == nil || len(s.Sandbox.IPs) != 1 {
		t.Fatalf("PodStatus(%s) = %+v, %v; want one address", pod.Name, s, err)
	}
	return s.Sandbox.IPs[0]
}

// TestPodNetwork: pods on the CNI bridge get distinct addresses from the
// node's pod CIDR, reach each other and the host (the bridge's gateway
// address), and keep their addresses across a runtime restart, which
// hands no address out twice; removing a pod frees its address.
func TestPodNetwork(t *testing.T) {
	host := nettest.NewHosts(t, 1)[0]
	r, cfg := newNetworkRuntime(t, host, "10.250.7.0/24")
	cidr := netip.MustParsePrefix("10.250.7.0/24")

	a := testPod("a", server("from-a"))
	run(t, r, a)
	ipA := podIP(t, r, a)
	// The bridge and its gateway address exist once the first pod joined.
	l := host.Listen(t, "10.250.7.1:8081")
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "host") }))

	b := testPod("b", fetcher(ipA+":8080", "10.250.7.1:8081"))
	ids := run(t, r, b)
	ipB := podIP(t, r, b)
	for _, ip := range []string{ipA, ipB} {
		if a := netip.MustParseAddr(ip); !cidr.Contains(a) || a == netip.MustParseAddr("10.250.7.1") {
			t.Errorf("pod address %s is not a pod address of %s", ip, cidr)
		}
	}
	if ipA == ipB {
		t.Fatalf("both pods got %s", ipA)
	}
	waitExited(t, r, b.UID, ids[0])
	if got := logLines(t, cfg.Dir, b, "main"); !slices.Equal(got, []string{"stdout from-a", "stdout host"}) {
		t.Errorf("b fetched %q, want a's page then the host's", got)
	}

	// A restarted runtime keeps a's address, and gives a new pod another.
	r.Close()
	r2, err := containerd.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := r2.SetPodCIDRs([]string{"10.250.7.0/24"}); err != nil {
		t.Fatal(err)
	}
	if got := podIP(t, r2, a); got != ipA {
		t.Errorf("after a restart a has %s, want %s", got, ipA)
	}
	c := testPod("c", fetcher(ipA+":8080"))
	ids = run(t, r2, c)
	if ipC := podIP(t, r2, c); ipC == ipA || ipC == ipB {
		t.Errorf("c got %s, which a or b holds", ipC)
	}
	waitExited(t, r2, c.UID, ids[0])
	if got := logLines(t, cfg.Dir, c, "main"); !slices.Equal(got, []string{"stdout from-a"}) {
		t.Errorf("c fetched %q, want a's page", got)
	}

	// Stopping a pod frees its address in host-local's store.
	held := filepath.Join(cfg.Dir, "cni", "ipam", podnet.NetworkName, ipA)
	if _, err := os.Stat(held); err != nil {
		t.Fatalf("a's address is not held: %v", err)
	}
	if err := r2.StopPod(t.Context(), a.UID, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(held); !os.IsNotExist(err) {
		t.Errorf("a's address is still held after StopPod: %v", err)
	}
	if err := host.Do(func() error {
		_, err := net.DialTimeout("tcp", ipA+":8080", time.Second)
		if err == nil {
			return fmt.Errorf("a still answers at %s", ipA)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// echoClient answers each connection with the client's address.
func echoClient(t *testing.T, h *nettest.Host, addr string) {
	l := h.Listen(t, addr)
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintln(w, host)
	}))
}

func testNode(name string, h *nettest.Host, cidr string) *corev1.Node {
	n := &corev1.Node{Spec: corev1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}}}
	n.Name = name
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: h.Addr.String()}}
	return n
}

// TestPodNetworkAcrossNodes: two hosts (network namespaces on one link),
// each a node with its own bridge and pod CIDR. With podnet.Routes' routes
// a pod on one node reaches a pod on the other, keeping its own address;
// its traffic to an address outside the pod CIDRs leaves masqueraded as its
// node's; a node that goes away takes its route with it.
func TestPodNetworkAcrossNodes(t *testing.T) {
	hosts := nettest.NewHosts(t, 2)
	ra, cfgA := newNetworkRuntime(t, hosts[0], "10.250.8.0/24")
	rb, _ := newNetworkRuntime(t, hosts[1], "10.250.9.0/24")
	nodes := []*corev1.Node{testNode("a", hosts[0], "10.250.8.0/24"), testNode("b", hosts[1], "10.250.9.0/24")}
	for i, name := range []string{"a", "b"} {
		routes, err := podnet.NewRoutes(podnet.RoutesConfig{Client: fake.NewClientset(), NodeName: name, NetNS: hosts[i].Path})
		if err != nil {
			t.Fatal(err)
		}
		if err := routes.Sync(t.Context(), nodes); err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		if i == 0 {
			defer func() {
				// b is gone: a's route to b's pods goes.
				if err := routes.Sync(t.Context(), nodes[:1]); err != nil {
					t.Fatal(err)
				}
				if out := nettest.Run(t, "ip", "-n", hosts[0].Name, "route", "show", "10.250.9.0/24"); out != "" {
					t.Errorf("a still routes b's pods: %s", out)
				}
			}()
		}
	}
	if out := nettest.Run(t, "ip", "-n", hosts[0].Name, "route", "show", "10.250.9.0/24"); !strings.Contains(out, "via "+hosts[1].Addr.String()) {
		t.Fatalf("a's route to b's pods: %q, want via %s", out, hosts[1].Addr)
	}

	b := testPod("b", server("from-b"))
	run(t, rb, b)
	ipB := podIP(t, rb, b)
	// On b: at its bridge's address (inside the pod CIDRs), and at its
	// link address (outside), each answering with the client's address.
	echoClient(t, hosts[1], "10.250.9.1:8081")
	echoClient(t, hosts[1], hosts[1].Addr.String()+":8082")

	a := testPod("a", fetcher(ipB+":8080", "10.250.9.1:8081", hosts[1].Addr.String()+":8082"))
	ids := run(t, ra, a)
	ipA := podIP(t, ra, a)
	waitExited(t, ra, a.UID, ids[0])
	want := []string{"stdout from-b", "stdout " + ipA, "stdout " + hosts[0].Addr.String()}
	if got := logLines(t, cfgA.Dir, a, "main"); !slices.Equal(got, want) {
		t.Errorf("a fetched %q, want %q (b's page, a's own address across the pod network, a's node's address outside it)", got, want)
	}
}
