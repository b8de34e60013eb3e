package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestNetworkPolicy(t *testing.T) {
	port := intstr.FromInt32(53)
	ports := func(proto *corev1.Protocol) []networkingv1.NetworkPolicyPort {
		return []networkingv1.NetworkPolicyPort{{Port: &port, Protocol: proto}}
	}
	ingress := networkingv1.PolicyTypeIngress
	egress := networkingv1.PolicyTypeEgress
	runCases(t, NetworkPolicy, []defaultCase[networkingv1.NetworkPolicy]{{
		name: "empty policy is an ingress policy",
		in:   networkingv1.NetworkPolicy{},
		want: networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{ingress}}},
	}, {
		name: "egress rules add Egress, ports get TCP",
		in: networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: ports(nil)}},
			Egress:  []networkingv1.NetworkPolicyEgressRule{{Ports: ports(nil)}},
		}},
		want: networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: ports(new(corev1.ProtocolTCP))}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: ports(new(corev1.ProtocolTCP))}},
			PolicyTypes: []networkingv1.PolicyType{ingress, egress},
		}},
	}, {
		name: "policy types and protocols kept",
		in: networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: ports(new(corev1.ProtocolUDP))}},
			PolicyTypes: []networkingv1.PolicyType{egress},
		}},
		want: networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: ports(new(corev1.ProtocolUDP))}},
			PolicyTypes: []networkingv1.PolicyType{egress},
		}},
	}})
}

func TestIngressClass(t *testing.T) {
	params := func(scope *string) *networkingv1.IngressClassParametersReference {
		return &networkingv1.IngressClassParametersReference{Kind: "Config", Name: "c", Scope: scope}
	}
	runCases(t, IngressClass, []defaultCase[networkingv1.IngressClass]{{
		name: "no parameters, nothing to do",
		in:   networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Controller: "example.com/ingress"}},
		want: networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Controller: "example.com/ingress"}},
	}, {
		name: "parameters get scope Cluster",
		in:   networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Parameters: params(nil)}},
		want: networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Parameters: params(new("Cluster"))}},
	}, {
		name: "scope kept",
		in:   networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Parameters: params(new("Namespace"))}},
		want: networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Parameters: params(new("Namespace"))}},
	}})
}
