package table

import (
	"fmt"
	"slices"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

// maxIngressHosts is how many hosts the Hosts cell of an ingress lists.
const maxIngressHosts = 3

// Ingresses returns the table convertor for ingresses: Name, Class, Hosts,
// Address, Ports, Age.
//
// Class is the ingress class name or "<none>". Hosts lists the hosts of the
// first three rules that name one, then "+ N more..." counting every further
// rule, or "*" when no rule names a host. Address lists the sorted, distinct
// load balancer IPs or else hostnames. Ports is "80, 443" when the ingress
// has TLS settings and "80" otherwise.
func Ingresses() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Class", "The name of the IngressClass resource that should be used for additional configuration"),
		column("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
		column("Address", "Address is a list containing ingress points for the load-balancer"),
		column("Ports", "Ports of TLS configurations that open"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(in *networkingv1.Ingress, now time.Time) []interface{} {
		class := "<none>"
		if in.Spec.IngressClassName != nil {
			class = *in.Spec.IngressClassName
		}
		ports := "80"
		if len(in.Spec.TLS) > 0 {
			ports = "80, 443"
		}
		return []interface{}{in.Name, class, ingressHosts(in.Spec.Rules), ingressAddress(in.Status.LoadBalancer), ports, age(in.CreationTimestamp, now)}
	}))
}

// ingressHosts is the Hosts cell. Like upstream, once three hosts are listed
// the remainder counts all further rules, with or without a host.
func ingressHosts(rules []networkingv1.IngressRule) string {
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == maxIngressHosts {
			more = true
			break
		}
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	switch {
	case len(hosts) == 0:
		return "*"
	case more:
		return fmt.Sprintf("%s + %d more...", strings.Join(hosts, ","), len(rules)-maxIngressHosts)
	default:
		return strings.Join(hosts, ",")
	}
}

// ingressAddress is the Address cell: the sorted, distinct ingress points,
// each its IP or else its hostname. Tables are always built wide, so the
// list is not clipped.
func ingressAddress(lb networkingv1.IngressLoadBalancerStatus) string {
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
	return strings.Join(slices.Compact(addrs), ",")
}

// IngressClasses returns the table convertor for ingress classes: Name,
// Controller, Parameters, Age.
//
// The name of a class annotated as the default gets " (default)". Parameters
// reads "Kind.apiGroup/name" ("Kind/name" without an API group) or "<none>".
func IngressClasses() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Controller", "Controller that is responsible for handling this class"),
		column("Parameters", "A reference to a resource with additional parameters"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(ic *networkingv1.IngressClass, now time.Time) []interface{} {
		name := ic.Name
		if ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
			name += " (default)"
		}
		params := "<none>"
		if p := ic.Spec.Parameters; p != nil {
			params = p.Kind
			if p.APIGroup != nil {
				params += "." + *p.APIGroup
			}
			params += "/" + p.Name
		}
		return []interface{}{name, ic.Spec.Controller, params, age(ic.CreationTimestamp, now)}
	}))
}

// NetworkPolicies returns the table convertor for network policies: Name,
// Pod-Selector ("<none>" when it selects every pod), Age.
func NetworkPolicies() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Pod-Selector", networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(np *networkingv1.NetworkPolicy, now time.Time) []interface{} {
		return []interface{}{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), age(np.CreationTimestamp, now)}
	}))
}

// ServiceCIDRs returns the table convertor for service CIDRs: Name, CIDRs
// (comma-separated), Age.
func ServiceCIDRs() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("CIDRs", networkingv1.ServiceCIDRSpec{}.SwaggerDoc()["cidrs"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(c *networkingv1.ServiceCIDR, now time.Time) []interface{} {
		return []interface{}{c.Name, strings.Join(c.Spec.CIDRs, ","), age(c.CreationTimestamp, now)}
	}))
}

// IPAddresses returns the table convertor for IP addresses: Name, ParentRef.
//
// ParentRef reads "resource.group/namespace/name" in lower case, without the
// namespace for a cluster-scoped parent, or "<none>". Upstream's printer
// also computes an age but declares no column for it; kubectl shows the two
// declared columns, and so do these rows.
func IPAddresses() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("ParentRef", networkingv1.IPAddressSpec{}.SwaggerDoc()["parentRef"]),
	}
	return newConvertor(columns, cells(func(ip *networkingv1.IPAddress, now time.Time) []interface{} {
		return []interface{}{ip.Name, ipAddressParent(ip.Spec.ParentRef)}
	}))
}

func ipAddressParent(ref *networkingv1.ParentReference) string {
	if ref == nil {
		return "<none>"
	}
	s := strings.ToLower(schema.GroupResource{Group: ref.Group, Resource: ref.Resource}.String())
	if ref.Namespace != "" {
		s += "/" + ref.Namespace
	}
	return s + "/" + ref.Name
}
