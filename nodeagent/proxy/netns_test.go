package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/knftables"

	"github.com/kubelite/kubelite/nodeagent/internal/netnsexec"
	"github.com/kubelite/kubelite/nodeagent/podnet/nettest"
)

// TestServicesInNetns runs the proxy on real nftables in a test host (h0)
// with endpoints on two others (h1, h2, which also play clients): cluster
// IP from the node, NodePort from another host (masqueraded so that the
// answer comes back), rejection without endpoints, an endpoint leaving,
// session affinity, and UDP flows moved off a removed endpoint.
func TestServicesInNetns(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skipf("needs nft: %v", err)
	}
	hosts := nettest.NewHosts(t, 3)
	node, h1, h2 := hosts[0], hosts[1], hosts[2]
	nettest.Run(t, "ip", "-n", node.Name, "route", "add", "10.96.0.0/12", "dev", node.Link)
	for _, h := range []*nettest.Host{h1, h2} {
		serveName(t, h, ":8080")
		serveUDPName(t, h, ":5353")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	p, err := New(Config{
		NodeName:        "node",
		Services:        factory.Core().V1().Services(),
		EndpointSlices:  factory.Discovery().V1().EndpointSlices(),
		MinSyncInterval: -1,
		NetNS:           node.Path,
	})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	web := svc("default", "web", "10.96.7.1", "80")
	web.Spec.Type = corev1.ServiceTypeNodePort
	web.Spec.Ports[0].NodePort = 30080
	dns := svc("default", "dns", "10.96.7.2", "53/UDP")
	sticky := svc("default", "sticky", "10.96.7.3", "80")
	sticky.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	empty := svc("default", "empty", "10.96.7.4", "80")
	for _, s := range []*corev1.Service{web, dns, sticky, empty} {
		if _, err := client.CoreV1().Services("default").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := ep(h1.Addr.String()), ep(h2.Addr.String())
	put := func(es *discoveryv1.EndpointSlice) {
		t.Helper()
		_, err := client.DiscoveryV1().EndpointSlices(es.Namespace).Update(ctx, es, metav1.UpdateOptions{})
		if err != nil {
			_, err = client.DiscoveryV1().EndpointSlices(es.Namespace).Create(ctx, es, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	put(slice(web, "", 8080, corev1.ProtocolTCP, a, b))
	put(slice(dns, "", 5353, corev1.ProtocolUDP, a))
	put(slice(sticky, "", 8080, corev1.ProtocolTCP, a, b))

	t.Run("cluster IP from the node", func(t *testing.T) {
		eventually(t, func() error { return reachesAll(node, "10.96.7.1:80", h1.Name, h2.Name) })
	})
	t.Run("node port from another host", func(t *testing.T) {
		eventually(t, func() error { return reachesAll(h1, node.Addr.String()+":30080", h1.Name, h2.Name) })
	})
	t.Run("no endpoints rejected", func(t *testing.T) {
		var err error
		start := time.Now()
		_ = node.Do(func() error { _, err = dial("10.96.7.4:80"); return nil })
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial a Service without endpoints: %v, want connection refused", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("refused after %v", d)
		}
	})
	t.Run("session affinity", func(t *testing.T) {
		eventually(t, func() error { _, err := fetch(node, "10.96.7.3:80"); return err })
		first, _ := fetch(node, "10.96.7.3:80")
		for range 10 {
			if got, err := fetch(node, "10.96.7.3:80"); err != nil || got != first {
				t.Fatalf("affinity broken: %q then %q (%v)", first, got, err)
			}
		}
	})
	t.Run("endpoint leaves", func(t *testing.T) {
		put(slice(web, "", 8080, corev1.ProtocolTCP, b, a+",unready"))
		eventually(t, func() error {
			for range 10 {
				if got, err := fetch(node, "10.96.7.1:80"); err != nil || got != h2.Name {
					return fmt.Errorf("got %q, %v; want only %s", got, err, h2.Name)
				}
			}
			return nil
		})
	})
	t.Run("a deleted table is rebuilt", func(t *testing.T) {
		nettest.Run(t, "nsenter", "--net="+node.Path, "--", "nft", "delete", "table", "ip", TableName)
		if _, err := fetch(node, "10.96.7.1:80"); err == nil {
			t.Fatal("the Service answers without its table")
		}
		p.queue.Add(checkKey) // what the periodic check does
		eventually(t, func() error { _, err := fetch(node, "10.96.7.1:80"); return err })
	})
	t.Run("UDP flow moves with its endpoint", func(t *testing.T) {
		var conn *net.UDPConn
		if err := node.Do(func() (err error) {
			conn, err = net.DialUDP("udp", nil, &net.UDPAddr{IP: net.ParseIP("10.96.7.2"), Port: 53})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ask := func() string {
			_ = conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
			if _, err := conn.Write([]byte("?")); err != nil {
				return err.Error()
			}
			buf := make([]byte, 64)
			n, err := conn.Read(buf)
			if err != nil {
				return err.Error()
			}
			return string(buf[:n])
		}
		eventually(t, func() error {
			if got := ask(); got != h1.Name {
				return fmt.Errorf("UDP answer %q, want %s", got, h1.Name)
			}
			return nil
		})
		// The same client socket keeps its conntrack entry unless the
		// proxy deletes it.
		put(slice(dns, "", 5353, corev1.ProtocolUDP, b))
		eventually(t, func() error {
			if got := ask(); got != h2.Name {
				return fmt.Errorf("UDP answer %q, want %s", got, h2.Name)
			}
			return nil
		})
	})
}

func eventually(t *testing.T, f func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = f(); err == nil {
			return
		}
	}
	t.Fatal(err)
}

func dial(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }

// fetch connects from h to addr and reads what the server says.
func fetch(h *nettest.Host, addr string) (string, error) {
	var out []byte
	err := h.Do(func() error {
		c, err := dial(addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		out, err = io.ReadAll(c)
		return err
	})
	return strings.TrimSpace(string(out)), err
}

// reachesAll fetches addr from h until every one of names has answered.
func reachesAll(h *nettest.Host, addr string, names ...string) error {
	seen := map[string]bool{}
	for range 40 {
		got, err := fetch(h, addr)
		if err != nil {
			return err
		}
		seen[got] = true
		if len(seen) == len(names) {
			break
		}
	}
	for _, n := range names {
		if !seen[n] {
			return fmt.Errorf("%s: never answered by %s (seen %v)", addr, n, seen)
		}
	}
	return nil
}

// serveName answers every TCP connection with the host's name.
func serveName(t *testing.T, h *nettest.Host, addr string) {
	l := h.Listen(t, addr)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(h.Name + "\n"))
			c.Close()
		}
	}()
}

// serveUDPName answers every datagram with the host's name.
func serveUDPName(t *testing.T, h *nettest.Host, addr string) {
	var pc net.PacketConn
	if err := h.Do(func() (err error) { pc, err = net.ListenPacket("udp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(h.Name), from)
		}
	}()
}

// TestRulesAcceptedByNft applies IPv4 and IPv6 rulesets with every kind of
// rule (node ports, load balancer IPs, both traffic policies, affinity) to
// the real nft in a test host, then removes them.
func TestRulesAcceptedByNft(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skipf("needs nft: %v", err)
	}
	host := nettest.NewHosts(t, 1)[0]
	for _, tc := range []struct {
		family          knftables.Family
		cluster, lb     string
		cidr, ep, local string
		addrType        discoveryv1.AddressType
	}{
		{knftables.IPv4Family, "10.96.0.20", "192.168.5.1", "10.42.0.0/16", "10.42.1.2", "10.42.0.2", discoveryv1.AddressTypeIPv4},
		{knftables.IPv6Family, "fd00:96::20", "fd00:5::1", "fd00:42::/56", "fd00:42:1::2", "fd00:42::2", discoveryv1.AddressTypeIPv6},
	} {
		t.Run(string(tc.family), func(t *testing.T) {
			var services []*corev1.Service
			bySvc := map[string][]*discoveryv1.EndpointSlice{}
			for i, policy := range []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal} {
				s := svc("ns", fmt.Sprint("s", i), tc.cluster, fmt.Sprint(80+i), fmt.Sprint(53+i, "/UDP"))
				s.Spec.Type, s.Spec.ExternalTrafficPolicy = corev1.ServiceTypeLoadBalancer, policy
				s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort = int32(30080+i), int32(30053+i)
				s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: tc.lb}}
				services = append(services, s)
				for _, p := range s.Spec.Ports {
					es := slice(s, "", 8080, p.Protocol, ep(tc.ep), ep(tc.local+"@"+testNode))
					es.Name += string(p.Protocol)
					es.AddressType = tc.addrType
					bySvc["ns/"+s.Name] = append(bySvc["ns/"+s.Name], es)
				}
			}
			nft, err := netnsexec.NewNFT(host.Path, tc.family, TableName)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			want := compile(tc.family, []netip.Prefix{netip.MustParsePrefix(tc.cidr)}, servicePorts(tc.family, testNode, services, bySvc))
			tab := table{nft: nft}
			if _, err := tab.apply(ctx, want); err != nil {
				t.Fatal(err)
			}
			// A new run over the table an earlier one left converges too.
			if _, err := (&table{nft: nft}).apply(ctx, want); err != nil {
				t.Fatalf("start over: %v", err)
			}
			if err := Cleanup(ctx, nft); err != nil {
				t.Fatal(err)
			}
		})
	}
}
