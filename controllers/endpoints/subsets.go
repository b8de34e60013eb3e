package endpoints

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/servicepods"
)

// subsets returns the Endpoints subsets of svc over pods: one subset per
// distinct set of resolved ports, each with its ready and not-ready
// addresses, all sorted so that equal states compare equal.
func subsets(logger klog.Logger, svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	family := servicepods.Families(svc)[0]
	groups := map[string]*corev1.EndpointSubset{}
	add := func(addr corev1.EndpointAddress, ports []corev1.EndpointPort, ready bool) {
		key := portsKey(ports)
		g := groups[key]
		if g == nil {
			g = &corev1.EndpointSubset{Ports: ports}
			groups[key] = g
		}
		if ready {
			g.Addresses = append(g.Addresses, addr)
		} else {
			g.NotReadyAddresses = append(g.NotReadyAddresses, addr)
		}
	}
	publish := svc.Spec.PublishNotReadyAddresses
	for _, pod := range pods {
		if !servicepods.Included(pod, publish) {
			continue
		}
		ip := servicepods.IP(pod, family)
		if ip == "" {
			logger.V(4).Info("Pod has no IP of the service's family", "pod", klog.KObj(pod), "family", family)
			continue
		}
		addr := corev1.EndpointAddress{
			IP:       ip,
			Hostname: servicepods.Hostname(pod, svc),
			TargetRef: &corev1.ObjectReference{
				Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			},
		}
		if pod.Spec.NodeName != "" {
			addr.NodeName = &pod.Spec.NodeName
		}
		ready := publish || servicepods.Ready(pod)
		if len(svc.Spec.Ports) == 0 {
			// Only a headless Service may have no ports; its addresses
			// stand alone.
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				add(addr, nil, ready)
			}
			continue
		}
		// Each port that resolves is its own subset first; pods whose
		// ports all resolve alike end up together below.
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			n, err := servicepods.Port(pod, sp)
			if err != nil {
				logger.V(4).Info("Port does not resolve", "service", klog.KObj(svc), "err", err)
				continue
			}
			add(addr, []corev1.EndpointPort{{Name: sp.Name, Port: n, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol}}, ready)
		}
	}
	return repack(groups)
}

// repack merges subsets that hold the same addresses into one subset with
// all their ports, as upstream's RepackSubsets does, and sorts everything.
func repack(groups map[string]*corev1.EndpointSubset) []corev1.EndpointSubset {
	// An address (with its readiness) maps to the ports it serves.
	type member struct {
		addr  corev1.EndpointAddress
		ready bool
		ports []corev1.EndpointPort
	}
	members := map[string]*member{}
	var order []string
	for _, g := range groups {
		for _, list := range []struct {
			addrs []corev1.EndpointAddress
			ready bool
		}{{g.Addresses, true}, {g.NotReadyAddresses, false}} {
			for _, a := range list.addrs {
				k := addressKey(a) + fmt.Sprint(list.ready)
				m := members[k]
				if m == nil {
					m = &member{addr: a, ready: list.ready}
					members[k] = m
					order = append(order, k)
				}
				m.ports = append(m.ports, g.Ports...)
			}
		}
	}
	out := map[string]*corev1.EndpointSubset{}
	for _, k := range order {
		m := members[k]
		sortPorts(m.ports)
		pk := portsKey(m.ports)
		s := out[pk]
		if s == nil {
			s = &corev1.EndpointSubset{Ports: m.ports}
			out[pk] = s
		}
		if m.ready {
			s.Addresses = append(s.Addresses, m.addr)
		} else {
			s.NotReadyAddresses = append(s.NotReadyAddresses, m.addr)
		}
	}
	result := make([]corev1.EndpointSubset, 0, len(out))
	for _, s := range out {
		slices.SortFunc(s.Addresses, compareAddresses)
		slices.SortFunc(s.NotReadyAddresses, compareAddresses)
		result = append(result, *s)
	}
	slices.SortFunc(result, func(a, b corev1.EndpointSubset) int {
		return strings.Compare(portsKey(a.Ports), portsKey(b.Ports))
	})
	return result
}

func addressKey(a corev1.EndpointAddress) string {
	key := a.IP
	if a.TargetRef != nil {
		key += "/" + string(a.TargetRef.UID)
	}
	return key
}

func compareAddresses(a, b corev1.EndpointAddress) int {
	return strings.Compare(addressKey(a), addressKey(b))
}

func sortPorts(ports []corev1.EndpointPort) {
	slices.SortFunc(ports, func(a, b corev1.EndpointPort) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Port, b.Port), strings.Compare(string(a.Protocol), string(b.Protocol)))
	})
}

func portsKey(ports []corev1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		app := ""
		if p.AppProtocol != nil {
			app = *p.AppProtocol
		}
		fmt.Fprintf(&b, "%s/%d/%s/%s,", p.Name, p.Port, p.Protocol, app)
	}
	return b.String()
}

// truncate keeps at most max addresses, ready ones first, as upstream: when
// the ready ones alone exceed max they are cut in proportion per subset and
// every not-ready one goes; otherwise only not-ready ones are cut. It reports
// whether anything was cut.
func truncate(subsets []corev1.EndpointSubset, max int) bool {
	ready, notReady := 0, 0
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready+notReady <= max {
		return false
	}
	cutReady := ready > max
	budget, total := max-ready, notReady
	if cutReady {
		budget, total = max, ready
	}
	left := budget
	for i := range subsets {
		s := &subsets[i]
		n := len(s.NotReadyAddresses)
		if cutReady {
			n = len(s.Addresses)
		}
		keep := min((n*budget+total-1)/total, left, n)
		if cutReady {
			s.Addresses = s.Addresses[:keep]
			s.NotReadyAddresses = nil
		} else {
			s.NotReadyAddresses = s.NotReadyAddresses[:keep]
		}
		left -= keep
	}
	return true
}
