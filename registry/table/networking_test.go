package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

func TestNetworkingColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"ingresses", Ingresses(), []col{str("Name"), str("Class"), str("Hosts"), str("Address"), str("Ports"), str("Age")}},
		{"ingressclasses", IngressClasses(), []col{str("Name"), str("Controller"), str("Parameters"), str("Age")}},
		{"networkpolicies", NetworkPolicies(), []col{str("Name"), str("Pod-Selector"), str("Age")}},
		{"servicecidrs", ServiceCIDRs(), []col{str("Name"), str("CIDRs"), str("Age")}},
		{"ipaddresses", IPAddresses(), []col{str("Name"), str("ParentRef")}},
	})
}

func TestNetworkingCells(t *testing.T) {
	meta := func(name string, annotations map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Annotations: annotations, CreationTimestamp: ago(10 * time.Minute)}
	}
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{{
		name: "ingress",
		tc:   Ingresses(),
		obj: &networkingv1.Ingress{ObjectMeta: meta("web", nil),
			Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("nginx"), Rules: []networkingv1.IngressRule{{Host: "a.example.com"}, {}, {Host: "b.example.com"}},
				TLS: []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}}}},
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
				{IP: "203.0.113.9"}, {Hostname: "lb.example.com"}, {IP: "198.51.100.20"}, {IP: "203.0.113.9"}, {},
			}}}},
		want: []interface{}{"web", "nginx", "a.example.com,b.example.com", "198.51.100.20,203.0.113.9,lb.example.com", "80, 443", "10m"},
	}, {
		name: "empty ingress",
		tc:   Ingresses(),
		obj:  &networkingv1.Ingress{ObjectMeta: meta("web", nil)},
		want: []interface{}{"web", "<none>", "*", "", "80", "10m"},
	}, {
		name: "ingress class marked default with parameters",
		tc:   IngressClasses(),
		obj: &networkingv1.IngressClass{ObjectMeta: meta("nginx", map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}),
			Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr.To("k8s.example.com"), Kind: "IngressParameters", Name: "external-lb"}}},
		want: []interface{}{"nginx (default)", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "10m"},
	}, {
		name: "ingress class with core parameters, default annotation not true",
		tc:   IngressClasses(),
		obj: &networkingv1.IngressClass{ObjectMeta: meta("nginx", map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "True"}),
			Spec: networkingv1.IngressClassSpec{Controller: "c", Parameters: &networkingv1.IngressClassParametersReference{Kind: "ConfigMap", Name: "cfg"}}},
		want: []interface{}{"nginx", "c", "ConfigMap/cfg", "10m"},
	}, {
		name: "ingress class without parameters",
		tc:   IngressClasses(),
		obj:  &networkingv1.IngressClass{ObjectMeta: meta("plain", nil), Spec: networkingv1.IngressClassSpec{Controller: "c"}},
		want: []interface{}{"plain", "c", "<none>", "10m"},
	}, {
		name: "network policy",
		tc:   NetworkPolicies(),
		obj: &networkingv1.NetworkPolicy{ObjectMeta: meta("deny", nil), Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{
			MatchLabels: map[string]string{"role": "db"}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpExists}}}}},
		want: []interface{}{"deny", "env,role=db", "10m"},
	}, {
		name: "network policy selecting all pods",
		tc:   NetworkPolicies(),
		obj:  &networkingv1.NetworkPolicy{ObjectMeta: meta("deny-all", nil)},
		want: []interface{}{"deny-all", "<none>", "10m"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, tt.tc, tt.obj)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIngressHosts(t *testing.T) {
	rules := func(hosts ...string) []networkingv1.IngressRule {
		var rs []networkingv1.IngressRule
		for _, h := range hosts {
			rs = append(rs, networkingv1.IngressRule{Host: h})
		}
		return rs
	}
	tests := []struct {
		name  string
		rules []networkingv1.IngressRule
		want  string
	}{
		{"no rules", nil, "*"},
		{"rules without hosts", rules("", ""), "*"},
		{"three hosts", rules("a", "b", "c"), "a,b,c"},
		{"hostless rules are skipped", rules("", "a", "", "b", "c"), "a,b,c"},
		{"more counts every further rule", rules("a", "b", "c", "", "d"), "a,b,c + 2 more..."},
		{"a hostless rule after three hosts is more", rules("a", "b", "c", ""), "a,b,c + 1 more..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ingressHosts(tt.rules); got != tt.want {
				t.Errorf("ingressHosts = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestServiceCIDRAndIPAddressCells(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, CreationTimestamp: ago(3 * time.Hour)}
	}
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{{
		name: "dual-stack service CIDR",
		tc:   ServiceCIDRs(),
		obj:  &networkingv1.ServiceCIDR{ObjectMeta: meta("kubernetes"), Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/16", "fd00::/108"}}},
		want: []interface{}{"kubernetes", "10.96.0.0/16,fd00::/108", "3h"},
	}, {
		name: "service address",
		tc:   IPAddresses(),
		obj: &networkingv1.IPAddress{ObjectMeta: meta("10.96.0.10"), Spec: networkingv1.IPAddressSpec{
			ParentRef: &networkingv1.ParentReference{Resource: "services", Namespace: "kube-system", Name: "kube-dns"}}},
		want: []interface{}{"10.96.0.10", "services/kube-system/kube-dns"},
	}, {
		name: "cluster-scoped parent in a group",
		tc:   IPAddresses(),
		obj: &networkingv1.IPAddress{ObjectMeta: meta("fd00::1"), Spec: networkingv1.IPAddressSpec{
			ParentRef: &networkingv1.ParentReference{Group: "Gateway.example.com", Resource: "Gateways", Name: "gw"}}},
		want: []interface{}{"fd00::1", "gateways.gateway.example.com/gw"},
	}, {
		name: "no parent",
		tc:   IPAddresses(),
		obj:  &networkingv1.IPAddress{ObjectMeta: meta("10.0.0.1")},
		want: []interface{}{"10.0.0.1", "<none>"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, rowOf(t, tt.tc, tt.obj).Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
