package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestService(t *testing.T) {
	port := func(p int32) corev1.ServicePort { return corev1.ServicePort{Port: p} }
	tcp := func(p int32, target intstr.IntOrString) corev1.ServicePort {
		return corev1.ServicePort{Port: p, Protocol: corev1.ProtocolTCP, TargetPort: target}
	}
	cluster := new(corev1.ServiceInternalTrafficPolicyCluster)
	clientIP := func(timeout int32) *corev1.SessionAffinityConfig {
		return &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
	}

	runCases(t, Service, []defaultCase[corev1.Service]{{
		name: "minimal service is ClusterIP with port defaults",
		in:   corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{port(80)}}},
		want: corev1.Service{Spec: corev1.ServiceSpec{
			Ports:                 []corev1.ServicePort{tcp(80, intstr.FromInt32(80))},
			Type:                  corev1.ServiceTypeClusterIP,
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: cluster,
		}},
	}, {
		name: "targetPort kept when set, empty string replaced",
		in: corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolUDP},
			{Port: 81, TargetPort: intstr.FromInt32(8081)},
			{Port: 82, TargetPort: intstr.FromString("")},
		}}},
		want: corev1.Service{Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{
				{Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolUDP},
				tcp(81, intstr.FromInt32(8081)),
				tcp(82, intstr.FromInt32(82)),
			},
			Type:                  corev1.ServiceTypeClusterIP,
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: cluster,
		}},
	}, {
		name: "affinity None drops affinity config",
		in:   corev1.Service{Spec: corev1.ServiceSpec{SessionAffinityConfig: clientIP(60)}},
		want: corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: cluster,
		}},
	}, {
		name: "affinity ClientIP gets default timeout",
		in:   corev1.Service{Spec: corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP, SessionAffinityConfig: &corev1.SessionAffinityConfig{}}},
		want: corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityClientIP,
			SessionAffinityConfig: clientIP(10800), InternalTrafficPolicy: cluster,
		}},
	}, {
		name: "affinity ClientIP keeps a set timeout",
		in:   corev1.Service{Spec: corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP, SessionAffinityConfig: clientIP(60)}},
		want: corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityClientIP,
			SessionAffinityConfig: clientIP(60), InternalTrafficPolicy: cluster,
		}},
	}, {
		name: "ClusterIP with externalIPs gets externalTrafficPolicy",
		in:   corev1.Service{Spec: corev1.ServiceSpec{ExternalIPs: []string{"192.0.2.1"}}},
		want: corev1.Service{Spec: corev1.ServiceSpec{
			ExternalIPs: []string{"192.0.2.1"}, Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster, InternalTrafficPolicy: cluster,
		}},
	}, {
		name: "NodePort gets externalTrafficPolicy, keeps Local",
		in:   corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal}},
		want: corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, SessionAffinity: corev1.ServiceAffinityNone,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, InternalTrafficPolicy: cluster,
		}},
	}, {
		name: "LoadBalancer gets node ports, traffic policies and ingress ipMode",
		in: corev1.Service{
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
				{IP: "192.0.2.10"}, {Hostname: "lb.example.com"}, {IP: "192.0.2.11", IPMode: new(corev1.LoadBalancerIPModeProxy)},
			}}},
		},
		want: corev1.Service{
			Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, SessionAffinity: corev1.ServiceAffinityNone,
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster, InternalTrafficPolicy: cluster,
				AllocateLoadBalancerNodePorts: new(true),
			},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
				{IP: "192.0.2.10", IPMode: new(corev1.LoadBalancerIPModeVIP)}, {Hostname: "lb.example.com"},
				{IP: "192.0.2.11", IPMode: new(corev1.LoadBalancerIPModeProxy)},
			}}},
		},
	}, {
		name: "ExternalName gets no traffic policies",
		in:   corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
		want: corev1.Service{Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", SessionAffinity: corev1.ServiceAffinityNone,
		}},
	}})
}

func TestEndpoints(t *testing.T) {
	runCases(t, Endpoints, []defaultCase[corev1.Endpoints]{{
		name: "ports get TCP",
		in: corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{
			{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP},
		}}}},
		want: corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{
			{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP},
		}}}},
	}})
}
