package defaults

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// NetworkPolicy defaults a networking.k8s.io/v1 network policy: with no
// policyTypes it gets Ingress, plus Egress when it has egress rules; every
// ingress and egress port without a protocol gets TCP.
func NetworkPolicy(np *networkingv1.NetworkPolicy) {
	spec := &np.Spec
	if len(spec.PolicyTypes) == 0 {
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(spec.Egress) > 0 {
			spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	for i := range spec.Ingress {
		policyPorts(spec.Ingress[i].Ports)
	}
	for i := range spec.Egress {
		policyPorts(spec.Egress[i].Ports)
	}
}

// policyPorts sets protocol TCP on every port that has none.
func policyPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		setIfNil(&ports[i].Protocol, corev1.ProtocolTCP)
	}
}

// IngressClass defaults a networking.k8s.io/v1 ingress class: parameters
// without a scope get scope Cluster.
func IngressClass(ic *networkingv1.IngressClass) {
	if p := ic.Spec.Parameters; p != nil {
		setIfNil(&p.Scope, networkingv1.IngressClassParametersReferenceScopeCluster)
	}
}
