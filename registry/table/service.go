package table

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/registry/rest"
)

// maxEndpoints is how many addresses the Endpoints cell lists before it
// summarizes the rest as "+ N more...".
const maxEndpoints = 3

// Services returns the table convertor for services: Name, Type, Cluster-IP,
// External-IP, Port(s), Age, and wide Selector.
//
// External-IP is "<none>" for ClusterIP and NodePort services without
// spec.externalIPs, the load balancer ingress addresses (then the external
// IPs) or "<pending>" for LoadBalancer services, and the external name for
// ExternalName services. Port(s) reads like "80/TCP,443:30443/TCP".
func Services() rest.TableConvertor {
	spec := corev1.ServiceSpec{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Type", spec["type"]),
		column("Cluster-IP", spec["clusterIP"]),
		column("External-IP", spec["externalIPs"]),
		column("Port(s)", spec["ports"]),
		ageColumn(),
		wide(column("Selector", spec["selector"])),
	}
	return newConvertor(columns, cells(serviceCells))
}

func serviceCells(svc *corev1.Service, now time.Time) []interface{} {
	clusterIP := svc.Spec.ClusterIP
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	return []interface{}{
		svc.Name,
		string(svc.Spec.Type),
		orNone(clusterIP),
		serviceExternalIP(svc),
		orNone(servicePorts(svc.Spec.Ports)),
		age(svc.CreationTimestamp, now),
		labels.FormatLabels(svc.Spec.Selector),
	}
}

// serviceExternalIP is the External-IP cell.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		ips := append(loadBalancerAddresses(svc.Status.LoadBalancer), svc.Spec.ExternalIPs...)
		if len(ips) == 0 {
			return "<pending>"
		}
		return strings.Join(ips, ",")
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerAddresses returns the sorted, distinct ingress points of a load
// balancer, each its IP or else its hostname.
func loadBalancerAddresses(lb corev1.LoadBalancerStatus) []string {
	var addrs []string
	for _, in := range lb.Ingress {
		switch {
		case in.IP != "":
			addrs = append(addrs, in.IP)
		case in.Hostname != "":
			addrs = append(addrs, in.Hostname)
		}
	}
	slices.Sort(addrs)
	return slices.Compact(addrs)
}

// servicePorts formats ports as "port/protocol" or "port:nodePort/protocol",
// comma separated.
func servicePorts(ports []corev1.ServicePort) string {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		if p.NodePort > 0 {
			parts = append(parts, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		} else {
			parts = append(parts, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
	}
	return strings.Join(parts, ",")
}

// Endpoints returns the table convertor for endpoints: Name, Endpoints, Age.
//
// The Endpoints cell lists up to three "ip:port" pairs (bare IPs for subsets
// without ports), then "+ N more..."; it is "<none>" without subsets.
func Endpoints() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Endpoints", corev1.Endpoints{}.SwaggerDoc()["subsets"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(ep *corev1.Endpoints, now time.Time) []interface{} {
		return []interface{}{ep.Name, endpointsCell(ep.Subsets), age(ep.CreationTimestamp, now)}
	}))
}

// endpointsCell is the Endpoints cell for these subsets.
func endpointsCell(subsets []corev1.EndpointSubset) string {
	if len(subsets) == 0 {
		return "<none>"
	}
	var shown []string
	total := 0
	show := func(s string) {
		total++
		if len(shown) < maxEndpoints {
			shown = append(shown, s)
		}
	}
	for _, ss := range subsets {
		if len(ss.Ports) == 0 {
			for _, a := range ss.Addresses {
				show(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				show(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	cell := strings.Join(shown, ",")
	if total > maxEndpoints {
		cell += fmt.Sprintf(" + %d more...", total-maxEndpoints)
	}
	return cell
}
