package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestService(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *corev1.Service)
		want   []string
	}{
		{name: "valid", mutate: func(*corev1.Service) {}},
		{name: "name must be a DNS label", mutate: func(s *corev1.Service) { s.Name = "a.b" }, want: []string{"FieldValueInvalid metadata.name"}},
		{name: "ports required", mutate: func(s *corev1.Service) { s.Spec.Ports = nil }, want: []string{"FieldValueRequired spec.ports"}},
		{name: "port fields", mutate: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{
				{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)},
				{Port: 0, Protocol: "ICMP", TargetPort: intstr.FromString("bad_name")},
				{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)},
			}
		}, want: []string{
			"FieldValueRequired spec.ports[1].name",
			"FieldValueInvalid spec.ports[1].port",
			"FieldValueNotSupported spec.ports[1].protocol",
			"FieldValueInvalid spec.ports[1].targetPort",
			"FieldValueDuplicate spec.ports[2].name",
			"FieldValueDuplicate spec.ports[2]",
		}},
		{name: "nodePort on ClusterIP", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			want: []string{"FieldValueForbidden spec.ports[0].nodePort"}},
		{name: "type enum", mutate: func(s *corev1.Service) { s.Spec.Type = "Magic" },
			want: []string{"FieldValueNotSupported spec.type"}},
		{name: "session affinity", mutate: func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP },
			want: []string{"FieldValueRequired spec.sessionAffinityConfig"}},
		{name: "selector labels", mutate: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "bad value!"} },
			want: []string{"FieldValueInvalid spec.selector"}},
		{name: "clusterIPs must match clusterIP", mutate: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.0.0.11"} },
			want: []string{"FieldValueInvalid spec.clusterIPs"}},
		{name: "external name", mutate: func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinity: corev1.ServiceAffinityNone}
		}, want: []string{"FieldValueRequired spec.externalName"}},
		{name: "external name with cluster IP", mutate: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com."
			s.Spec.InternalTrafficPolicy = nil
		}, want: []string{
			"FieldValueForbidden spec.clusterIPs",
			"FieldValueForbidden spec.ipFamilies",
			"FieldValueForbidden spec.ipFamilyPolicy",
		}},
		{name: "load balancer needs allocateLoadBalancerNodePorts and externalTrafficPolicy", mutate: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
		}, want: []string{"FieldValueRequired allocateLoadBalancerNodePorts", "FieldValueRequired spec.externalTrafficPolicy"}},
		{name: "internal traffic policy required", mutate: func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = nil },
			want: []string{"FieldValueRequired spec.internalTrafficPolicy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validService()
			tc.mutate(s)
			checkErrs(t, Service(s), tc.want)
		})
	}
}

func TestServiceUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *corev1.Service)
		want   []string
	}{
		{name: "selector may change", mutate: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "v2"} }},
		{name: "clusterIP is immutable", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.0.0.99"
			s.Spec.ClusterIPs = []string{"10.0.0.99"}
		}, want: []string{"FieldValueInvalid spec.clusterIPs[0]"}},
		{name: "to ExternalName drops the cluster IP", mutate: func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com", SessionAffinity: corev1.ServiceAffinityNone}
		}},
		{name: "ipFamilies immutable", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
		}, want: []string{"FieldValueInvalid spec.ipFamilies[0]", "FieldValueInvalid spec.clusterIPs[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validService()
			s := old.DeepCopy()
			tc.mutate(s)
			checkErrs(t, ServiceUpdate(s, old), tc.want)
		})
	}
}

func TestServiceStatusUpdate(t *testing.T) {
	old := validService()
	old.Spec.Type = corev1.ServiceTypeLoadBalancer
	s := old.DeepCopy()
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {IP: "not-an-ip"}}
	checkErrs(t, ServiceStatusUpdate(s, old), []string{"FieldValueInvalid status.loadBalancer.ingress[1].ip"})
}
