package proxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/knftables"
)

// Names of the table's fixed chains and maps, as upstream's nftables
// proxier names them.
const (
	servicesChain      = "services"
	masqueradingChain  = "masquerading"
	markMasqChain      = "mark-for-masquerade"
	endpointsCheck     = "endpoints-check"
	nodePortsCheck     = "nodeport-endpoints-check"
	rejectChain        = "reject-chain"
	serviceIPsMap      = "service-ips"
	serviceNodePorts   = "service-nodeports"
	noEndpointServices = "no-endpoint-services"
	noEndpointNodePort = "no-endpoint-nodeports"

	// masqueradeMark is the packet mark bit that asks for masquerade in
	// postrouting (kube-proxy's default, bit 14).
	masqueradeMark = "0x4000"
)

// baseChain is a chain attached to a netfilter hook.
type baseChain struct {
	name     string
	typ      knftables.BaseChainType
	hook     knftables.BaseChainHook
	priority knftables.BaseChainPriority
	// rule is the chain's one rule: a jump to the regular chain that does
	// the work.
	rule string
}

// baseChains are created with the table and never change.
var baseChains = []baseChain{
	{"filter-input", knftables.FilterType, knftables.InputHook, knftables.FilterPriority, "ct state new jump " + endpointsCheck},
	{"filter-input-nodeports", knftables.FilterType, knftables.InputHook, knftables.FilterPriority, "ct state new jump " + nodePortsCheck},
	{"filter-forward", knftables.FilterType, knftables.ForwardHook, knftables.FilterPriority, "ct state new jump " + endpointsCheck},
	{"filter-output", knftables.FilterType, knftables.OutputHook, knftables.FilterPriority, "ct state new jump " + endpointsCheck},
	{"nat-prerouting", knftables.NATType, knftables.PreroutingHook, knftables.DNATPriority, "jump " + servicesChain},
	{"nat-output", knftables.NATType, knftables.OutputHook, knftables.DNATPriority, "jump " + servicesChain},
	{"nat-postrouting", knftables.NATType, knftables.PostroutingHook, knftables.SNATPriority, "jump " + masqueradingChain},
}

// ruleset is the whole content of the table but its base chains: what a
// sync wants the kernel to hold.
type ruleset struct {
	// chains are the regular chains' rules, in order.
	chains map[string][]string
	// maps are verdict maps: type and elements (key → value, both as nft
	// writes them, parts joined by " . ").
	maps map[string]*verdictMap
	// affinity are the dynamic sets of sessionAffinity, by name: their
	// elements are the kernel's, the proxy only makes and removes them.
	affinity map[string]affinitySet
}

type verdictMap struct {
	typ      string
	elements map[string]string
}

type affinitySet struct {
	typ     string
	timeout time.Duration
}

// family holds the words of the rules that depend on the IP family.
type familyWords struct {
	ip       string // "ip" or "ip6"
	addrType string // "ipv4_addr" or "ipv6_addr"
	loopback string // the loopback range NodePorts are not served on
}

func wordsOf(f knftables.Family) familyWords {
	if f == knftables.IPv6Family {
		return familyWords{"ip6", "ipv6_addr", "::1"}
	}
	return familyWords{"ip", "ipv4_addr", "127.0.0.0/8"}
}

// compile computes the ruleset for the service ports of one family.
// clusterCIDRs are the pod CIDRs of the cluster (of that family): traffic
// to a cluster IP from elsewhere is masqueraded. Where two service ports
// claim one address and port, the first wins.
func compile(f knftables.Family, clusterCIDRs []netip.Prefix, sps []*servicePort) ruleset {
	c := newCompiler(f, clusterCIDRs)
	r := c.base()
	for _, sp := range sps {
		r.merge(c.port(sp))
	}
	return r
}

// compiler turns service ports into fragments of a ruleset.
type compiler struct {
	w familyWords
	// notCluster matches sources outside the cluster's pod CIDRs; empty
	// without any.
	notCluster string
}

func newCompiler(f knftables.Family, clusterCIDRs []netip.Prefix) compiler {
	c := compiler{w: wordsOf(f)}
	if len(clusterCIDRs) > 0 {
		cidrs := make([]string, len(clusterCIDRs))
		for i, p := range clusterCIDRs {
			cidrs[i] = p.String()
		}
		c.notCluster = c.w.ip + " saddr != { " + strings.Join(cidrs, ", ") + " }"
	}
	return c
}

// base is the ruleset without any service: the fixed chains and the maps.
func (c compiler) base() ruleset {
	w := c.w
	return ruleset{
		chains: map[string][]string{
			servicesChain: {
				w.ip + " daddr . meta l4proto . th dport vmap @" + serviceIPsMap,
				"fib daddr type local " + w.ip + " daddr != " + w.loopback + " meta l4proto . th dport vmap @" + serviceNodePorts,
			},
			masqueradingChain: {
				"mark and " + masqueradeMark + " == 0 return",
				"mark set mark xor " + masqueradeMark,
				"masquerade fully-random",
			},
			markMasqChain:  {"mark set mark or " + masqueradeMark},
			endpointsCheck: {w.ip + " daddr . meta l4proto . th dport vmap @" + noEndpointServices},
			nodePortsCheck: {"fib daddr type local " + w.ip + " daddr != " + w.loopback + " meta l4proto . th dport vmap @" + noEndpointNodePort},
			rejectChain:    {"reject"},
		},
		maps: map[string]*verdictMap{
			serviceIPsMap:      {typ: w.addrType + " . inet_proto . inet_service : verdict", elements: map[string]string{}},
			serviceNodePorts:   {typ: "inet_proto . inet_service : verdict", elements: map[string]string{}},
			noEndpointServices: {typ: w.addrType + " . inet_proto . inet_service : verdict", elements: map[string]string{}},
			noEndpointNodePort: {typ: "inet_proto . inet_service : verdict", elements: map[string]string{}},
		},
		affinity: map[string]affinitySet{},
	}
}

// fragment is what one service port adds to a ruleset: its chains and
// affinity sets, and its map elements in order.
type fragment struct {
	chains   map[string][]string
	affinity map[string]affinitySet
	elements []mapElement
}

type mapElement struct{ m, key, verdict string }

// merge adds fr to r; an address and port already taken stay as they are.
func (r *ruleset) merge(fr *fragment) {
	for name, rules := range fr.chains {
		r.chains[name] = rules
	}
	for name, s := range fr.affinity {
		r.affinity[name] = s
	}
	for _, e := range fr.elements {
		if _, taken := r.maps[e.m].elements[e.key]; !taken {
			r.maps[e.m].elements[e.key] = e.verdict
		}
	}
}

// port computes sp's fragment.
func (c compiler) port(sp *servicePort) *fragment {
	w, notCluster := c.w, c.notCluster
	r := &fragment{chains: map[string][]string{}, affinity: map[string]affinitySet{}}
	put := func(m, key, verdict string) {
		r.elements = append(r.elements, mapElement{m, key, verdict})
	}
	proto := strings.ToLower(string(sp.protocol))
	port := strconv.Itoa(int(sp.port))
	key := sp.key()
	clusterEPs, localEPs := sp.clusterEndpoints(), sp.localEndpoints()
	hasAny := len(clusterEPs) > 0 || len(localEPs) > 0
	serviceChain, localChain := "service-"+key, "local-"+key
	usesCluster := (sp.clusterIP != "" && !sp.internalLocal) || sp.external()
	if len(clusterEPs) > 0 && usesCluster {
		r.dispatch(w, sp, serviceChain, clusterEPs)
	}
	if len(localEPs) > 0 && (sp.internalLocal || sp.externalLocal) {
		r.dispatch(w, sp, localChain, localEPs)
	}

	if sp.clusterIP != "" {
		internal, internalEPs := serviceChain, clusterEPs
		if sp.internalLocal {
			internal, internalEPs = localChain, localEPs
		}
		k := sp.clusterIP + " . " + proto + " . " + port
		switch {
		case len(internalEPs) > 0:
			put(serviceIPsMap, k, "goto "+internal)
			if notCluster != "" {
				masq := fmt.Sprintf("%s daddr %s %s dport %s %s jump %s", w.ip, sp.clusterIP, proto, port, notCluster, markMasqChain)
				r.chains[internal] = append([]string{masq}, r.chains[internal]...)
			}
		case hasAny:
			put(noEndpointServices, k, "drop") // endpoints elsewhere, none here for a Local policy
		default:
			put(noEndpointServices, k, "goto "+rejectChain)
		}
	}

	if !sp.external() {
		return r
	}
	var verdict string
	switch {
	case !hasAny:
		verdict = "goto " + rejectChain
	default:
		ext := "external-" + key
		var rules []string
		if sp.externalLocal {
			if len(clusterEPs) > 0 {
				// Pods and the node itself are not "external": they
				// may use every endpoint, as upstream lets them.
				if notCluster != "" {
					rules = append(rules, strings.Replace(notCluster, "!= ", "", 1)+" goto "+serviceChain)
				}
				rules = append(rules,
					"fib saddr type local jump "+markMasqChain,
					"fib saddr type local goto "+serviceChain)
			}
			if len(localEPs) > 0 {
				rules = append(rules, "goto "+localChain)
			} else {
				rules = append(rules, "drop")
			}
		} else {
			rules = []string{"jump " + markMasqChain, "goto " + serviceChain}
		}
		r.chains[ext] = rules
		verdict = "goto " + ext
	}
	target := serviceIPsMap
	nodePortTarget := serviceNodePorts
	if !hasAny {
		target, nodePortTarget = noEndpointServices, noEndpointNodePort
	}
	for _, ip := range sp.externalIPs {
		put(target, ip+" . "+proto+" . "+port, verdict)
	}
	if sp.nodePort != 0 {
		put(nodePortTarget, proto+" . "+strconv.Itoa(int(sp.nodePort)), verdict)
	}
	return r
}

// dispatch writes chain, which sends a connection to one of eps (by the
// client's affinity first, when the port has some), and the endpoints'
// chains.
func (r *fragment) dispatch(w familyWords, sp *servicePort, chain string, eps []endpoint) {
	var rules []string
	targets := make([]string, len(eps))
	for i, e := range eps {
		targets[i] = r.endpointChain(w, sp, e)
		if sp.affinity > 0 {
			rules = append(rules, fmt.Sprintf("%s saddr @%s goto %s", w.ip, affinityName(sp, e), targets[i]))
		}
	}
	if len(eps) == 1 {
		rules = append(rules, "goto "+targets[0])
	} else {
		var b strings.Builder
		fmt.Fprintf(&b, "numgen random mod %d vmap { ", len(eps))
		for i, t := range targets {
			if i > 0 {
				b.WriteString(" , ")
			}
			fmt.Fprintf(&b, "%d : goto %s", i, t)
		}
		b.WriteString(" }")
		rules = append(rules, b.String())
	}
	r.chains[chain] = rules
}

// endpointChain writes the chain that DNATs to e, and returns its name.
func (r *fragment) endpointChain(w familyWords, sp *servicePort, e endpoint) string {
	name := "endpoint-" + sp.key() + "__" + endpointName(e)
	if _, done := r.chains[name]; done {
		return name
	}
	rules := []string{fmt.Sprintf("%s saddr %s jump %s", w.ip, e.ip, markMasqChain)}
	if sp.affinity > 0 {
		set := affinityName(sp, e)
		r.affinity[set] = affinitySet{typ: w.addrType, timeout: sp.affinity}
		rules = append(rules, fmt.Sprintf("update @%s { %s saddr }", set, w.ip))
	}
	rules = append(rules, fmt.Sprintf("meta l4proto %s dnat to %s", strings.ToLower(string(sp.protocol)), e.String()))
	r.chains[name] = rules
	return name
}

func affinityName(sp *servicePort, e endpoint) string {
	return "affinity-" + sp.key() + "__" + endpointName(e)
}

// endpointName is ip/port, with the colons of an IPv6 address (which nft
// names may not hold) as dots.
func endpointName(e endpoint) string {
	return strings.ReplaceAll(e.ip, ":", ".") + "/" + strconv.Itoa(int(e.port))
}
