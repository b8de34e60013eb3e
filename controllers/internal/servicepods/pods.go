// Package servicepods holds what the Endpoints and EndpointSlice controllers
// share about the pods that back a Service: which pods count, which of their
// IPs and ports an endpoint gets, which Services a pod change concerns, and
// the time of the last change that an endpoints object reflects.
package servicepods

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Included reports whether a pod belongs in a Service's endpoints at all: it
// has an IP and has not finished (phase Succeeded or Failed). A pod being
// deleted counts only with includeTerminating.
func Included(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	return includeTerminating || pod.DeletionTimestamp == nil
}

// Ready reports whether the pod's Ready condition is True.
func Ready(pod *corev1.Pod) bool {
	if c := readyCondition(pod); c != nil {
		return c.Status == corev1.ConditionTrue
	}
	return false
}

func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// Hostname returns the hostname an endpoint of the pod carries for svc: the
// pod's spec.hostname when its spec.subdomain names the Service (in the same
// namespace), and "" otherwise.
func Hostname(pod *corev1.Pod, svc *corev1.Service) string {
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		return pod.Spec.Hostname
	}
	return ""
}

// IP returns the pod's first IP of the given family, in canonical form, or
// "" if it has none.
func IP(pod *corev1.Pod, family corev1.IPFamily) string {
	ips := make([]string, 0, len(pod.Status.PodIPs)+1)
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 {
		ips = append(ips, pod.Status.PodIP)
	}
	for _, s := range ips {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		if (family == corev1.IPv6Protocol) == (addr.Is6() && !addr.Is4In6()) {
			return addr.Unmap().String()
		}
	}
	return ""
}

// Headless reports whether svc has no cluster IP.
func Headless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone
}

// Families returns the IP families svc's endpoints are of: spec.ipFamilies;
// when the API server has not defaulted them, the cluster IP's family, or
// both families for a headless Service.
func Families(svc *corev1.Service) []corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies
	}
	if !Headless(svc) {
		if addr, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && addr.Is6() && !addr.Is4In6() {
			return []corev1.IPFamily{corev1.IPv6Protocol}
		}
		return []corev1.IPFamily{corev1.IPv4Protocol}
	}
	return []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
}

// Port resolves a service port's targetPort against the pod: a number is
// taken as it is; a name is looked up among the ports of the pod's
// containers and sidecars (restartable init containers) with the same name
// and protocol.
func Port(pod *corev1.Pod, sp *corev1.ServicePort) (int32, error) {
	if sp.TargetPort.Type == intstr.Int {
		if sp.TargetPort.IntVal == 0 {
			return sp.Port, nil
		}
		return sp.TargetPort.IntVal, nil
	}
	name := sp.TargetPort.StrVal
	protocol := sp.Protocol
	if protocol == "" {
		protocol = corev1.ProtocolTCP
	}
	match := func(cs []corev1.Container, sidecars bool) (int32, bool) {
		for _, c := range cs {
			if sidecars && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range c.Ports {
				pp := p.Protocol
				if pp == "" {
					pp = corev1.ProtocolTCP
				}
				if p.Name == name && pp == protocol {
					return p.ContainerPort, true
				}
			}
		}
		return 0, false
	}
	if n, ok := match(pod.Spec.Containers, false); ok {
		return n, nil
	}
	if n, ok := match(pod.Spec.InitContainers, true); ok {
		return n, nil
	}
	return 0, fmt.Errorf("pod %s/%s has no %s port named %q", pod.Namespace, pod.Name, protocol, name)
}
