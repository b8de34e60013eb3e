package netpol

import (
	"crypto/sha256"
	"encoding/hex"
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

// Chain names of the table.
const (
	forwardChain = "pod-forward"
	ingressChain = "pod-ingress"
	egressChain  = "pod-egress"
)

// ruleset is the desired content of the table, computed from the API objects
// by compile and applied by table.
type ruleset struct {
	// sets by name.
	sets map[string]setSpec
	// chains holds the rules of each regular chain, in order.
	chains map[string][]string
}

// setSpec is one nft set: its type, whether it holds ranges, and its
// elements (each a list of concatenated values), sorted and unique.
type setSpec struct {
	typ      string
	interval bool
	comment  string
	elements [][]string
}

func (s setSpec) equal(o setSpec) bool {
	return s.typ == o.typ && s.interval == o.interval && s.comment == o.comment &&
		slices.EqualFunc(s.elements, o.elements, slices.Equal[[]string])
}

// ipFamily is one address family's names in nft.
type ipFamily struct {
	nft, suffix, addrType string
	is4                   bool
}

var families = [2]ipFamily{
	{nft: "ip", suffix: "v4", addrType: "ipv4_addr", is4: true},
	{nft: "ip6", suffix: "v6", addrType: "ipv6_addr"},
}

func (f ipFamily) matches(a netip.Addr) bool { return a.Unmap().Is4() == f.is4 }

// direction is what differs between ingress and egress rules.
type direction struct {
	name, short, chain string
	// podField matches the selected pod, peerField the other end.
	podField, peerField string
}

var (
	ingress = direction{name: "ingress", short: "in", chain: ingressChain, podField: "daddr", peerField: "saddr"}
	egress  = direction{name: "egress", short: "out", chain: egressChain, podField: "saddr", peerField: "daddr"}
)

// isolated names the set of the pods isolated for d.
func (d direction) isolated(f ipFamily) string { return d.name + "-isolated-" + f.suffix }

// snapshot is what the rules are computed from.
type snapshot struct {
	node       string
	pods       []*corev1.Pod
	namespaces map[string]labels.Set
	policies   []*networkingv1.NetworkPolicy
}

// compiler builds one ruleset.
type compiler struct {
	snapshot
	out      ruleset
	isolated map[string][]netip.Addr // set name -> addresses
	problems []error
}

// compile computes the ruleset for s. Policies it cannot read (bad
// selectors, CIDRs) are left out, each with an error in problems.
func compile(s snapshot) (ruleset, []error) {
	c := &compiler{
		snapshot: s,
		out:      ruleset{sets: map[string]setSpec{}, chains: map[string][]string{}},
		isolated: map[string][]netip.Addr{},
	}
	c.pods = slices.DeleteFunc(slices.Clone(s.pods), func(p *corev1.Pod) bool { return len(podIPs(p)) == 0 })
	slices.SortFunc(c.pods, func(a, b *corev1.Pod) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	policies := slices.Clone(s.policies)
	slices.SortFunc(policies, func(a, b *networkingv1.NetworkPolicy) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for _, p := range policies {
		if err := c.policy(p); err != nil {
			c.problems = append(c.problems, fmt.Errorf("network policy %s/%s: %w", p.Namespace, p.Name, err))
		}
	}
	var forward []string
	forward = append(forward, "ct state established,related accept")
	for _, d := range []direction{egress, ingress} {
		for _, f := range families {
			name := d.isolated(f)
			c.addrSet(f, name, "pods isolated for "+d.name, c.isolated[name])
			forward = append(forward, fmt.Sprintf("%s %s @%s jump %s", f.nft, d.podField, name, d.chain))
		}
		c.out.chains[d.chain] = append(c.out.chains[d.chain], "drop")
	}
	c.out.chains[forwardChain] = forward
	return c.out, c.problems
}

// policy adds the sets and rules of one policy. It checks everything it
// reads before adding anything, so that a bad policy adds nothing.
func (c *compiler) policy(p *networkingv1.NetworkPolicy) error {
	sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	if err != nil {
		return fmt.Errorf("podSelector: %w", err)
	}
	for i, r := range p.Spec.Ingress {
		if _, _, err := c.peers(p.Namespace, r.From); err != nil {
			return fmt.Errorf("ingress[%d]: %w", i, err)
		}
	}
	for i, r := range p.Spec.Egress {
		if _, _, err := c.peers(p.Namespace, r.To); err != nil {
			return fmt.Errorf("egress[%d]: %w", i, err)
		}
	}
	var targets []*corev1.Pod
	for _, pod := range c.pods {
		if pod.Namespace == p.Namespace && pod.Spec.NodeName == c.node && sel.Matches(labels.Set(pod.Labels)) {
			targets = append(targets, pod)
		}
	}
	id, what := policyID(p), p.Namespace+"/"+p.Name
	for _, f := range families {
		c.addrSet(f, id+"-targets-"+f.suffix, "pods on this node that "+what+" selects", addrsOf(targets))
	}
	in, out := policyTypes(p)
	if in {
		for _, t := range targets {
			c.isolate(ingress, t)
		}
		for i, r := range p.Spec.Ingress {
			c.rule(ingress, p, i, targets, r.From, r.Ports)
		}
	}
	if out {
		for _, t := range targets {
			c.isolate(egress, t)
		}
		for i, r := range p.Spec.Egress {
			c.rule(egress, p, i, targets, r.To, r.Ports)
		}
	}
	return nil
}

func (c *compiler) isolate(d direction, pod *corev1.Pod) {
	for _, a := range podIPs(pod) {
		for _, f := range families {
			if f.matches(a) {
				c.isolated[d.isolated(f)] = append(c.isolated[d.isolated(f)], a)
			}
		}
	}
}

// rule adds the "return" rules of one ingress or egress rule: for each
// family, one for its numbered ports (or every port when it names none) and
// one for its named ports.
func (c *compiler) rule(d direction, p *networkingv1.NetworkPolicy, i int, targets []*corev1.Pod, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) {
	id, what := policyID(p), p.Namespace+"/"+p.Name
	name := fmt.Sprintf("%s-%s%d", id, d.short, i)
	peerPods, blocks, _ := c.peers(p.Namespace, peers)
	numbered, named := splitPorts(ports)
	if len(numbered) > 0 {
		c.out.sets[name+"-ports"] = setSpec{
			typ: "inet_proto . inet_service", interval: true,
			comment: what + " " + d.short + " ports", elements: numbered,
		}
	}
	// Named ports are resolved on the pod the traffic goes to.
	namedOn := targets
	if d == egress {
		namedOn = peerPods
		if len(peers) == 0 {
			namedOn = c.pods
		}
	}
	for _, f := range families {
		match := fmt.Sprintf("%s %s @%s-targets-%s", f.nft, d.podField, id, f.suffix)
		if len(peers) > 0 {
			var rs []ipRange
			for _, a := range addrsOf(peerPods) {
				if f.matches(a) {
					rs = append(rs, ipRange{a, a})
				}
			}
			for _, b := range blocks {
				if f.matches(b.from) {
					rs = append(rs, b)
				}
			}
			set := name + "-peers-" + f.suffix
			c.rangeSet(set, what+" "+d.short+" peers", f, rs)
			match += fmt.Sprintf(" %s %s @%s", f.nft, d.peerField, set)
		}
		if len(ports) == 0 {
			c.addRule(d, match)
		}
		if len(numbered) > 0 {
			c.addRule(d, match+" meta l4proto . th dport @"+name+"-ports")
		}
		if len(named) > 0 {
			set := name + "-named-" + f.suffix
			c.out.sets[set] = setSpec{
				typ:      f.addrType + " . inet_proto . inet_service",
				comment:  what + " " + d.short + " named ports",
				elements: resolveNamed(f, namedOn, named),
			}
			c.addRule(d, match+fmt.Sprintf(" %s daddr . meta l4proto . th dport @%s", f.nft, set))
		}
	}
}

func (c *compiler) addRule(d direction, match string) {
	c.out.chains[d.chain] = append(c.out.chains[d.chain], match+" return")
}

// peers returns the pods and the address ranges (ipBlocks less their
// excepts) that peers name, for a policy in namespace ns.
func (c *compiler) peers(ns string, peers []networkingv1.NetworkPolicyPeer) ([]*corev1.Pod, []ipRange, error) {
	var pods []*corev1.Pod
	var blocks []ipRange
	for i, peer := range peers {
		if b := peer.IPBlock; b != nil {
			cidr, err := netip.ParsePrefix(b.CIDR)
			if err != nil {
				return nil, nil, fmt.Errorf("[%d].ipBlock.cidr: %w", i, err)
			}
			rs := []ipRange{prefixRange(cidr)}
			for j, e := range b.Except {
				ex, err := netip.ParsePrefix(e)
				if err != nil {
					return nil, nil, fmt.Errorf("[%d].ipBlock.except[%d]: %w", i, j, err)
				}
				var left []ipRange
				for _, r := range rs {
					left = append(left, r.without(prefixRange(ex))...)
				}
				rs = left
			}
			blocks = append(blocks, rs...)
			continue
		}
		podSel, nsSel := labels.Everything(), labels.Nothing()
		var err error
		if peer.PodSelector != nil {
			if podSel, err = metav1.LabelSelectorAsSelector(peer.PodSelector); err != nil {
				return nil, nil, fmt.Errorf("[%d].podSelector: %w", i, err)
			}
		}
		if peer.NamespaceSelector != nil {
			if nsSel, err = metav1.LabelSelectorAsSelector(peer.NamespaceSelector); err != nil {
				return nil, nil, fmt.Errorf("[%d].namespaceSelector: %w", i, err)
			}
		}
		for _, pod := range c.pods {
			inNamespace := pod.Namespace == ns
			if peer.NamespaceSelector != nil {
				nsLabels, ok := c.namespaces[pod.Namespace]
				inNamespace = ok && nsSel.Matches(nsLabels)
			}
			if inNamespace && podSel.Matches(labels.Set(pod.Labels)) {
				pods = append(pods, pod)
			}
		}
	}
	return pods, blocks, nil
}

func (c *compiler) addrSet(f ipFamily, name, comment string, addrs []netip.Addr) {
	var elems [][]string
	for _, a := range addrs {
		if f.matches(a) {
			elems = append(elems, []string{a.Unmap().String()})
		}
	}
	c.out.sets[name] = setSpec{typ: f.addrType, comment: comment, elements: sortedUnique(elems)}
}

func (c *compiler) rangeSet(name, comment string, f ipFamily, rs []ipRange) {
	var elems [][]string
	for _, r := range mergeRanges(rs) {
		elems = append(elems, []string{r.String()})
	}
	c.out.sets[name] = setSpec{typ: f.addrType, interval: true, comment: comment, elements: elems}
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
func resolveNamed(f ipFamily, pods []*corev1.Pod, named []namedPort) [][]string {
	var elems [][]string
	for _, pod := range pods {
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
					for _, a := range podIPs(pod) {
						if f.matches(a) {
							elems = append(elems, []string{a.Unmap().String(), proto, strconv.Itoa(int(cp.ContainerPort))})
						}
					}
				}
			}
		}
	}
	return sortedUnique(elems)
}

// policyTypes reports whether p applies to ingress and egress, defaulting
// as the API documents when policyTypes is empty.
func policyTypes(p *networkingv1.NetworkPolicy) (in, out bool) {
	if len(p.Spec.PolicyTypes) == 0 {
		return true, len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			in = true
		case networkingv1.PolicyTypeEgress:
			out = true
		}
	}
	return in, out
}

// policyID names a policy's sets: short, and a valid nft identifier
// whatever the namespace and name.
func policyID(p *networkingv1.NetworkPolicy) string {
	sum := sha256.Sum256([]byte(p.Namespace + "/" + p.Name))
	return "p-" + hex.EncodeToString(sum[:6])
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

func addrsOf(pods []*corev1.Pod) []netip.Addr {
	var out []netip.Addr
	for _, p := range pods {
		out = append(out, podIPs(p)...)
	}
	return out
}

func sortedUnique(elems [][]string) [][]string {
	slices.SortFunc(elems, slices.Compare[[]string])
	return slices.CompactFunc(elems, slices.Equal[[]string])
}
