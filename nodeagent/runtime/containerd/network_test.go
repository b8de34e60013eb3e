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
