package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: meta(),
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("nginx"),
			Rules: []networkingv1.IngressRule{{Host: "*.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/api", PathType: ptr(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "1web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
			}}}},
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"*.example.com"}, SecretName: "tls"}},
		},
	}
}

func TestIngress(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(i *networkingv1.Ingress)
		want   []string
	}{
		{name: "valid", mutate: func(*networkingv1.Ingress) {}},
		{name: "rules or default backend", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules = nil },
			want: []string{"FieldValueInvalid spec"}},
		{name: "host is not an IP", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "1.2.3.4" },
			want: []string{"FieldValueInvalid spec.rules[0].host"}},
		{name: "paths", mutate: func(i *networkingv1.Ingress) {
			p := &i.Spec.Rules[0].HTTP.Paths[0]
			p.Path = "/a//b/.."
			p.Backend.Service.Port = networkingv1.ServiceBackendPort{Name: "http", Number: 80}
		}, want: []string{"FieldValueInvalid spec.rules[0].http.paths[0].path", "FieldValueInvalid spec.rules[0].http.paths[0].path", "FieldValueInvalid spec.rules[0].http.paths[0].backend"}},
		{name: "path type", mutate: func(i *networkingv1.Ingress) {
			i.Spec.Rules[0].HTTP.Paths = append(i.Spec.Rules[0].HTTP.Paths,
				networkingv1.HTTPIngressPath{Path: "/", PathType: ptr(networkingv1.PathType("Regex")), Backend: networkingv1.IngressBackend{}},
				networkingv1.HTTPIngressPath{Path: "/"})
		}, want: []string{"FieldValueNotSupported spec.rules[0].http.paths[1].pathType", "FieldValueInvalid spec.rules[0].http.paths[1].backend", "FieldValueRequired spec.rules[0].http.paths[2].pathType"}},
		{name: "resource backend", mutate: func(i *networkingv1.Ingress) {
			i.Spec.DefaultBackend = &networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Kind: "Bucket"}}
		}, want: []string{"FieldValueRequired spec.defaultBackend.resource.name"}},
		{name: "tls and class", mutate: func(i *networkingv1.Ingress) {
			i.Spec.TLS[0].SecretName = "Bad_Name"
			i.Spec.IngressClassName = ptr("Nginx")
		}, want: []string{"FieldValueInvalid spec.tls[0].secretName", "FieldValueInvalid spec.ingressClassName"}},
		{name: "class annotation must match", mutate: func(i *networkingv1.Ingress) {
			i.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
		},
			want: []string{"FieldValueInvalid annotations.kubernetes.io/ingress.class"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := validIngress()
			tc.mutate(i)
			checkErrs(t, Ingress(i), tc.want)
		})
	}
	old := validIngress()
	old.Spec.TLS[0].SecretName = "Bad_Name"
	i := old.DeepCopy()
	i.Spec.Rules[0].Host = "www.example.com"
	checkErrs(t, IngressUpdate(i, old), nil)
	i.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "1.2.3"}, {Hostname: "10.0.0.1"}}
	checkErrs(t, IngressStatusUpdate(i, old), []string{"FieldValueInvalid status.loadBalancer.ingress[0].ip", "FieldValueInvalid status.loadBalancer.ingress[1].hostname"})
}

func TestIngressClass(t *testing.T) {
	ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx", ResourceVersion: "1"}, Spec: networkingv1.IngressClassSpec{
		Controller: "example.com/ingress",
		Parameters: &networkingv1.IngressClassParametersReference{Kind: "Config", Name: "c", Scope: ptr("Namespace"), Namespace: ptr("ops")},
	}}
	checkErrs(t, IngressClass(ic), nil)
	bad := ic.DeepCopy()
	bad.Namespace = "default"
	bad.Spec.Controller = "nginx"
	bad.Spec.Parameters.Scope = ptr("Cluster")
	checkErrs(t, IngressClass(bad), []string{"FieldValueForbidden metadata.namespace", "FieldValueInvalid spec.controller", "FieldValueForbidden spec.parameters.namespace"})
	upd := ic.DeepCopy()
	upd.Spec.Controller = "example.com/other"
	upd.Spec.Parameters.Scope = nil
	checkErrs(t, IngressClassUpdate(upd, ic), []string{"FieldValueInvalid spec.controller", "FieldValueRequired spec.parameters.scope"})
}

func TestNetworkPolicy(t *testing.T) {
	valid := func() *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{ObjectMeta: meta(), Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: intstrp(intstr.FromInt32(80)), EndPort: ptr(int32(90))}},
				From:  []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
			}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		}}
	}
	tests := []struct {
		name   string
		mutate func(np *networkingv1.NetworkPolicy)
		want   []string
	}{
		{name: "valid", mutate: func(*networkingv1.NetworkPolicy) {}},
		{name: "ports", mutate: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].Ports = []networkingv1.NetworkPolicyPort{
				{Protocol: ptr(corev1.Protocol("ICMP")), Port: intstrp(intstr.FromInt32(80)), EndPort: ptr(int32(70))},
				{Port: intstrp(intstr.FromString("http")), EndPort: ptr(int32(90))},
				{EndPort: ptr(int32(90))},
			}
		}, want: []string{"FieldValueNotSupported spec.ingress[0].ports[0].protocol", "FieldValueInvalid spec.ingress[0].ports[0].endPort",
			"FieldValueInvalid spec.ingress[0].ports[1].endPort", "FieldValueInvalid spec.ingress[0].ports[2].endPort"}},
		{name: "peers", mutate: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
				{},
				{PodSelector: &metav1.LabelSelector{}, IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"10.0.0.0/8", "bad"}}},
			}}}
		}, want: []string{"FieldValueRequired spec.egress[0].to[0]", "FieldValueInvalid spec.egress[0].to[1].ipBlock.except[0]",
			"FieldValueInvalid spec.egress[0].to[1].ipBlock.except[1]", "FieldValueForbidden spec.egress[0].to[1]"}},
		{name: "policy types", mutate: func(np *networkingv1.NetworkPolicy) { np.Spec.PolicyTypes = []networkingv1.PolicyType{"Sideways"} },
			want: []string{"FieldValueNotSupported spec.policyTypes[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			np := valid()
			tc.mutate(np)
			checkErrs(t, NetworkPolicy(np), tc.want)
		})
	}
	old := valid()
	old.Spec.Ingress[0].From[0].IPBlock.CIDR = "10.0.0.1/8"
	np := old.DeepCopy()
	np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	checkErrs(t, NetworkPolicyUpdate(np, old), nil)
	checkErrs(t, NetworkPolicy(np), []string{"FieldValueInvalid spec.ingress[0].from[0].ipBlock.cidr"})
}
