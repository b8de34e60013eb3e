package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Service defaults a service:
//   - sessionAffinity None, and then no sessionAffinityConfig; with ClientIP
//     a missing client IP timeout gives a config with 10800 seconds;
//   - type ClusterIP;
//   - port protocol TCP, and targetPort = port when it is 0 or "";
//   - externalTrafficPolicy Cluster when the service is reachable from
//     outside (NodePort, LoadBalancer, or ClusterIP with externalIPs);
//   - internalTrafficPolicy Cluster for ClusterIP, NodePort and LoadBalancer;
//   - for LoadBalancer, allocateLoadBalancerNodePorts true, and ipMode VIP on
//     each status ingress that has an IP.
func Service(svc *corev1.Service) {
	spec := &svc.Spec
	setIfEmpty(&spec.SessionAffinity, corev1.ServiceAffinityNone)
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		cfg := spec.SessionAffinityConfig
		if cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: new(corev1.DefaultClientIPServiceAffinitySeconds)},
			}
		}
	}
	setIfEmpty(&spec.Type, corev1.ServiceTypeClusterIP)

	for i := range spec.Ports {
		p := &spec.Ports[i]
		setIfEmpty(&p.Protocol, corev1.ProtocolTCP)
		if p.TargetPort == (intstr.IntOrString{}) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}

	externallyReachable := spec.Type == corev1.ServiceTypeNodePort ||
		spec.Type == corev1.ServiceTypeLoadBalancer ||
		(spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	if externallyReachable {
		setIfEmpty(&spec.ExternalTrafficPolicy, corev1.ServiceExternalTrafficPolicyCluster)
	}
	switch spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		setIfNil(&spec.InternalTrafficPolicy, corev1.ServiceInternalTrafficPolicyCluster)
	}

	if spec.Type == corev1.ServiceTypeLoadBalancer {
		setIfNil(&spec.AllocateLoadBalancerNodePorts, true)
		ingress := svc.Status.LoadBalancer.Ingress
		for i := range ingress {
			if ingress[i].IP != "" {
				setIfNil(&ingress[i].IPMode, corev1.LoadBalancerIPModeVIP)
			}
		}
	}
}

// Endpoints defaults an Endpoints object: every subset port without a
// protocol gets TCP.
func Endpoints(ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		ports := ep.Subsets[i].Ports
		for j := range ports {
			setIfEmpty(&ports[j].Protocol, corev1.ProtocolTCP)
		}
	}
}
