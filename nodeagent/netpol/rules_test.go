package netpol

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"
)

const node = "n1"

// pod is a running pod on node n with ips, labels "k=v,..." and named
// container ports "name=port,...".
func pod(ns, name, n, lbls, ports string, ips ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels.Set{}},
		Spec:       corev1.PodSpec{NodeName: n, Containers: []corev1.Container{{Name: "c"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if lbls != "" {
		p.Labels, _ = labels.ConvertSelectorToLabelsMap(lbls)
	}
	if ports != "" {
		m, _ := labels.ConvertSelectorToLabelsMap(ports)
		for k, v := range m {
			port := intstr.Parse(v)
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: k, ContainerPort: port.IntVal, Protocol: corev1.ProtocolTCP})
		}
	}
	for _, ip := range ips {
		p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
	}
	return p
}

// The cluster of the cases: namespaces a (team=a) and b (team=b); pods on
// this node (n1) and on n2.
var (
	a1 = pod("a", "a1", node, "app=web", "http=8080", "10.42.0.2", "fd00::2")
	a2 = pod("a", "a2", node, "app=db", "http=9000", "10.42.0.3")
	a3 = pod("a", "a3", "n2", "app=web", "http=8080", "10.42.1.2")
	b1 = pod("b", "b1", node, "app=web", "", "10.42.0.4", "fd00::4")
	b2 = pod("b", "b2", "n2", "app=client", "", "10.42.1.3")
	b3 = pod("b", "b3", "n2", "app=db", "", "10.42.1.4")

	outside = "192.168.1.10"

	clusterPods       = []*corev1.Pod{a1, a2, a3, b1, b2, b3}
	clusterNamespaces = map[string]labels.Set{"a": {"team": "a"}, "b": {"team": "b"}}
)

func policy(ns, name, selector string, mutate func(*networkingv1.NetworkPolicySpec)) *networkingv1.NetworkPolicy {
	p := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if selector != "" {
		m, _ := labels.ConvertSelectorToLabelsMap(selector)
		p.Spec.PodSelector.MatchLabels = m
	}
	if mutate != nil {
		mutate(&p.Spec)
	}
	return p
}

func sel(s string) *metav1.LabelSelector {
	m, _ := labels.ConvertSelectorToLabelsMap(s)
	return &metav1.LabelSelector{MatchLabels: m}
}

// allowFrom adds an ingress rule from peers.
func allowFrom(peers ...networkingv1.NetworkPolicyPeer) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) {
		s.Ingress = append(s.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers})
	}
}

// peer is the pods of the policy's namespace with labels "k=v,...".
func peer(podLabels string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: sel(podLabels)}
}

func tcp(port int) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(int32(port)))}
}

func ips(p *corev1.Pod) (v4, v6 string) {
	for _, ip := range p.Status.PodIPs {
		if strings.Contains(ip.IP, ":") {
			v6 = ip.IP
		} else {
			v4 = ip.IP
		}
	}
	return v4, v6
}

// conn is a connection and whether it should pass.
type conn struct {
	from, to any // *corev1.Pod or an address
	proto    string
	port     int
	allow    bool
	v6       bool
}

func addr(x any, v6 bool) string {
	if p, ok := x.(*corev1.Pod); ok {
		v4, v6addr := ips(p)
		if v6 {
			return v6addr
		}
		return v4
	}
	return x.(string)
}

func TestSemantics(t *testing.T) {
	allowPorts := func(ports ...networkingv1.NetworkPolicyPort) func(*networkingv1.NetworkPolicySpec) {
		return func(s *networkingv1.NetworkPolicySpec) {
			s.Ingress = append(s.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: ports})
		}
	}
	egressOnly := func(rules ...networkingv1.NetworkPolicyEgressRule) func(*networkingv1.NetworkPolicySpec) {
		return func(s *networkingv1.NetworkPolicySpec) {
			s.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			s.Egress = rules
		}
	}
	cases := []struct {
		name     string
		pods     []*corev1.Pod
		policies []*networkingv1.NetworkPolicy
		conns    []conn
		problems int
	}{
		{
			name: "no policy allows everything",
			conns: []conn{
				{from: b2, to: a1, port: 80, allow: true},
				{from: a1, to: outside, port: 80, allow: true},
			},
		},
		{
			name:     "empty podSelector denies all ingress to the namespace's local pods",
			policies: []*networkingv1.NetworkPolicy{policy("a", "deny", "", nil)},
			conns: []conn{
				{from: b1, to: a1, port: 80},
				{from: a2, to: a1, port: 80},
				{from: outside, to: a2, port: 80},
				{from: b2, to: a1, port: 80, v6: false},
				{from: b1, to: a1, port: 80, v6: true},
				// Other namespaces, remote pods (their node enforces) and egress stay open.
				{from: a1, to: b1, port: 80, allow: true},
				{from: b1, to: a3, port: 80, allow: true},
				{from: a1, to: outside, port: 80, allow: true},
			},
		},
		{
			name:     "an empty rule allows all",
			policies: []*networkingv1.NetworkPolicy{policy("a", "all", "", allowFrom())},
			conns:    []conn{{from: outside, to: a1, port: 80, allow: true}, {from: b1, to: a1, proto: "udp", port: 53, allow: true, v6: true}},
		},
		{
			name:     "podSelector peer is in the policy's namespace",
			policies: []*networkingv1.NetworkPolicy{policy("a", "db-to-web", "app=web", allowFrom(networkingv1.NetworkPolicyPeer{PodSelector: sel("app=db")}))},
			conns: []conn{
				{from: a2, to: a1, port: 80, allow: true},
				{from: b3, to: a1, port: 80},
				{from: b1, to: a1, port: 80},
				{from: b1, to: a2, port: 80, allow: true}, // a2 not selected
			},
		},
		{
			name:     "namespaceSelector peer",
			policies: []*networkingv1.NetworkPolicy{policy("a", "from-b", "app=web", allowFrom(networkingv1.NetworkPolicyPeer{NamespaceSelector: sel("team=b")}))},
			conns: []conn{
				{from: b1, to: a1, port: 80, allow: true},
				{from: b2, to: a1, port: 80, allow: true},
				{from: b1, to: a1, port: 80, allow: true, v6: true},
				{from: a2, to: a1, port: 80},
			},
		},
		{
			name:     "empty namespaceSelector is every namespace",
			policies: []*networkingv1.NetworkPolicy{policy("a", "from-all", "", allowFrom(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}}))},
			conns:    []conn{{from: b3, to: a1, port: 80, allow: true}, {from: a2, to: a1, port: 80, allow: true}, {from: outside, to: a1, port: 80}},
		},
		{
			name: "namespaceSelector and podSelector together",
			policies: []*networkingv1.NetworkPolicy{policy("a", "b-clients", "", allowFrom(networkingv1.NetworkPolicyPeer{
				NamespaceSelector: sel("team=b"), PodSelector: sel("app=client"),
			}))},
			conns: []conn{{from: b2, to: a1, port: 80, allow: true}, {from: b1, to: a1, port: 80}, {from: b3, to: a2, port: 80}},
		},
		{
			name: "ipBlock with except",
			policies: []*networkingv1.NetworkPolicy{policy("a", "block", "", allowFrom(networkingv1.NetworkPolicyPeer{
				IPBlock: &networkingv1.IPBlock{CIDR: "10.42.1.0/24", Except: []string{"10.42.1.3/32"}},
			}, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.42.1.0/31"}}))}, // overlaps the first: merged
			conns: []conn{
				{from: a3, to: a1, port: 80, allow: true},
				{from: b3, to: a1, port: 80, allow: true},
				{from: b2, to: a1, port: 80},
				{from: outside, to: a1, port: 80},
				{from: b1, to: a1, port: 80, v6: true},
			},
		},
		{
			name:     "numeric port and protocol",
			policies: []*networkingv1.NetworkPolicy{policy("a", "port", "", allowPorts(tcp(8080)))},
			conns: []conn{
				{from: b1, to: a1, port: 8080, allow: true},
				{from: b1, to: a1, port: 8080, allow: true, v6: true},
				{from: b1, to: a1, port: 9090},
				{from: b1, to: a1, proto: "udp", port: 8080},
			},
		},
		{
			name: "endPort range",
			policies: []*networkingv1.NetworkPolicy{policy("a", "range", "", allowPorts(networkingv1.NetworkPolicyPort{
				Port: ptr.To(intstr.FromInt32(8000)), EndPort: ptr.To[int32](8100),
			}))},
			conns: []conn{{from: b1, to: a1, port: 8000, allow: true}, {from: b1, to: a1, port: 8100, allow: true}, {from: b1, to: a1, port: 8101}, {from: b1, to: a1, port: 7999}},
		},
		{
			name:     "protocol without port",
			policies: []*networkingv1.NetworkPolicy{policy("a", "udp", "", allowPorts(networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolUDP)}))},
			conns:    []conn{{from: b1, to: a1, proto: "udp", port: 53, allow: true}, {from: b1, to: a1, port: 53}},
		},
		{
			name:     "named port resolves on each target pod",
			policies: []*networkingv1.NetworkPolicy{policy("a", "http", "", allowPorts(networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromString("http"))}))},
			conns: []conn{
				{from: b1, to: a1, port: 8080, allow: true},
				{from: b1, to: a1, port: 8080, allow: true, v6: true},
				{from: b1, to: a2, port: 9000, allow: true},
				{from: b1, to: a2, port: 8080},
				{from: b1, to: a1, port: 9000},
				{from: b1, to: a1, proto: "udp", port: 8080},
			},
		},
		{
			name: "peers and ports together",
			policies: []*networkingv1.NetworkPolicy{policy("a", "both", "", func(s *networkingv1.NetworkPolicySpec) {
				s.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=db")}}, Ports: []networkingv1.NetworkPolicyPort{tcp(5432)}}}
			})},
			conns: []conn{{from: a2, to: a1, port: 5432, allow: true}, {from: a2, to: a1, port: 80}, {from: b1, to: a1, port: 5432}},
		},
		{
			name: "policies add up",
			policies: []*networkingv1.NetworkPolicy{
				policy("a", "p1", "app=web", allowFrom(networkingv1.NetworkPolicyPeer{PodSelector: sel("app=db")})),
				policy("a", "p2", "app=web", allowFrom(networkingv1.NetworkPolicyPeer{NamespaceSelector: sel("team=b"), PodSelector: sel("app=client")})),
			},
			conns: []conn{{from: a2, to: a1, port: 80, allow: true}, {from: b2, to: a1, port: 80, allow: true}, {from: b1, to: a1, port: 80}},
		},
		{
			name:     "egress isolation denies all egress",
			policies: []*networkingv1.NetworkPolicy{policy("a", "no-egress", "app=web", egressOnly())},
			conns: []conn{
				{from: a1, to: outside, port: 80},
				{from: a1, to: a2, port: 80},
				{from: a1, to: b1, port: 80, v6: true},
				{from: a2, to: a1, port: 80, allow: true}, // ingress not isolated
			},
		},
		{
			name: "egress to an ipBlock port, and to a named port of the destination",
			policies: []*networkingv1.NetworkPolicy{policy("a", "egress", "app=web", egressOnly(
				networkingv1.NetworkPolicyEgressRule{
					To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(53))}},
				},
				networkingv1.NetworkPolicyEgressRule{
					To:    []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=db")}},
					Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromString("http"))}},
				},
			))},
			conns: []conn{
				{from: a1, to: outside, proto: "udp", port: 53, allow: true},
				{from: a1, to: outside, port: 53},
				{from: a1, to: a2, port: 9000, allow: true},
				{from: a1, to: a2, port: 8080},
				{from: a1, to: b3, port: 9000},
			},
		},
		{
			name: "egress rules without policyTypes isolate both directions",
			policies: []*networkingv1.NetworkPolicy{policy("a", "implicit", "app=web", func(s *networkingv1.NetworkPolicySpec) {
				s.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=db")}}}}
			})},
			conns: []conn{{from: a1, to: a2, port: 80, allow: true}, {from: a1, to: b1, port: 80}, {from: a2, to: a1, port: 80}},
		},
		{
			name: "both ends must allow",
			policies: []*networkingv1.NetworkPolicy{
				policy("a", "web-out", "app=web", egressOnly(networkingv1.NetworkPolicyEgressRule{})),
				policy("a", "db-in", "app=db", nil),
			},
			conns: []conn{{from: a1, to: a2, port: 80}, {from: a1, to: b1, port: 80, allow: true}},
		},
		{
			name: "host-network and finished pods take no part",
			pods: []*corev1.Pod{
				func() *corev1.Pod { p := a2.DeepCopy(); p.Spec.HostNetwork = true; return p }(),
				func() *corev1.Pod { p := b1.DeepCopy(); p.Status.Phase = corev1.PodSucceeded; return p }(),
				a1,
			},
			policies: []*networkingv1.NetworkPolicy{policy("a", "deny", "", allowFrom(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}}))},
			conns:    []conn{{from: "10.42.0.3", to: a1, port: 80}, {from: "10.42.0.4", to: a1, port: 80}, {from: a1, to: "10.42.0.3", port: 80, allow: true}},
		},
		{
			name: "a policy that cannot be read is left out",
			policies: []*networkingv1.NetworkPolicy{
				policy("a", "bad", "", allowFrom(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "nonsense"}})),
				policy("b", "deny", "", nil),
			},
			conns:    []conn{{from: b1, to: a1, port: 80, allow: true}, {from: a1, to: b1, port: 80}},
			problems: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods := tc.pods
			if pods == nil {
				pods = clusterPods
			}
			want, problems := compile(snapshot{node: node, pods: pods, namespaces: clusterNamespaces, policies: tc.policies})
			if len(problems) != tc.problems {
				t.Errorf("problems: got %v, want %d", problems, tc.problems)
			}
			fake := knftables.NewFake(knftables.InetFamily, TableName)
			tab := table{nft: fake}
			if _, err := tab.apply(context.Background(), want); err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.conns {
				p := packet{src: addr(c.from, c.v6), dst: addr(c.to, c.v6), proto: c.proto, port: c.port}
				if p.proto == "" {
					p.proto = "tcp"
				}
				wantV := "drop"
				if c.allow {
					wantV = "accept"
				}
				if got := verdict(t, fake, p); got != wantV {
					t.Errorf("%s %s -> %s:%d: got %s, want %s", p.proto, p.src, p.dst, p.port, got, wantV)
				}
			}
			if t.Failed() {
				t.Log(fake.Dump())
			}
		})
	}
}
