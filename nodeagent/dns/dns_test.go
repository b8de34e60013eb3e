package dns

import (
	"context"
	"net"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func service(name, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: clusterIP, Ports: ports, Type: corev1.ServiceTypeClusterIP},
	}
	if clusterIP != "" {
		svc.Spec.ClusterIPs = []string{clusterIP}
	}
	return svc
}

func slice(svc, name string, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
}

func endpoint(ip string, ready bool, hostname string) discoveryv1.Endpoint {
	ep := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}
	if hostname != "" {
		ep.Hostname = ptr.To(hostname)
	}
	return ep
}

// startUpstream serves example.com. A 93.184.216.34, as a host's resolver.
func startUpstream(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "example.com." {
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "example.com.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("93.184.216.34")}}
		} else {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func startServer(t *testing.T) string {
	headlessPort := corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}
	client := fake.NewClientset(
		service("web", "10.96.0.20", corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}),
		service("db", corev1.ClusterIPNone, headlessPort),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ext"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
		slice("web", "web-abc", 8080, endpoint("10.42.0.5", true, "")),
		slice("db", "db-1", 5432, endpoint("10.42.0.7", true, "db-0"), endpoint("10.42.0.8", true, ""), endpoint("10.42.0.9", false, "db-2")),
		slice("db", "db-2", 5432, endpoint("10.42.1.3", true, "db-3")),
	)
	factory := informers.NewSharedInformerFactory(client, 0)
	s, err := New(Config{
		Services:       factory.Core().V1().Services(),
		EndpointSlices: factory.Discovery().V1().EndpointSlices(),
		Upstream:       []string{startUpstream(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	factory.Start(ctx.Done())
	addr := make(chan string, 1)
	go func() {
		if err := s.Serve(ctx, "127.0.0.1:0", func(udp, _ net.Addr) { addr <- udp.String() }); err != nil {
			t.Error(err)
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("DNS server not serving")
		return ""
	}
}

func query(t *testing.T, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// values are the answer's records as "TYPE value" strings, sorted.
func values(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, "A "+r.A.String())
		case *dns.AAAA:
			out = append(out, "AAAA "+r.AAAA.String())
		case *dns.CNAME:
			out = append(out, "CNAME "+r.Target)
		case *dns.SRV:
			out = append(out, "SRV "+r.Target+" "+strconv.Itoa(int(r.Port)))
		case *dns.PTR:
			out = append(out, "PTR "+r.Ptr)
		case *dns.SOA:
			out = append(out, "SOA "+r.Ns)
		}
	}
	sort.Strings(out)
	return out
}

func TestRecords(t *testing.T) {
	addr := startServer(t)
	for _, tc := range []struct {
		name   string
		qtype  uint16
		rcode  int
		answer []string
		extra  []string
	}{
		{"web.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.96.0.20"}, nil},
		{"WEB.Default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.96.0.20"}, nil},
		{"web.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, nil, nil},
		// A headless Service: its ready endpoints, from every slice.
		{"db.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.42.0.7", "A 10.42.0.8", "A 10.42.1.3"}, nil},
		{"db-0.db.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.42.0.7"}, nil},
		{"10-42-0-8.db.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.42.0.8"}, nil},
		{"db-2.db.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
		{"_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"SRV web.default.svc.cluster.local. 80"}, []string{"A 10.96.0.20"}},
		{"_http._tcp.db.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"SRV 10-42-0-8.db.default.svc.cluster.local. 5432", "SRV db-0.db.default.svc.cluster.local. 5432", "SRV db-3.db.default.svc.cluster.local. 5432"},
			[]string{"A 10.42.0.7", "A 10.42.0.8", "A 10.42.1.3"}},
		{"_http._udp.web.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, nil, nil},
		{"ext.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"CNAME example.com."}, nil},
		{"10-1-2-3.default.pod.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.1.2.3"}, nil},
		{"nope.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
		{"default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, nil, nil},
		{"nope.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
		{"cluster.local.", dns.TypeSOA, dns.RcodeSuccess, []string{"SOA ns.dns.cluster.local."}, nil},
		{"20.0.96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"PTR web.default.svc.cluster.local."}, nil},
		{"7.0.42.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"PTR db-0.db.default.svc.cluster.local."}, nil},
		// Not the cluster's: the host's resolver answers.
		{"example.com.", dns.TypeA, dns.RcodeSuccess, []string{"A 93.184.216.34"}, nil},
		{"nothing.example.", dns.TypeA, dns.RcodeNameError, nil, nil},
	} {
		t.Run(tc.name+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
			r := query(t, addr, "udp", tc.name, tc.qtype)
			if r.Rcode != tc.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
			if got := values(r.Answer); !slices.Equal(got, tc.answer) {
				t.Errorf("answer %q, want %q", got, tc.answer)
			}
			if tc.extra != nil {
				if got := values(r.Extra); !slices.Equal(got, tc.extra) {
					t.Errorf("additional %q, want %q", got, tc.extra)
				}
			}
			if len(r.Answer) == 0 && tc.name != "nothing.example." && (len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA) {
				t.Errorf("no answer without the zone's SOA in authority: %v", r.Ns)
			}
		})
	}
}

func TestTCP(t *testing.T) {
	addr := startServer(t)
	r := query(t, addr, "tcp", "web.default.svc.cluster.local.", dns.TypeA)
	if got := values(r.Answer); !slices.Equal(got, []string{"A 10.96.0.20"}) {
		t.Errorf("over TCP: %q", got)
	}
}
