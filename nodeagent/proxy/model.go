package proxy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/knftables"
)

// servicePort is one port of one Service, in one IP family, as the proxy
// programs it.
type servicePort struct {
	namespace, name string
	// portName names the port; endpoint slices' ports match on it.
	portName string
	protocol corev1.Protocol
	port     int32
	nodePort int32
	// clusterIP is empty for headless Services.
	clusterIP string
	// externalIPs are spec.externalIPs and the load balancer's ingress IPs.
	externalIPs []string
	// affinity is the ClientIP affinity timeout; zero: none.
	affinity time.Duration
	// internalLocal and externalLocal are the traffic policies set to Local.
	internalLocal, externalLocal bool
	endpoints                    []endpoint
}

// endpoint is one address and port backing a service port.
type endpoint struct {
	ip                          string
	port                        int32
	ready, serving, terminating bool
	// local: the endpoint runs on this node.
	local bool
}

func (e endpoint) String() string {
	return netip.AddrPortFrom(netip.MustParseAddr(e.ip), uint16(e.port)).String()
}

// key names the service port in chain names: ns/name/proto/port.
func (sp *servicePort) key() string {
	return fmt.Sprintf("%s/%s/%s/%d", sp.namespace, sp.name, strings.ToLower(string(sp.protocol)), sp.port)
}

// external reports whether the port is reachable from outside the cluster
// (a node port, an external IP or a load balancer IP).
func (sp *servicePort) external() bool { return sp.nodePort != 0 || len(sp.externalIPs) > 0 }

// clusterEndpoints are the endpoints cluster-wide traffic may use: the
// ready ones, else the serving terminating ones.
func (sp *servicePort) clusterEndpoints() []endpoint {
	return pick(sp.endpoints, false)
}

// localEndpoints are this node's endpoints, chosen the same way among them.
func (sp *servicePort) localEndpoints() []endpoint {
	return pick(sp.endpoints, true)
}

func pick(eps []endpoint, localOnly bool) []endpoint {
	var ready, terminating []endpoint
	for _, e := range eps {
		if localOnly && !e.local {
			continue
		}
		switch {
		case e.ready:
			ready = append(ready, e)
		case e.serving && e.terminating:
			terminating = append(terminating, e)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return terminating
}

// servicePorts turns Services and their EndpointSlices into the service
// ports of family on node. slices are keyed by namespace/service name.
func servicePorts(family knftables.Family, node string, services []*corev1.Service, slicesBySvc map[string][]*discoveryv1.EndpointSlice) []*servicePort {
	var out []*servicePort
	for _, svc := range services {
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		clusterIP := ""
		for _, ip := range svc.Spec.ClusterIPs {
			if a, err := netip.ParseAddr(ip); err == nil && inFamily(a, family) {
				clusterIP = a.String()
				break
			}
		}
		var extIPs []string
		for _, ip := range svc.Spec.ExternalIPs {
			if a, err := netip.ParseAddr(ip); err == nil && inFamily(a, family) {
				extIPs = append(extIPs, a.String())
			}
		}
		if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			for _, in := range svc.Status.LoadBalancer.Ingress {
				if in.IPMode != nil && *in.IPMode == corev1.LoadBalancerIPModeProxy {
					continue // the load balancer sends to the node, not to the IP
				}
				if a, err := netip.ParseAddr(in.IP); err == nil && inFamily(a, family) && !slices.Contains(extIPs, a.String()) {
					extIPs = append(extIPs, a.String())
				}
			}
		}
		if clusterIP == "" && len(extIPs) == 0 {
			continue // headless, or not of this family
		}
		var affinity time.Duration
		if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
			affinity = time.Duration(corev1.DefaultClientIPServiceAffinitySeconds) * time.Second
			if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
				affinity = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
			}
		}
		eps := slicesBySvc[svc.Namespace+"/"+svc.Name]
		for _, p := range svc.Spec.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			sp := &servicePort{
				namespace: svc.Namespace, name: svc.Name, portName: p.Name,
				protocol: proto, port: p.Port, clusterIP: clusterIP, externalIPs: extIPs,
				affinity:      affinity,
				internalLocal: svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal,
			}
			if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				sp.nodePort = p.NodePort
			}
			sp.externalLocal = sp.external() && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
			sp.endpoints = endpointsOf(eps, family, node, p.Name, proto)
			out = append(out, sp)
		}
	}
	return out
}

// endpointsOf collects, from a Service's slices of family, the endpoints
// of the port named portName, each address once.
func endpointsOf(eps []*discoveryv1.EndpointSlice, family knftables.Family, node, portName string, proto corev1.Protocol) []endpoint {
	want := discoveryv1.AddressTypeIPv4
	if family == knftables.IPv6Family {
		want = discoveryv1.AddressTypeIPv6
	}
	seen := map[string]bool{}
	var out []endpoint
	for _, es := range eps {
		if es.AddressType != want {
			continue
		}
		var port int32
		for _, p := range es.Ports {
			pp := corev1.ProtocolTCP
			if p.Protocol != nil {
				pp = *p.Protocol
			}
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			if name == portName && pp == proto && p.Port != nil {
				port = *p.Port
				break
			}
		}
		if port <= 0 || port > 65535 {
			continue
		}
		for _, ep := range es.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			a, err := netip.ParseAddr(ep.Addresses[0])
			if err != nil || !inFamily(a, family) {
				continue
			}
			e := endpoint{
				ip:          a.String(),
				port:        port,
				ready:       ep.Conditions.Ready == nil || *ep.Conditions.Ready,
				serving:     ep.Conditions.Serving == nil || *ep.Conditions.Serving,
				terminating: ep.Conditions.Terminating != nil && *ep.Conditions.Terminating,
				local:       ep.NodeName != nil && *ep.NodeName == node,
			}
			if e.terminating {
				// A terminating endpoint is never ready, whatever the slice says.
				e.ready = false
			}
			if seen[e.String()] {
				continue
			}
			seen[e.String()] = true
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b endpoint) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func inFamily(a netip.Addr, family knftables.Family) bool {
	if family == knftables.IPv6Family {
		return a.Is6() && !a.Is4In6()
	}
	return a.Is4()
}
