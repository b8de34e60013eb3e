//go:build linux

package netpol

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubelite/kubelite/nodeagent/internal/netnsexec"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"
)

// inNetns runs fn in the named network namespace (see netnsexec.Do).
func inNetns(name string, fn func() error) error { return netnsexec.Do(netnsexec.Path(name), fn) }

// testNode is a node made of network namespaces: <p>-node holds the bridge
// kubelite0 (10.42.0.1/24) with pods <p>-a, -b, -c (10.42.0.2-4) attached by
// veths, and a link to <p>-r (10.42.1.2), a pod of another node reached
// through routing.
type testNode struct {
	prefix string
}

func (n testNode) ns(name string) string { return n.prefix + "-" + name }

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func newTestNode(t *testing.T) testNode {
	n := testNode{prefix: fmt.Sprintf("knp%d", rand.IntN(1_000_000))}
	node := n.ns("node")
	for _, name := range []string{"node", "a", "b", "c", "r"} {
		ipCmd(t, "netns", "add", n.ns(name))
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.ns(name)).Run() })
	}
	ipCmd(t, "-n", node, "link", "add", "kubelite0", "type", "bridge")
	ipCmd(t, "-n", node, "addr", "add", "10.42.0.1/24", "dev", "kubelite0")
	ipCmd(t, "-n", node, "link", "set", "kubelite0", "up")
	for i, pod := range []string{"a", "b", "c"} {
		ipCmd(t, "-n", node, "link", "add", "veth"+pod, "type", "veth", "peer", "name", "eth0", "netns", n.ns(pod))
		ipCmd(t, "-n", node, "link", "set", "veth"+pod, "master", "kubelite0", "up")
		ipCmd(t, "-n", n.ns(pod), "addr", "add", fmt.Sprintf("10.42.0.%d/24", i+2), "dev", "eth0")
		ipCmd(t, "-n", n.ns(pod), "link", "set", "eth0", "up")
		ipCmd(t, "-n", n.ns(pod), "route", "add", "default", "via", "10.42.0.1")
	}
	ipCmd(t, "-n", node, "link", "add", "vethr", "type", "veth", "peer", "name", "eth0", "netns", n.ns("r"))
	ipCmd(t, "-n", node, "addr", "add", "10.42.1.1/24", "dev", "vethr")
	ipCmd(t, "-n", node, "link", "set", "vethr", "up")
	ipCmd(t, "-n", n.ns("r"), "addr", "add", "10.42.1.2/24", "dev", "eth0")
	ipCmd(t, "-n", n.ns("r"), "link", "set", "eth0", "up")
	ipCmd(t, "-n", n.ns("r"), "route", "add", "default", "via", "10.42.1.1")
	// Forwarding and br_netfilter, in the node's namespace only.
	if err := inNetns(node, func() error {
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
			return err
		}
		return EnsureBridgeNetfilter(context.Background())
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// listen accepts TCP connections on port in pod until the test ends.
func (n testNode) listen(t *testing.T, pod string, port int) {
	var l net.Listener
	if err := inNetns(n.ns(pod), func() (err error) {
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// connects reports whether a TCP connection from pod to addr completes.
func (n testNode) connects(pod, addr string) bool {
	return inNetns(n.ns(pod), func() error {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	}) == nil
}

// expect waits until every connection is as wanted, failing after a while.
func (n testNode) expect(t *testing.T, step string, conns map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var wrong []string
		for c, want := range conns {
			from, to, _ := strings.Cut(c, "->")
			if n.connects(from, to) != want {
				wrong = append(wrong, fmt.Sprintf("%s (want connected=%v)", c, want))
			}
		}
		if len(wrong) == 0 {
			return
		}
		if time.Now().After(deadline) {
			out, _ := exec.Command("ip", "netns", "exec", n.ns("node"), "nft", "list", "table", "inet", TableName).CombinedOutput()
			t.Fatalf("%s: %s\n%s", step, strings.Join(wrong, ", "), out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEnforcerInNetns runs the enforcer in a node made of network
// namespaces, on real packets: bridged between pods of the node and routed
// from a pod of another node.
func TestEnforcerInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces")
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (make containerd installs nftables): %v", bin, err)
		}
	}
	n := newTestNode(t)
	for _, pod := range []string{"a", "b", "c", "r"} {
		n.listen(t, pod, 8080)
	}
	n.listen(t, "b", 9090)

	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := fake.NewClientset()
	mkPod := func(name, nodeName, app, ip string) {
		p := pod("ns", name, nodeName, "app="+app, "alt=9090", ip)
		if _, err := client.CoreV1().Pods("ns").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: map[string]string{"team": "x"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mkPod("a", "node", "a", "10.42.0.2")
	mkPod("b", "node", "b", "10.42.0.3")
	mkPod("c", "node", "c", "10.42.0.4")
	mkPod("r", "other", "r", "10.42.1.2")

	nft, err := netnsexec.NewNFT(netnsexec.Path(n.ns("node")), knftables.InetFamily, TableName)
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	e, err := New(Config{
		NodeName:        "node",
		Pods:            factory.Core().V1().Pods(),
		Namespaces:      factory.Core().V1().Namespaces(),
		Policies:        factory.Networking().V1().NetworkPolicies(),
		NFT:             nft,
		MinSyncInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done; factory.Shutdown() }()

	policies := client.NetworkingV1().NetworkPolicies("ns")
	apply := func(ps ...*networkingv1.NetworkPolicy) {
		t.Helper()
		for _, p := range ps {
			if _, err := policies.Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(names ...string) {
		t.Helper()
		for _, name := range names {
			if err := policies.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}

	const b8080, b9090 = "10.42.0.3:8080", "10.42.0.3:9090"
	n.expect(t, "no policy", map[string]bool{"a->" + b8080: true, "c->" + b8080: true, "r->" + b8080: true, "a->10.42.0.4:8080": true})

	apply(policy("ns", "deny-b", "app=b", nil))
	n.expect(t, "deny all ingress to b", map[string]bool{
		"a->" + b8080: false, "c->" + b9090: false, "r->" + b8080: false,
		"a->10.42.0.4:8080": true, "b->10.42.0.2:8080": true, "b->10.42.1.2:8080": true,
	})

	apply(policy("ns", "a-to-b", "app=b", func(s *networkingv1.NetworkPolicySpec) {
		s.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=a")}}}}
	}))
	n.expect(t, "allow ingress to b from app=a", map[string]bool{"a->" + b8080: true, "a->" + b9090: true, "c->" + b8080: false, "r->" + b8080: false})

	// Pod churn: c, and d of another node at the next address, become
	// app=a; the peer set gets two touching elements, then loses one.
	relabel := func(name, app string) {
		t.Helper()
		p, err := client.CoreV1().Pods("ns").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Labels["app"] = app
		if _, err := client.CoreV1().Pods("ns").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkPod("d", "other", "a", "10.42.0.5")
	relabel("c", "a")
	n.expect(t, "c joins app=a", map[string]bool{"c->" + b8080: true, "a->" + b8080: true})
	relabel("c", "c")
	n.expect(t, "c leaves app=a", map[string]bool{"c->" + b8080: false, "a->" + b8080: true})

	remove("a-to-b")
	apply(policy("ns", "alt-port", "app=b", func(s *networkingv1.NetworkPolicySpec) {
		s.Ingress = []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=c")}, {IPBlock: &networkingv1.IPBlock{CIDR: "10.42.1.0/24"}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromString("alt"))}},
		}}
	}))
	n.expect(t, "allow the named port alt (9090) from app=c and another node's pod", map[string]bool{
		"c->" + b9090: true, "r->" + b9090: true, "c->" + b8080: false, "a->" + b9090: false,
	})

	remove("deny-b", "alt-port")
	apply(policy("ns", "a-no-egress", "app=a", func(s *networkingv1.NetworkPolicySpec) {
		s.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	}))
	n.expect(t, "deny all egress from a", map[string]bool{
		"a->" + b8080: false, "a->10.42.1.2:8080": false, "c->10.42.0.2:8080": true, "c->" + b8080: true,
	})

	remove("a-no-egress")
	apply(policy("ns", "a-egress-to-c", "app=a", func(s *networkingv1.NetworkPolicySpec) {
		s.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		s.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=c")}}}}
	}), policy("ns", "b-no-egress", "app=b", func(s *networkingv1.NetworkPolicySpec) {
		s.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	}))
	// a reaches c only; b still answers connections to it (replies of
	// allowed connections pass) but opens none.
	n.expect(t, "allow egress from a to app=c; replies from egress-isolated b", map[string]bool{
		"a->10.42.0.4:8080": true, "a->" + b8080: false, "c->" + b8080: true, "r->" + b8080: true, "b->10.42.0.4:8080": false,
	})

	remove("a-egress-to-c", "b-no-egress")
	n.expect(t, "no policy again", map[string]bool{"a->" + b8080: true, "b->10.42.0.4:8080": true})
	if err := errors.Join(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkNFTSync applies the benchCluster ruleset with the real nft in a
// network namespace of its own: the first sync (the whole table) once,
// reported as first-sync-ms, then one sync per iteration after a peer pod's
// address changed (nft-ms/op of it in nft).
func BenchmarkNFTSync(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to make a network namespace")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		b.Skipf("needs nft: %v", err)
	}
	ctx := context.Background()
	tab := table{nft: nftInNewNetns(b)}
	s := benchCluster()
	want, _ := compile(s)
	start := time.Now()
	if _, err := tab.apply(ctx, want); err != nil {
		b.Fatal(err)
	}
	first := time.Since(start)
	var applying time.Duration
	for i := 0; b.Loop(); i++ {
		p := s.pods[1].DeepCopy()
		p.Status.PodIPs = []corev1.PodIP{{IP: fmt.Sprintf("10.43.%d.%d", i/250%250, i%250+1)}}
		s.pods[1] = p
		want, _ := compile(s)
		start := time.Now()
		if changed, err := tab.apply(ctx, want); err != nil || !changed {
			b.Fatal(err, changed)
		}
		applying += time.Since(start)
	}
	b.ReportMetric(float64(first.Milliseconds()), "first-sync-ms")
	b.ReportMetric(float64(applying.Milliseconds())/float64(b.N), "nft-ms/op")
}

// nftInNewNetns makes a network namespace for the test alone and returns
// an Interface to the table in it.
func nftInNewNetns(tb testing.TB) netnsexec.NFT {
	tb.Helper()
	ns := fmt.Sprintf("knp%d-nft", rand.IntN(1_000_000))
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		tb.Fatalf("%v: %s", err, out)
	}
	tb.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	nft, err := netnsexec.NewNFT(netnsexec.Path(ns), knftables.InetFamily, TableName)
	if err != nil {
		tb.Fatal(err)
	}
	return nft.(netnsexec.NFT)
}

// TestCleanupInNetns removes a table the real nft holds, and is fine
// without one.
func TestCleanupInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skipf("needs nft: %v", err)
	}
	ctx := context.Background()
	nft := nftInNewNetns(t)
	want, _ := compile(snapshot{node: node, pods: clusterPods, namespaces: clusterNamespaces,
		policies: []*networkingv1.NetworkPolicy{policy("a", "deny", "", allowFrom(peer("app=db")))}})
	if _, err := (&table{nft: nft}).apply(ctx, want); err != nil {
		t.Fatal(err)
	}
	list := func() string {
		out, _ := exec.Command("ip", "netns", "exec", filepath.Base(nft.Path), "nft", "list", "tables").CombinedOutput()
		return string(out)
	}
	if !strings.Contains(list(), TableName) {
		t.Fatalf("no table after apply: %q", list())
	}
	for range 2 {
		if err := Cleanup(ctx, nft); err != nil {
			t.Fatal(err)
		}
		if got := list(); got != "" {
			t.Errorf("tables after cleanup: %q", got)
		}
	}
}
