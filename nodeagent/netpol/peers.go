package netpol

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file reads what a rule matches: its peers and its ports.

// peers returns the pods and the address ranges (ipBlocks less their
// excepts) that peers name, for a policy in namespace ns.
func (c *compiler) peers(ns string, peers []networkingv1.NetworkPolicyPeer) ([]*member, []ipRange, error) {
	var pods []*member
	var blocks []ipRange
	for i, peer := range peers {
		if b := peer.IPBlock; b != nil {
			rs, err := blockRanges(b)
			if err != nil {
				return nil, nil, fmt.Errorf("[%d].ipBlock%w", i, err)
			}
			blocks = append(blocks, rs...)
			continue
		}
		podSel := labels.Everything()
		var err error
		if peer.PodSelector != nil {
			if podSel, err = metav1.LabelSelectorAsSelector(peer.PodSelector); err != nil {
				return nil, nil, fmt.Errorf("[%d].podSelector: %w", i, err)
			}
		}
		namespaces := []string{ns}
		if peer.NamespaceSelector != nil {
			nsSel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
			if err != nil {
				return nil, nil, fmt.Errorf("[%d].namespaceSelector: %w", i, err)
			}
			namespaces = nil
			for name, l := range c.namespaces {
				if nsSel.Matches(l) {
					namespaces = append(namespaces, name)
				}
			}
			slices.Sort(namespaces)
		}
		for _, name := range namespaces {
			for _, m := range c.byNamespace[name] {
				if podSel.Matches(labels.Set(m.pod.Labels)) {
					pods = append(pods, m)
				}
			}
		}
	}
	return pods, blocks, nil
}

// blockRanges is the ranges of an ipBlock: its CIDR less its excepts.
func blockRanges(b *networkingv1.IPBlock) ([]ipRange, error) {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return nil, fmt.Errorf(".cidr: %w", err)
	}
	rs := []ipRange{prefixRange(cidr)}
	for j, e := range b.Except {
		ex, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf(".except[%d]: %w", j, err)
		}
		var left []ipRange
		for _, r := range rs {
			left = append(left, r.without(prefixRange(ex))...)
		}
		rs = left
	}
	return rs, nil
}

// namedPort is a port a rule names, with its protocol.
type namedPort struct{ name, proto string }

// splitPorts returns the set elements (protocol . port or range) of the
// numbered ports, and the named ones.
func splitPorts(ports []networkingv1.NetworkPolicyPort) ([][]string, []namedPort) {
	var numbered [][]string
	var named []namedPort
	for _, p := range ports {
		proto := string(corev1.ProtocolTCP)
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		proto = strings.ToLower(proto)
		switch {
		case p.Port == nil:
			numbered = append(numbered, []string{proto, "0-65535"})
		case p.Port.Type == intstr.String:
			named = append(named, namedPort{p.Port.StrVal, proto})
		case p.EndPort != nil && *p.EndPort > p.Port.IntVal:
			numbered = append(numbered, []string{proto, fmt.Sprintf("%d-%d", p.Port.IntVal, *p.EndPort)})
		default:
			numbered = append(numbered, []string{proto, strconv.Itoa(int(p.Port.IntVal))})
		}
	}
	return sortedUnique(numbered), named
}

// resolveNamed returns the elements (address . protocol . number) of the
// named ports as the pods' containers declare them.
func resolveNamed(f ipFamily, members []*member, named []namedPort) [][]string {
	var elems [][]string
	for _, m := range members {
		pod := m.pod
		for _, n := range named {
			for _, ctr := range pod.Spec.Containers {
				for _, cp := range ctr.Ports {
					proto := strings.ToLower(string(cp.Protocol))
					if proto == "" {
						proto = "tcp"
					}
					if cp.Name != n.name || proto != n.proto {
						continue
					}
					for _, a := range m.addrs {
						if f.matches(a) {
							elems = append(elems, []string{a.String(), proto, strconv.Itoa(int(cp.ContainerPort))})
						}
					}
				}
			}
		}
	}
	return sortedUnique(elems)
}

// podIPs are the pod's addresses, when it takes part in policies: not on
// the host network and not finished.
func podIPs(pod *corev1.Pod) []netip.Addr {
	if pod.Spec.HostNetwork || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	var out []netip.Addr
	for _, ip := range pod.Status.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	if len(out) == 0 && pod.Status.PodIP != "" {
		if a, err := netip.ParseAddr(pod.Status.PodIP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}
