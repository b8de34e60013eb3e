package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// wildcardIP is the host IP a port without one binds: every address.
const wildcardIP = "0.0.0.0"

// ProtocolPort is a protocol and a port number.
type ProtocolPort struct {
	Protocol string
	Port     int32
}

// HostPorts records the host ports in use on a node, by host IP.
type HostPorts map[string]map[ProtocolPort]struct{}

func sanitize(ip, protocol string) (string, string) {
	if ip == "" {
		ip = wildcardIP
	}
	if protocol == "" {
		protocol = string(corev1.ProtocolTCP)
	}
	return ip, protocol
}

// Add marks ip:port/protocol as used (an empty ip is 0.0.0.0, an empty
// protocol TCP).
func (h HostPorts) Add(ip string, protocol corev1.Protocol, port int32) {
	i, p := sanitize(ip, string(protocol))
	if h[i] == nil {
		h[i] = map[ProtocolPort]struct{}{}
	}
	h[i][ProtocolPort{Protocol: p, Port: port}] = struct{}{}
}

// Remove marks ip:port/protocol as free.
func (h HostPorts) Remove(ip string, protocol corev1.Protocol, port int32) {
	i, p := sanitize(ip, string(protocol))
	if m := h[i]; m != nil {
		delete(m, ProtocolPort{Protocol: p, Port: port})
		if len(m) == 0 {
			delete(h, i)
		}
	}
}

// Conflicts reports whether ip:port/protocol clashes with a port in use:
// the same port and protocol on the same IP, or on any IP when either side
// is the wildcard 0.0.0.0.
func (h HostPorts) Conflicts(ip string, protocol corev1.Protocol, port int32) bool {
	if port <= 0 {
		return false
	}
	i, p := sanitize(ip, string(protocol))
	pp := ProtocolPort{Protocol: p, Port: port}
	if i == wildcardIP {
		for _, m := range h {
			if _, ok := m[pp]; ok {
				return true
			}
		}
		return false
	}
	for _, ip := range []string{i, wildcardIP} {
		if _, ok := h[ip][pp]; ok {
			return true
		}
	}
	return false
}

// Clone returns a deep copy.
func (h HostPorts) Clone() HostPorts {
	if h == nil {
		return nil
	}
	c := make(HostPorts, len(h))
	for ip, m := range h {
		cm := make(map[ProtocolPort]struct{}, len(m))
		for k := range m {
			cm[k] = struct{}{}
		}
		c[ip] = cm
	}
	return c
}

// HostPortsOf lists the ports with a host port of pod's app containers and
// of its restartable init containers (sidecars), which run as long as the
// pod does. Ordinary init containers are not counted, as upstream.
func HostPortsOf(pod *corev1.Pod) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				ports = append(ports, p)
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				ports = append(ports, p)
			}
		}
	}
	return ports
}
