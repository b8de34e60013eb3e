package proxy

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"
)

var clusterCIDRs = []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}

// applyFake compiles services and slices and applies them to a fake nft.
func applyFake(t *testing.T, services []*corev1.Service, es ...*discoveryv1.EndpointSlice) *knftables.Fake {
	t.Helper()
	fake := knftables.NewFake(knftables.IPv4Family, TableName)
	tab := table{nft: fake}
	if _, err := tab.apply(context.Background(), compileFor(services, es...)); err != nil {
		t.Fatal(err)
	}
	return fake
}

func compileFor(services []*corev1.Service, es ...*discoveryv1.EndpointSlice) ruleset {
	bySvc := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range es {
		k := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
		bySvc[k] = append(bySvc[k], s)
	}
	return compile(knftables.IPv4Family, clusterCIDRs, servicePorts(knftables.IPv4Family, testNode, services, bySvc))
}

// element returns the value of a map's element, or "" when there is none.
func element(fake *knftables.Fake, m string, key ...string) string {
	mp := fake.Table.Maps[m]
	if mp == nil {
		return ""
	}
	if e := mp.FindElement(key...); e != nil {
		return strings.Join(e.Value, " ")
	}
	return ""
}

func rules(fake *knftables.Fake, chain string) []string {
	c := fake.Table.Chains[chain]
	if c == nil {
		return nil
	}
	var out []string
	for _, r := range c.Rules {
		out = append(out, r.Rule)
	}
	return out
}

func TestClusterIP(t *testing.T) {
	s := svc("ns", "web", "10.96.0.20", "http:80/TCP")
	fake := applyFake(t, []*corev1.Service{s},
		slice(s, "http", 8080, corev1.ProtocolTCP, "10.42.1.2", "10.42.2.3", "10.42.2.4,unready"))
	if got := element(fake, serviceIPsMap, "10.96.0.20", "tcp", "80"); got != "goto service-ns/web/tcp/80" {
		t.Fatalf("service-ips element: %q\n%s", got, fake.Dump())
	}
	want := []string{
		"ip daddr 10.96.0.20 tcp dport 80 ip saddr != { 10.42.0.0/16 } jump mark-for-masquerade",
		"numgen random mod 2 vmap { 0 : goto endpoint-ns/web/tcp/80__10.42.1.2/8080 , 1 : goto endpoint-ns/web/tcp/80__10.42.2.3/8080 }",
	}
	if diff := cmp.Diff(want, rules(fake, "service-ns/web/tcp/80")); diff != "" {
		t.Errorf("service chain (-want +got):\n%s", diff)
	}
	want = []string{
		"ip saddr 10.42.1.2 jump mark-for-masquerade",
		"meta l4proto tcp dnat to 10.42.1.2:8080",
	}
	if diff := cmp.Diff(want, rules(fake, "endpoint-ns/web/tcp/80__10.42.1.2/8080")); diff != "" {
		t.Errorf("endpoint chain (-want +got):\n%s", diff)
	}
	if c := fake.Table.Chains["endpoint-ns/web/tcp/80__10.42.2.4/8080"]; c != nil {
		t.Errorf("an unready endpoint has a chain")
	}
}

func TestEndpointChoice(t *testing.T) {
	local := func(p corev1.ServiceInternalTrafficPolicy) func(*corev1.Service) {
		return func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = &p }
	}
	for _, tc := range []struct {
		name    string
		edit    func(*corev1.Service)
		eps     []ep
		verdict string // of service-ips, or of no-endpoint-services when it starts with "!"
		dnat    []string
	}{
		{"none", nil, nil, "!goto reject-chain", nil},
		{"only unready", nil, []ep{"10.42.1.2,unready"}, "!goto reject-chain", nil},
		{"ready beat terminating", nil, []ep{"10.42.1.2", "10.42.1.3,terminating"}, "goto service-ns/s/tcp/80", []string{"10.42.1.2"}},
		{"terminating when no ready", nil, []ep{"10.42.1.2,unready", "10.42.1.3,terminating"}, "goto service-ns/s/tcp/80", []string{"10.42.1.3"}},
		{"terminating not serving", nil, []ep{"10.42.1.3,terminating,notserving"}, "!goto reject-chain", nil},
		{"internal local", local(corev1.ServiceInternalTrafficPolicyLocal), []ep{"10.42.1.2", "10.42.0.5@node-a"}, "goto local-ns/s/tcp/80", []string{"10.42.0.5"}},
		{"internal local none here", local(corev1.ServiceInternalTrafficPolicyLocal), []ep{"10.42.1.2"}, "!drop", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := svc("ns", "s", "10.96.0.30", "80")
			if tc.edit != nil {
				tc.edit(s)
			}
			fake := applyFake(t, []*corev1.Service{s}, slice(s, "", 8080, corev1.ProtocolTCP, tc.eps...))
			m := serviceIPsMap
			verdict := tc.verdict
			if v, ok := strings.CutPrefix(verdict, "!"); ok {
				m, verdict = noEndpointServices, v
			}
			if got := element(fake, m, "10.96.0.30", "tcp", "80"); got != verdict {
				t.Fatalf("%s element: %q, want %q\n%s", m, got, verdict, fake.Dump())
			}
			var dnat []string
			for name := range fake.Table.Chains {
				if _, ip, ok := strings.Cut(name, "__"); ok {
					dnat = append(dnat, strings.TrimSuffix(ip, "/8080"))
				}
			}
			if diff := cmp.Diff(tc.dnat, dnat); diff != "" {
				t.Errorf("endpoint chains (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeadlessAndExternalName(t *testing.T) {
	headless := svc("ns", "h", "None", "80")
	ext := svc("ns", "x", "", "80")
	ext.Spec.Type, ext.Spec.ExternalName, ext.Spec.ClusterIPs = corev1.ServiceTypeExternalName, "example.com", nil
	fake := applyFake(t, []*corev1.Service{headless, ext},
		slice(headless, "", 80, corev1.ProtocolTCP, "10.42.1.2"), slice(ext, "", 80, corev1.ProtocolTCP, "10.42.1.3"))
	for _, m := range []string{serviceIPsMap, serviceNodePorts, noEndpointServices, noEndpointNodePort} {
		if n := len(fake.Table.Maps[m].Elements); n != 0 {
			t.Errorf("%s has %d elements:\n%s", m, n, fake.Dump())
		}
	}
}

func TestNamedTargetPortsAndUDP(t *testing.T) {
	s := svc("ns", "dns", "10.96.0.10", "dns:53/UDP", "dns-tcp:53/TCP")
	fake := applyFake(t, []*corev1.Service{s},
		slice(s, "dns", 10053, corev1.ProtocolUDP, "10.42.1.2"),
		slice(s, "dns-tcp", 10054, corev1.ProtocolTCP, "10.42.1.2"))
	for proto, port := range map[string]string{"udp": "10053", "tcp": "10054"} {
		chain := "endpoint-ns/dns/" + proto + "/53__10.42.1.2/" + port
		want := "meta l4proto " + proto + " dnat to 10.42.1.2:" + port
		if r := rules(fake, chain); len(r) == 0 || r[len(r)-1] != want {
			t.Errorf("%s: %q, want last %q", chain, r, want)
		}
		if got := element(fake, serviceIPsMap, "10.96.0.10", proto, "53"); got != "goto service-ns/dns/"+proto+"/53" {
			t.Errorf("service-ips %s: %q", proto, got)
		}
	}
}

func TestNodePortAndLoadBalancer(t *testing.T) {
	s := svc("ns", "lb", "10.96.0.40", "80")
	s.Spec.Type = corev1.ServiceTypeLoadBalancer
	s.Spec.Ports[0].NodePort = 30080
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.168.5.1"}, {IP: "192.168.5.2", IPMode: ptr.To(corev1.LoadBalancerIPModeProxy)}}
	es := slice(s, "", 8080, corev1.ProtocolTCP, "10.42.1.2", "10.42.0.7@node-a")

	fake := applyFake(t, []*corev1.Service{s}, es)
	if got := element(fake, serviceNodePorts, "tcp", "30080"); got != "goto external-ns/lb/tcp/80" {
		t.Errorf("node port: %q", got)
	}
	if got := element(fake, serviceIPsMap, "192.168.5.1", "tcp", "80"); got != "goto external-ns/lb/tcp/80" {
		t.Errorf("load balancer IP: %q", got)
	}
	if got := element(fake, serviceIPsMap, "192.168.5.2", "tcp", "80"); got != "" {
		t.Errorf("load balancer IP of ipMode Proxy: %q", got)
	}
	if diff := cmp.Diff([]string{"jump mark-for-masquerade", "goto service-ns/lb/tcp/80"}, rules(fake, "external-ns/lb/tcp/80")); diff != "" {
		t.Errorf("external chain, policy Cluster (-want +got):\n%s", diff)
	}

	s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	fake = applyFake(t, []*corev1.Service{s}, es)
	want := []string{
		"ip saddr { 10.42.0.0/16 } goto service-ns/lb/tcp/80",
		"fib saddr type local jump mark-for-masquerade",
		"fib saddr type local goto service-ns/lb/tcp/80",
		"goto local-ns/lb/tcp/80",
	}
	if diff := cmp.Diff(want, rules(fake, "external-ns/lb/tcp/80")); diff != "" {
		t.Errorf("external chain, policy Local (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"goto endpoint-ns/lb/tcp/80__10.42.0.7/8080"}, rules(fake, "local-ns/lb/tcp/80")); diff != "" {
		t.Errorf("local chain (-want +got):\n%s", diff)
	}

	// No endpoint here: external clients are dropped, pods still served.
	fake = applyFake(t, []*corev1.Service{s}, slice(s, "", 8080, corev1.ProtocolTCP, "10.42.1.2"))
	if r := rules(fake, "external-ns/lb/tcp/80"); len(r) == 0 || r[len(r)-1] != "drop" {
		t.Errorf("external chain without local endpoints: %q", r)
	}

	// No endpoint at all: rejected.
	fake = applyFake(t, []*corev1.Service{s})
	if got := element(fake, noEndpointNodePort, "tcp", "30080"); got != "goto reject-chain" {
		t.Errorf("no-endpoint node port: %q", got)
	}
	if got := element(fake, noEndpointServices, "192.168.5.1", "tcp", "80"); got != "goto reject-chain" {
		t.Errorf("no-endpoint load balancer IP: %q", got)
	}
}

func TestSessionAffinity(t *testing.T) {
	s := svc("ns", "sticky", "10.96.0.50", "80")
	s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](600)}}
	fake := applyFake(t, []*corev1.Service{s}, slice(s, "", 80, corev1.ProtocolTCP, "10.42.1.2", "10.42.1.3"))
	set := fake.Table.Sets["affinity-ns/sticky/tcp/80__10.42.1.2/80"]
	if set == nil || set.Timeout == nil || set.Timeout.Seconds() != 600 {
		t.Fatalf("affinity set: %+v\n%s", set, fake.Dump())
	}
	r := rules(fake, "service-ns/sticky/tcp/80")
	if len(r) != 4 || r[1] != "ip saddr @affinity-ns/sticky/tcp/80__10.42.1.2/80 goto endpoint-ns/sticky/tcp/80__10.42.1.2/80" {
		t.Errorf("service chain: %q", r)
	}
	if got := rules(fake, "endpoint-ns/sticky/tcp/80__10.42.1.3/80")[1]; got != "update @affinity-ns/sticky/tcp/80__10.42.1.3/80 { ip saddr }" {
		t.Errorf("endpoint chain's update: %q", got)
	}
}

// TestApplyDifference: applying B over A leaves what applying B alone does,
// and applying the same again changes nothing.
func TestApplyDifference(t *testing.T) {
	a := svc("ns", "a", "10.96.0.61", "80")
	b := svc("ns", "b", "10.96.0.62", "53/UDP")
	b.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	stateA := compileFor([]*corev1.Service{a, b}, slice(a, "", 80, corev1.ProtocolTCP, "10.42.1.2", "10.42.1.3"), slice(b, "", 53, corev1.ProtocolUDP, "10.42.1.4"))
	stateB := compileFor([]*corev1.Service{b}, slice(b, "", 53, corev1.ProtocolUDP, "10.42.1.5"))

	ctx := context.Background()
	fake := knftables.NewFake(knftables.IPv4Family, TableName)
	tab := table{nft: fake}
	for _, st := range []ruleset{stateA, stateB} {
		if _, err := tab.apply(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if changed, err := tab.apply(ctx, stateB); err != nil || changed {
		t.Errorf("same ruleset again: changed %v, %v", changed, err)
	}
	fresh := knftables.NewFake(knftables.IPv4Family, TableName)
	if _, err := (&table{nft: fresh}).apply(ctx, stateB); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh.Dump(), fake.Dump()); diff != "" {
		t.Errorf("A then B differs from B (-B +A,B):\n%s", diff)
	}

	// A new run (nothing known) over what the last one left converges too.
	restarted := table{nft: fake}
	if _, err := restarted.apply(ctx, stateA); err != nil {
		t.Fatal(err)
	}
	freshA := knftables.NewFake(knftables.IPv4Family, TableName)
	if _, err := (&table{nft: freshA}).apply(ctx, stateA); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(freshA.Dump(), fake.Dump()); diff != "" {
		t.Errorf("restart over B differs from A (-A +restart):\n%s", diff)
	}
}

func TestStaleUDPFlows(t *testing.T) {
	s := svc("ns", "dns", "10.96.0.10", "53/UDP")
	s.Spec.Type = corev1.ServiceTypeNodePort
	s.Spec.Ports[0].NodePort = 30053
	ports := func(eps ...ep) map[string]*servicePort {
		out := map[string]*servicePort{}
		bySvc := map[string][]*discoveryv1.EndpointSlice{"ns/dns": {slice(s, "", 53, corev1.ProtocolUDP, eps...)}}
		for _, sp := range servicePorts(knftables.IPv4Family, testNode, []*corev1.Service{s}, bySvc) {
			out[sp.key()] = sp
		}
		return out
	}
	got := staleUDPFlows(ports("10.42.1.2", "10.42.1.3"), ports("10.42.1.3"))
	want := []udpFlow{{origDst: "10.96.0.10", replySrc: "10.42.1.2"}, {origDstPort: 30053, replySrc: "10.42.1.2"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(udpFlow{})); diff != "" {
		t.Errorf("endpoint gone (-want +got):\n%s", diff)
	}
	got = staleUDPFlows(ports(), ports("10.42.1.3"))
	want = []udpFlow{{origDst: "10.96.0.10", origDstPort: 53}, {origDstPort: 30053}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(udpFlow{})); diff != "" {
		t.Errorf("first endpoint (-want +got):\n%s", diff)
	}
	if got := staleUDPFlows(ports("10.42.1.3"), ports("10.42.1.3")); len(got) != 0 {
		t.Errorf("no change: %v", got)
	}
}

func TestIPv6(t *testing.T) {
	s := svc("ns", "v6", "fd00:96::20", "80")
	s.Spec.ClusterIPs = []string{"10.96.0.20", "fd00:96::20"}
	es := slice(s, "", 8080, corev1.ProtocolTCP, "fd00:42::2")
	es.AddressType = discoveryv1.AddressTypeIPv6
	v4 := slice(s, "", 8080, corev1.ProtocolTCP, "10.42.0.2")
	sps := servicePorts(knftables.IPv6Family, testNode, []*corev1.Service{s}, map[string][]*discoveryv1.EndpointSlice{"ns/v6": {es, v4}})
	want := compile(knftables.IPv6Family, []netip.Prefix{netip.MustParsePrefix("fd00:42::/56")}, sps)
	fake := knftables.NewFake(knftables.IPv6Family, TableName)
	if _, err := (&table{nft: fake}).apply(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if got := element(fake, serviceIPsMap, "fd00:96::20", "tcp", "80"); got != "goto service-ns/v6/tcp/80" {
		t.Fatalf("service-ips: %q\n%s", got, fake.Dump())
	}
	wantRules := []string{"ip6 saddr fd00:42::2 jump mark-for-masquerade", "meta l4proto tcp dnat to [fd00:42::2]:8080"}
	if diff := cmp.Diff(wantRules, rules(fake, "endpoint-ns/v6/tcp/80__fd00.42..2/8080")); diff != "" {
		t.Errorf("endpoint chain (-want +got):\n%s", diff)
	}
	if len(fake.Table.Chains) != len(want.chains)+len(baseChains) {
		t.Errorf("chains: %d (an IPv4 endpoint in an IPv6 table?)\n%s", len(fake.Table.Chains), fake.Dump())
	}
}
