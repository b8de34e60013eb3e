// Package dns is kubelite's cluster DNS: the names of Kubernetes' DNS
// specification (https://github.com/kubernetes/dns/blob/master/docs/specification.md),
// answered from Service and EndpointSlice informers, with every other name
// forwarded to the host's resolvers. It plays the part that CoreDNS and its
// kubernetes plugin play in an upstream cluster, at the address pods'
// /etc/resolv.conf names.
//
// Records, for the cluster domain D (cluster.local):
//   - <svc>.<ns>.svc.D: A/AAAA of a Service's cluster IPs; of a headless
//     Service, its ready endpoints' addresses; CNAME of an ExternalName.
//   - <host>.<svc>.<ns>.svc.D: A/AAAA of a headless Service's endpoint, by the
//     endpoint's hostname or else its address with dashes (1-2-3-4).
//   - _<port>._<proto>.<svc>.<ns>.svc.D: SRV of each named port: the Service's
//     name, or each endpoint's name for a headless Service.
//   - <a-b-c-d>.<ns>.pod.D: A of the address in the name (as CoreDNS's
//     "pods insecure").
//   - PTR of Services' cluster IPs and of named headless endpoints.
//
// Other names in D are NXDOMAIN (with D's SOA); names outside it, and
// reverse names it does not know, go to the upstream resolvers.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// DefaultTTL is the TTL of cluster records, as the kubernetes plugin in
// upstream's default Corefile (`ttl 30`).
const DefaultTTL = 30

// Config configures a Server. Zero values take the defaults in the comments.
type Config struct {
	// Domain is the cluster domain. Empty: cluster.local.
	Domain string
	// Services and EndpointSlices are the informers the answers come from.
	// Required.
	Services       coreinformers.ServiceInformer
	EndpointSlices discoveryinformers.EndpointSliceInformer
	// Upstream are the resolvers ("host:port") other names go to. Empty:
	// nothing is forwarded (SERVFAIL).
	Upstream []string
	// TTL of cluster records, in seconds. Zero: DefaultTTL.
	TTL uint32
}

// Validate reports a config New cannot use.
func (c Config) Validate() error {
	if c.Services == nil || c.EndpointSlices == nil {
		return errors.New("dns: Services and EndpointSlices informers are required")
	}
	return nil
}

// Server answers DNS queries. Build it with New; serve it with Serve, or
// call ServeDNS from a dns.Server of your own.
type Server struct {
	domain   string // "cluster.local." (fully qualified, lower case)
	ttl      uint32
	upstream []string
	services cache.Indexer
	slices   cache.Indexer
	synced   []cache.InformerSynced
	client   *dns.Client
}

const (
	byClusterIP = "dns.kubelite.io/cluster-ip"
	byService   = "dns.kubelite.io/service"
	byAddress   = "dns.kubelite.io/address"
)

// New validates cfg and returns a server on its informers, which the caller
// starts.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		domain:   dns.Fqdn(strings.ToLower(cfg.Domain)),
		ttl:      cfg.TTL,
		upstream: cfg.Upstream,
		client:   &dns.Client{Timeout: 2 * time.Second},
	}
	if cfg.Domain == "" {
		s.domain = "cluster.local."
	}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	svc := cfg.Services.Informer()
	if err := addIndex(svc, byClusterIP, func(obj any) ([]string, error) {
		if svc, ok := obj.(*corev1.Service); ok && hasClusterIP(svc) {
			return svc.Spec.ClusterIPs, nil
		}
		return nil, nil
	}); err != nil {
		return nil, err
	}
	sl := cfg.EndpointSlices.Informer()
	if err := addIndex(sl, byService, func(obj any) ([]string, error) {
		if es, ok := obj.(*discoveryv1.EndpointSlice); ok && es.Labels[discoveryv1.LabelServiceName] != "" {
			return []string{es.Namespace + "/" + es.Labels[discoveryv1.LabelServiceName]}, nil
		}
		return nil, nil
	}); err != nil {
		return nil, err
	}
	if err := addIndex(sl, byAddress, func(obj any) ([]string, error) {
		es, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return nil, nil
		}
		var ips []string
		for _, ep := range es.Endpoints {
			ips = append(ips, ep.Addresses...)
		}
		return ips, nil
	}); err != nil {
		return nil, err
	}
	s.services, s.slices = svc.GetIndexer(), sl.GetIndexer()
	s.synced = []cache.InformerSynced{svc.HasSynced, sl.HasSynced}
	return s, nil
}

func addIndex(i cache.SharedIndexInformer, name string, f cache.IndexFunc) error {
	if _, ok := i.GetIndexer().GetIndexers()[name]; ok {
		return nil
	}
	if err := i.AddIndexers(cache.Indexers{name: f}); err != nil {
		return fmt.Errorf("dns: index %s: %w", name, err)
	}
	return nil
}

// Serve answers on addr over UDP and TCP until ctx ends. It waits for the
// informers' caches first. ready, when set, is called once both listen.
func (s *Server) Serve(ctx context.Context, addr string, ready func(udp, tcp net.Addr)) error {
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return ctx.Err()
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return fmt.Errorf("dns: %w", err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: l, Handler: s}
	errc := make(chan error, 2)
	go func() { errc <- udp.ActivateAndServe() }()
	go func() { errc <- tcp.ActivateAndServe() }()
	if ready != nil {
		ready(pc.LocalAddr(), l.Addr())
	}
	select {
	case <-ctx.Done():
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
		return nil
	case err := <-errc:
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
		return fmt.Errorf("dns: %w", err)
	}
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNotImplemented)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	var m *dns.Msg
	switch {
	case dns.IsSubDomain(s.domain, name):
		m = s.answer(req, name, q.Qtype)
	case q.Qtype == dns.TypePTR && (strings.HasSuffix(name, ".in-addr.arpa.") || strings.HasSuffix(name, ".ip6.arpa.")):
		if m = s.reverse(req, name); m == nil {
			m = s.forward(req)
		}
	default:
		m = s.forward(req)
	}
	if _, tcp := w.RemoteAddr().(*net.TCPAddr); !tcp {
		size := uint16(dns.MinMsgSize)
		if opt := req.IsEdns0(); opt != nil {
			size = max(opt.UDPSize(), size)
		}
		m.Truncate(int(size))
	}
	_ = w.WriteMsg(m)
}

// answer answers a name in the cluster domain.
func (s *Server) answer(req *dns.Msg, name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	labels := dns.SplitDomainName(strings.TrimSuffix(name, s.domain))
	var rrs []dns.RR
	found := false
	switch {
	case len(labels) == 0:
		// The zone's apex.
		found = true
		if qtype == dns.TypeSOA {
			rrs = []dns.RR{s.soa()}
		}
	case labels[len(labels)-1] == "svc":
		rrs, found = s.service(name, labels[:len(labels)-1], qtype)
	case labels[len(labels)-1] == "pod" && len(labels) == 3:
		rrs, found = s.pod(name, labels[0], qtype)
	case labels[len(labels)-1] == "pod" && len(labels) < 3:
		found = true
	}
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	m.Answer = rrs
	if len(rrs) == 0 {
		m.Ns = []dns.RR{s.soa()}
	}
	for _, rr := range rrs {
		if srv, ok := rr.(*dns.SRV); ok {
			m.Extra = append(m.Extra, s.addressesOf(srv.Target)...)
		}
	}
	return m
}

// service answers <...>.svc.D, labels being what precedes "svc".
func (s *Server) service(name string, labels []string, qtype uint16) ([]dns.RR, bool) {
	switch len(labels) {
	case 0:
		return nil, true
	case 1:
		// A namespace: it has no records of its own.
		return nil, s.namespaceHasServices(labels[0])
	case 2:
		svc := s.lookupService(labels[1], labels[0])
		if svc == nil {
			return nil, false
		}
		return s.serviceRecords(name, svc, qtype), true
	case 3:
		svc := s.lookupService(labels[2], labels[1])
		if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
			return nil, false
		}
		if !hasClusterIP(svc) {
			// <host>.<svc>.<ns>.svc.D: one endpoint of a headless Service.
			var rrs []dns.RR
			for _, ep := range s.endpoints(svc) {
				if endpointName(ep) == labels[0] {
					rrs = append(rrs, addressRecords(name, ep.Addresses, qtype, s.ttl)...)
				}
			}
			return rrs, len(rrs) > 0 || s.hasEndpointNamed(svc, labels[0])
		}
		return nil, false
	case 4:
		// _<port>._<proto>.<svc>.<ns>.svc.D
		if !strings.HasPrefix(labels[0], "_") || !strings.HasPrefix(labels[1], "_") {
			return nil, false
		}
		svc := s.lookupService(labels[3], labels[2])
		if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
			return nil, false
		}
		port, proto := labels[0][1:], strings.ToUpper(labels[1][1:])
		var rrs []dns.RR
		found := false
		base := svc.Name + "." + svc.Namespace + ".svc." + s.domain
		for _, p := range svc.Spec.Ports {
			if p.Name != port || string(p.Protocol) != proto {
				continue
			}
			found = true
			if qtype != dns.TypeSRV && qtype != dns.TypeANY {
				continue
			}
			if hasClusterIP(svc) {
				rrs = append(rrs, s.srv(name, base, uint16(p.Port), 100))
				continue
			}
			eps := s.endpoints(svc)
			for _, ep := range eps {
				if n := endpointPort(s.slicePorts(svc), port, p.Protocol); n != 0 {
					rrs = append(rrs, s.srv(name, endpointName(ep)+"."+base, uint16(n), uint16(100/len(eps))))
				}
			}
		}
		return rrs, found
	}
	return nil, false
}

func (s *Server) serviceRecords(name string, svc *corev1.Service, qtype uint16) []dns.RR {
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		if qtype == dns.TypeSOA || qtype == dns.TypeSRV {
			return nil
		}
		return []dns.RR{&dns.CNAME{Hdr: s.hdr(name, dns.TypeCNAME), Target: dns.Fqdn(svc.Spec.ExternalName)}}
	case hasClusterIP(svc):
		return addressRecords(name, svc.Spec.ClusterIPs, qtype, s.ttl)
	}
	var rrs []dns.RR
	for _, ep := range s.endpoints(svc) {
		rrs = append(rrs, addressRecords(name, ep.Addresses, qtype, s.ttl)...)
	}
	return rrs
}

// pod answers <a-b-c-d>.<ns>.pod.D.
func (s *Server) pod(name, label string, qtype uint16) ([]dns.RR, bool) {
	ip := net.ParseIP(strings.ReplaceAll(label, "-", "."))
	if ip == nil || ip.To4() == nil {
		ip = net.ParseIP(strings.ReplaceAll(label, "-", ":"))
	}
	if ip == nil {
		return nil, false
	}
	return addressRecords(name, []string{ip.String()}, qtype, s.ttl), true
}

// reverse answers a PTR of a Service's cluster IP or of a named endpoint of
// a headless Service, or returns nil when it knows neither.
func (s *Server) reverse(req *dns.Msg, name string) *dns.Msg {
	ip := reverseIP(name)
	if ip == "" {
		return nil
	}
	var targets []string
	if objs, _ := s.services.ByIndex(byClusterIP, ip); len(objs) > 0 {
		svc := objs[0].(*corev1.Service)
		targets = append(targets, svc.Name+"."+svc.Namespace+".svc."+s.domain)
	}
	objs, _ := s.slices.ByIndex(byAddress, ip)
	for _, obj := range objs {
		es := obj.(*discoveryv1.EndpointSlice)
		svc := s.lookupService(es.Namespace, es.Labels[discoveryv1.LabelServiceName])
		if svc == nil || hasClusterIP(svc) {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Hostname != nil && contains(ep.Addresses, ip) {
				targets = append(targets, *ep.Hostname+"."+svc.Name+"."+svc.Namespace+".svc."+s.domain)
			}
		}
	}
	if len(targets) == 0 {
		return nil
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	for _, t := range targets {
		m.Answer = append(m.Answer, &dns.PTR{Hdr: s.hdr(req.Question[0].Name, dns.TypePTR), Ptr: t})
	}
	return m
}

// forward asks the upstream resolvers, in turn.
func (s *Server) forward(req *dns.Msg) *dns.Msg {
	for _, up := range s.upstream {
		resp, _, err := s.client.Exchange(req, up)
		if err == nil && resp != nil {
			resp.Id = req.Id
			return resp
		}
		klog.V(4).InfoS("DNS upstream failed", "upstream", up, "err", err)
	}
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeServerFailure)
	return m
}

func (s *Server) lookupService(namespace, name string) *corev1.Service {
	obj, ok, err := s.services.GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil
	}
	return obj.(*corev1.Service)
}

func (s *Server) namespaceHasServices(namespace string) bool {
	keys, err := s.services.IndexKeys(cache.NamespaceIndex, namespace)
	return err == nil && len(keys) > 0
}

// endpoints are a Service's ready endpoints, from all its slices, each
// address once.
func (s *Server) endpoints(svc *corev1.Service) []discoveryv1.Endpoint {
	objs, _ := s.slices.ByIndex(byService, svc.Namespace+"/"+svc.Name)
	seen := map[string]bool{}
	var eps []discoveryv1.Endpoint
	for _, obj := range objs {
		for _, ep := range obj.(*discoveryv1.EndpointSlice).Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready || len(ep.Addresses) == 0 || seen[ep.Addresses[0]] {
				continue
			}
			seen[ep.Addresses[0]] = true
			eps = append(eps, ep)
		}
	}
	return eps
}

func (s *Server) hasEndpointNamed(svc *corev1.Service, name string) bool {
	for _, ep := range s.endpoints(svc) {
		if endpointName(ep) == name {
			return true
		}
	}
	return false
}

func (s *Server) slicePorts(svc *corev1.Service) []discoveryv1.EndpointPort {
	objs, _ := s.slices.ByIndex(byService, svc.Namespace+"/"+svc.Name)
	var ports []discoveryv1.EndpointPort
	for _, obj := range objs {
		ports = append(ports, obj.(*discoveryv1.EndpointSlice).Ports...)
	}
	return ports
}

// addressesOf are the A/AAAA records of an SRV target, for the additional
// section.
func (s *Server) addressesOf(target string) []dns.RR {
	labels := dns.SplitDomainName(strings.TrimSuffix(target, s.domain))
	if len(labels) < 3 || labels[len(labels)-1] != "svc" {
		return nil
	}
	var rrs []dns.RR
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		r, _ := s.service(target, labels[:len(labels)-1], t)
		rrs = append(rrs, r...)
	}
	return rrs
}

func (s *Server) srv(name, target string, port, weight uint16) dns.RR {
	return &dns.SRV{Hdr: s.hdr(name, dns.TypeSRV), Priority: 0, Weight: weight, Port: port, Target: target}
}

func (s *Server) soa() dns.RR {
	return &dns.SOA{
		Hdr: s.hdr(s.domain, dns.TypeSOA), Ns: "ns.dns." + s.domain, Mbox: "hostmaster." + s.domain,
		Serial: uint32(time.Now().Unix()), Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: s.ttl,
	}
}

func (s *Server) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: s.ttl}
}

// addressRecords are the A (or AAAA) records of the addresses of the family
// qtype asks for.
func addressRecords(name string, addrs []string, qtype uint16, ttl uint32) []dns.RR {
	var rrs []dns.RR
	for _, a := range addrs {
		ip := net.ParseIP(a)
		switch {
		case ip == nil:
		case ip.To4() != nil && (qtype == dns.TypeA || qtype == dns.TypeANY):
			rrs = append(rrs, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: ip.To4()})
		case ip.To4() == nil && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
			rrs = append(rrs, &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: ip})
		}
	}
	return rrs
}

// endpointName is an endpoint's name under its headless Service: its
// hostname, or else its address with dashes.
func endpointName(ep discoveryv1.Endpoint) string {
	if ep.Hostname != nil && *ep.Hostname != "" {
		return *ep.Hostname
	}
	return strings.NewReplacer(".", "-", ":", "-").Replace(ep.Addresses[0])
}

func endpointPort(ports []discoveryv1.EndpointPort, name string, proto corev1.Protocol) int32 {
	for _, p := range ports {
		if p.Name != nil && *p.Name == name && p.Port != nil && (p.Protocol == nil || *p.Protocol == proto) {
			return *p.Port
		}
	}
	return 0
}

func hasClusterIP(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone && svc.Spec.Type != corev1.ServiceTypeExternalName
}

// reverseIP is the address a PTR name stands for, or "".
func reverseIP(name string) string {
	name = strings.TrimSuffix(name, ".")
	switch {
	case strings.HasSuffix(name, ".in-addr.arpa"):
		parts := strings.Split(strings.TrimSuffix(name, ".in-addr.arpa"), ".")
		if len(parts) != 4 {
			return ""
		}
		for i, j := 0, 3; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		if ip := net.ParseIP(strings.Join(parts, ".")); ip != nil {
			return ip.String()
		}
	case strings.HasSuffix(name, ".ip6.arpa"):
		nibbles := strings.Split(strings.TrimSuffix(name, ".ip6.arpa"), ".")
		if len(nibbles) != 32 {
			return ""
		}
		var b strings.Builder
		for i := 31; i >= 0; i-- {
			b.WriteString(nibbles[i])
			if i%4 == 0 && i > 0 {
				b.WriteByte(':')
			}
		}
		if ip := net.ParseIP(b.String()); ip != nil {
			return ip.String()
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// HostResolvers are the name servers of a resolv.conf ("host:53"), for
// Config.Upstream.
func HostResolvers(path string) ([]string, error) {
	conf, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range conf.Servers {
		out = append(out, net.JoinHostPort(s, strconv.Itoa(53)))
	}
	return out, nil
}
