package netpol

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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

// member is a pod that takes part in policies, with its addresses parsed.
type member struct {
	pod   *corev1.Pod
	addrs []netip.Addr
}

// compiler builds one ruleset.
type compiler struct {
	node       string
	namespaces map[string]labels.Set
	// members are the pods with addresses, sorted, and byNamespace the
	// same by namespace.
	members     []*member
	byNamespace map[string][]*member
	out         ruleset
	isolated    map[string][]*member // direction name -> pods isolated
	problems    []error
}

// compile computes the ruleset for s. Policies it cannot read (bad
// selectors, CIDRs) are left out, each with an error in problems.
func compile(s snapshot) (ruleset, []error) {
	c := &compiler{
		node:        s.node,
		namespaces:  s.namespaces,
		byNamespace: map[string][]*member{},
		out:         ruleset{sets: map[string]setSpec{}, chains: map[string][]string{}},
		isolated:    map[string][]*member{},
	}
	for _, p := range s.pods {
		if addrs := podIPs(p); len(addrs) > 0 {
			c.members = append(c.members, &member{pod: p, addrs: addrs})
		}
	}
	slices.SortFunc(c.members, func(a, b *member) int {
		return strings.Compare(a.pod.Namespace+"/"+a.pod.Name, b.pod.Namespace+"/"+b.pod.Name)
	})
	for _, m := range c.members {
		c.byNamespace[m.pod.Namespace] = append(c.byNamespace[m.pod.Namespace], m)
	}
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
			c.addrSet(f, name, "pods isolated for "+d.name, c.isolated[d.name])
			forward = append(forward, fmt.Sprintf("%s %s @%s jump %s", f.nft, d.podField, name, d.chain))
		}
		c.out.chains[d.chain] = append(c.out.chains[d.chain], "drop")
	}
	c.out.chains[forwardChain] = forward
	return c.out, c.problems
}

// policy adds the sets and rules of one policy. It reads everything
// before adding anything, so that a bad policy adds nothing.
func (c *compiler) policy(p *networkingv1.NetworkPolicy) error {
	sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	if err != nil {
		return fmt.Errorf("podSelector: %w", err)
	}
	in, out := policyTypes(p)
	var rules []policyRule
	if in {
		for i, r := range p.Spec.Ingress {
			pr, err := c.readRule(ingress, p.Namespace, i, r.From, r.Ports)
			if err != nil {
				return fmt.Errorf("ingress[%d].from%w", i, err)
			}
			rules = append(rules, pr)
		}
	}
	if out {
		for i, r := range p.Spec.Egress {
			pr, err := c.readRule(egress, p.Namespace, i, r.To, r.Ports)
			if err != nil {
				return fmt.Errorf("egress[%d].to%w", i, err)
			}
			rules = append(rules, pr)
		}
	}
	var targets []*member
	for _, m := range c.byNamespace[p.Namespace] {
		if m.pod.Spec.NodeName == c.node && sel.Matches(labels.Set(m.pod.Labels)) {
			targets = append(targets, m)
		}
	}
	id, what := policyID(p), p.Namespace+"/"+p.Name
	for _, f := range families {
		c.addrSet(f, id+"-targets-"+f.suffix, "pods on this node that "+what+" selects", targets)
	}
	if in {
		c.isolated[ingress.name] = append(c.isolated[ingress.name], targets...)
	}
	if out {
		c.isolated[egress.name] = append(c.isolated[egress.name], targets...)
	}
	for _, r := range rules {
		c.rule(id, what, targets, r)
	}
	return nil
}

// policyRule is one ingress or egress rule as read.
type policyRule struct {
	d     direction
	index int
	// anyPeer: the rule names no peers. Otherwise peers and blocks are
	// the pods and the address ranges it names.
	anyPeer  bool
	peers    []*member
	blocks   []ipRange
	anyPort  bool
	numbered [][]string
	named    []namedPort
}

func (c *compiler) readRule(d direction, ns string, i int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) (policyRule, error) {
	r := policyRule{d: d, index: i, anyPeer: len(peers) == 0, anyPort: len(ports) == 0}
	var err error
	if r.peers, r.blocks, err = c.peers(ns, peers); err != nil {
		return r, err
	}
	r.numbered, r.named = splitPorts(ports)
	return r, nil
}

// rule adds the "return" rules of one ingress or egress rule: for each
// family, one for its numbered ports (or every port when it names none) and
// one for its named ports.
func (c *compiler) rule(id, what string, targets []*member, r policyRule) {
	d := r.d
	name := fmt.Sprintf("%s-%s%d", id, d.short, r.index)
	if len(r.numbered) > 0 {
		c.out.sets[name+"-ports"] = setSpec{
			typ: "inet_proto . inet_service", interval: true,
			comment: what + " " + d.short + " ports", elements: r.numbered,
		}
	}
	// Named ports are resolved on the pod the traffic goes to.
	namedOn := targets
	if d == egress {
		namedOn = r.peers
		if r.anyPeer {
			namedOn = c.members
		}
	}
	for _, f := range families {
		match := fmt.Sprintf("%s %s @%s-targets-%s", f.nft, d.podField, id, f.suffix)
		if !r.anyPeer {
			var rs []ipRange
			for _, m := range r.peers {
				for _, a := range m.addrs {
					if f.matches(a) {
						rs = append(rs, ipRange{a, a})
					}
				}
			}
			for _, b := range r.blocks {
				if f.matches(b.from) {
					rs = append(rs, b)
				}
			}
			set := name + "-peers-" + f.suffix
			c.rangeSet(set, what+" "+d.short+" peers", f, rs)
			match += fmt.Sprintf(" %s %s @%s", f.nft, d.peerField, set)
		}
		if r.anyPort {
			c.addRule(d, match)
		}
		if len(r.numbered) > 0 {
			c.addRule(d, match+" meta l4proto . th dport @"+name+"-ports")
		}
		if len(r.named) > 0 {
			set := name + "-named-" + f.suffix
			c.out.sets[set] = setSpec{
				typ:      f.addrType + " . inet_proto . inet_service",
				comment:  what + " " + d.short + " named ports",
				elements: resolveNamed(f, namedOn, r.named),
			}
			c.addRule(d, match+fmt.Sprintf(" %s daddr . meta l4proto . th dport @%s", f.nft, set))
		}
	}
}

func (c *compiler) addRule(d direction, match string) {
	c.out.chains[d.chain] = append(c.out.chains[d.chain], match+" return")
}

func (c *compiler) addrSet(f ipFamily, name, comment string, members []*member) {
	var elems [][]string
	for _, m := range members {
		for _, a := range m.addrs {
			if f.matches(a) {
				elems = append(elems, []string{a.String()})
			}
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

func sortedUnique(elems [][]string) [][]string {
	slices.SortFunc(elems, slices.Compare[[]string])
	return slices.CompactFunc(elems, slices.Equal[[]string])
}
