package proxy

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const testNode = "node-a"

// svc is a ClusterIP Service with ports "name:port/PROTO" (name optional).
func svc(ns, name, clusterIP string, ports ...string) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP}},
	}
	for _, p := range ports {
		sp := corev1.ServicePort{Protocol: corev1.ProtocolTCP}
		if n, rest, ok := strings.Cut(p, ":"); ok {
			sp.Name, p = n, rest
		}
		if num, proto, ok := strings.Cut(p, "/"); ok {
			p, sp.Protocol = num, corev1.Protocol(proto)
		}
		fmt.Sscan(p, &sp.Port)
		s.Spec.Ports = append(s.Spec.Ports, sp)
	}
	return s
}

// ep describes an endpoint: "ip[@node][,unready][,terminating][,notserving]".
type ep string

// slice is the EndpointSlice of a Service with one port (name, number,
// protocol) and endpoints.
func slice(s *corev1.Service, portName string, port int32, proto corev1.Protocol, eps ...ep) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name + "-" + portName + fmt.Sprint(port),
			Labels: map[string]string{discoveryv1.LabelServiceName: s.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Port: ptr.To(port), Protocol: ptr.To(proto)}},
	}
	for _, e := range eps {
		parts := strings.Split(string(e), ",")
		ip, node, _ := strings.Cut(parts[0], "@")
		if node == "" {
			node = "node-b"
		}
		d := discoveryv1.Endpoint{Addresses: []string{ip}, NodeName: ptr.To(node)}
		for _, f := range parts[1:] {
			switch f {
			case "unready":
				d.Conditions.Ready = ptr.To(false)
			case "terminating":
				d.Conditions.Ready, d.Conditions.Terminating = ptr.To(false), ptr.To(true)
			case "notserving":
				d.Conditions.Serving = ptr.To(false)
			}
		}
		es.Endpoints = append(es.Endpoints, d)
	}
	return es
}
