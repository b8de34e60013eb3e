package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestServiceCells(t *testing.T) {
	lb := func(ingress ...corev1.LoadBalancerIngress) corev1.ServiceStatus {
		return corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress}}
	}
	tests := []struct {
		name   string
		spec   corev1.ServiceSpec
		status corev1.ServiceStatus
		want   []interface{}
	}{{
		name: "cluster IP",
		spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00::10"},
			Ports:    []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolUDP}, {Port: 53, Protocol: corev1.ProtocolTCP}},
			Selector: map[string]string{"k8s-app": "kube-dns", "app": "dns"}},
		want: []interface{}{"svc", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "5m", "app=dns,k8s-app=kube-dns"},
	}, {
		name: "headless without ports or selector",
		spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"}},
		want: []interface{}{"svc", "ClusterIP", "None", "<none>", "<none>", "5m", "<none>"},
	}, {
		name: "cluster IP only in the singular field",
		spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1"},
		want: []interface{}{"svc", "ClusterIP", "10.96.0.1", "<none>", "<none>", "5m", "<none>"},
	}, {
		name: "no cluster IP",
		spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP},
		want: []interface{}{"svc", "ClusterIP", "<none>", "<none>", "<none>", "5m", "<none>"},
	}, {
		name: "node port with external IPs",
		spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.1.1"}, ExternalIPs: []string{"198.51.100.1", "198.51.100.2"},
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}}},
		want: []interface{}{"svc", "NodePort", "10.96.1.1", "198.51.100.1,198.51.100.2", "80:30080/TCP", "5m", "<none>"},
	}, {
		name: "pending load balancer",
		spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.1.2"},
			Ports: []corev1.ServicePort{{Port: 443, NodePort: 31443, Protocol: corev1.ProtocolTCP}, {Port: 80, Protocol: corev1.ProtocolTCP}}},
		want: []interface{}{"svc", "LoadBalancer", "10.96.1.2", "<pending>", "443:31443/TCP,80/TCP", "5m", "<none>"},
	}, {
		name:   "load balancer ingress sorted, deduplicated, then external IPs",
		spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.1.3"}, ExternalIPs: []string{"198.51.100.9"}},
		status: lb(corev1.LoadBalancerIngress{IP: "203.0.113.9"}, corev1.LoadBalancerIngress{Hostname: "a-very-long-hostname.example.com"}, corev1.LoadBalancerIngress{IP: "203.0.113.9"}, corev1.LoadBalancerIngress{}),
		want:   []interface{}{"svc", "LoadBalancer", "10.96.1.3", "203.0.113.9,a-very-long-hostname.example.com,198.51.100.9", "<none>", "5m", "<none>"},
	}, {
		name: "load balancer with only external IPs",
		spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.1.4"}, ExternalIPs: []string{"198.51.100.7"}},
		want: []interface{}{"svc", "LoadBalancer", "10.96.1.4", "198.51.100.7", "<none>", "5m", "<none>"},
	}, {
		name: "external name",
		spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"},
		want: []interface{}{"svc", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"},
	}, {
		name: "no type",
		spec: corev1.ServiceSpec{ClusterIPs: []string{"10.96.1.5"}},
		want: []interface{}{"svc", "", "10.96.1.5", "<unknown>", "<none>", "5m", "<none>"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc", CreationTimestamp: ago(5 * time.Minute)}, Spec: tt.spec, Status: tt.status}
			row := rowOf(t, Services(), svc)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEndpointsCells(t *testing.T) {
	addrs := func(ips ...string) []corev1.EndpointAddress {
		var as []corev1.EndpointAddress
		for _, ip := range ips {
			as = append(as, corev1.EndpointAddress{IP: ip})
		}
		return as
	}
	ports := func(ps ...int32) []corev1.EndpointPort {
		var eps []corev1.EndpointPort
		for _, p := range ps {
			eps = append(eps, corev1.EndpointPort{Port: p})
		}
		return eps
	}
	tests := []struct {
		name    string
		subsets []corev1.EndpointSubset
		want    string
	}{
		{"no subsets", nil, "<none>"},
		{"subset without addresses", []corev1.EndpointSubset{{Ports: ports(80)}}, ""},
		{"one address", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1"), Ports: ports(8080)}}, "10.0.0.1:8080"},
		{"ipv6", []corev1.EndpointSubset{{Addresses: addrs("fd00::1"), Ports: ports(443)}}, "[fd00::1]:443"},
		{"headless without ports", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2")}}, "10.0.0.1,10.0.0.2"},
		{"exactly three", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3"), Ports: ports(80)}}, "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80"},
		{"ports times addresses, then more", []corev1.EndpointSubset{
			{Addresses: addrs("10.0.0.1", "10.0.0.2"), Ports: ports(80, 443)},
			{Addresses: addrs("10.0.1.1")},
		}, "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "svc", CreationTimestamp: ago(time.Hour)}, Subsets: tt.subsets}
			row := rowOf(t, Endpoints(), ep)
			if diff := cmp.Diff([]interface{}{"svc", tt.want, "60m"}, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
