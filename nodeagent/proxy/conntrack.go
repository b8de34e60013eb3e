package proxy

import (
	"fmt"
	"net"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// udpFlow selects UDP conntrack entries; empty fields match anything.
type udpFlow struct {
	// origDst and origDstPort are where the client sent to (a Service's
	// address and port, or a node port).
	origDst     string
	origDstPort int32
	// replySrc is the address that answers: the endpoint after DNAT.
	replySrc string
}

// conntracker deletes conntrack entries.
type conntracker interface {
	clearUDP(flows []udpFlow) error
}

// netlinkConntrack deletes entries through netlink, in the network
// namespace at path (empty: the process's).
type netlinkConntrack struct {
	path string
}

func (c netlinkConntrack) clearUDP(flows []udpFlow) error {
	if len(flows) == 0 {
		return nil
	}
	h := &netlink.Handle{}
	if c.path != "" {
		ns, err := netns.GetFromPath(c.path)
		if err != nil {
			return err
		}
		defer ns.Close()
		if h, err = netlink.NewHandleAt(ns, syscall.NETLINK_NETFILTER); err != nil {
			return err
		}
		defer h.Close()
	}
	var v4, v6 []netlink.CustomConntrackFilter
	for _, f := range flows {
		filter := &netlink.ConntrackFilter{}
		if err := filter.AddProtocol(syscall.IPPROTO_UDP); err != nil {
			return err
		}
		is6 := false
		for _, a := range []struct {
			typ netlink.ConntrackFilterType
			ip  string
		}{{netlink.ConntrackOrigDstIP, f.origDst}, {netlink.ConntrackReplySrcIP, f.replySrc}} {
			if a.ip == "" {
				continue
			}
			ip := net.ParseIP(a.ip)
			if ip == nil {
				return fmt.Errorf("conntrack filter: bad address %q", a.ip)
			}
			is6 = ip.To4() == nil
			if err := filter.AddIP(a.typ, ip); err != nil {
				return err
			}
		}
		if f.origDstPort != 0 {
			if err := filter.AddPort(netlink.ConntrackOrigDstPort, uint16(f.origDstPort)); err != nil {
				return err
			}
		}
		if is6 {
			v6 = append(v6, filter)
		} else {
			v4 = append(v4, filter)
		}
	}
	for _, x := range []struct {
		family  netlink.InetFamily
		filters []netlink.CustomConntrackFilter
	}{{netlink.FAMILY_V4, v4}, {netlink.FAMILY_V6, v6}} {
		if len(x.filters) == 0 {
			continue
		}
		if _, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, x.family, x.filters...); err != nil {
			return fmt.Errorf("delete stale UDP conntrack entries: %w", err)
		}
	}
	return nil
}

// staleUDPFlows compares the UDP service ports of two syncs and returns
// the conntrack entries that would keep clients on what is gone: flows to
// endpoints no longer used, and flows that hit a port when it had no
// endpoint (rejected, or sent nowhere) now that it has some.
func staleUDPFlows(before, after map[string]*servicePort) []udpFlow {
	var out []udpFlow
	for key, old := range before {
		if old.protocol != "UDP" {
			continue
		}
		cur := after[key]
		now := map[string]bool{}
		if cur != nil {
			for _, e := range usedEndpoints(cur) {
				now[e.ip] = true
			}
		}
		for _, e := range usedEndpoints(old) {
			if now[e.ip] {
				continue
			}
			for _, ip := range old.addresses() {
				out = append(out, udpFlow{origDst: ip, replySrc: e.ip})
			}
			if old.nodePort != 0 {
				out = append(out, udpFlow{origDstPort: old.nodePort, replySrc: e.ip})
			}
		}
	}
	for key, cur := range after {
		if cur.protocol != "UDP" || len(usedEndpoints(cur)) == 0 {
			continue
		}
		if old := before[key]; old != nil && len(usedEndpoints(old)) > 0 {
			continue
		}
		for _, ip := range cur.addresses() {
			out = append(out, udpFlow{origDst: ip, origDstPort: cur.port})
		}
		if cur.nodePort != 0 {
			out = append(out, udpFlow{origDstPort: cur.nodePort})
		}
	}
	return out
}

// usedEndpoints are the endpoints any of the port's chains send to.
func usedEndpoints(sp *servicePort) []endpoint {
	eps := sp.clusterEndpoints()
	if sp.internalLocal || sp.externalLocal {
		eps = append(eps, sp.localEndpoints()...)
	}
	return eps
}

// addresses are the port's cluster IP and external IPs.
func (sp *servicePort) addresses() []string {
	if sp.clusterIP == "" {
		return sp.externalIPs
	}
	return append([]string{sp.clusterIP}, sp.externalIPs...)
}
