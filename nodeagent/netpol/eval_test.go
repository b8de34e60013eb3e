package netpol

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/knftables"
)

// packet is a new connection's first packet, as the forward hook sees it.
type packet struct {
	src, dst string
	proto    string
	port     int
}

// verdict runs p through the table in fake as nft would, for the rule
// shapes this package writes; it fails the test on any other shape, so
// that rule generation and this reading of it stay together.
func verdict(t *testing.T, fake *knftables.Fake, p packet) string {
	t.Helper()
	tab := fake.Tables[knftables.InetFamily][TableName]
	if tab == nil {
		t.Fatalf("no table %s", TableName)
	}
	checkElementTypes(t, tab)
	v := evalChain(t, tab, forwardChain, p)
	if v == "return" {
		return "accept" // the base chain's policy
	}
	return v
}

func evalChain(t *testing.T, tab *knftables.FakeTable, chain string, p packet) string {
	t.Helper()
	ch := tab.Chains[chain]
	if ch == nil {
		t.Fatalf("no chain %s", chain)
	}
	src, dst := netip.MustParseAddr(p.src), netip.MustParseAddr(p.dst)
	fam := "ip"
	if !src.Is4() {
		fam = "ip6"
	}
	addr := map[string]string{"saddr": src.String(), "daddr": dst.String()}
	port := strconv.Itoa(p.port)
rules:
	for _, r := range ch.Rules {
		toks := strings.Fields(r.Rule)
		for i := 0; i < len(toks); {
			switch {
			case toks[i] == "ct": // ct state established,related accept
				continue rules
			case (toks[i] == "ip" || toks[i] == "ip6") && i+2 < len(toks) && toks[i+2] == ".":
				// ip daddr . meta l4proto . th dport @set
				if toks[i] != fam || !inSet(t, tab, toks[i+8], addr[toks[i+1]], p.proto, port) {
					continue rules
				}
				i += 9
			case toks[i] == "ip" || toks[i] == "ip6":
				if toks[i] != fam || !inSet(t, tab, toks[i+2], addr[toks[i+1]]) {
					continue rules
				}
				i += 3
			case toks[i] == "meta": // meta l4proto . th dport @set
				if !inSet(t, tab, toks[i+5], p.proto, port) {
					continue rules
				}
				i += 6
			case toks[i] == "jump":
				if v := evalChain(t, tab, toks[i+1], p); v != "return" {
					return v
				}
				continue rules
			case toks[i] == "return" || toks[i] == "drop" || toks[i] == "accept":
				return toks[i]
			default:
				t.Fatalf("rule %q: cannot read %q", r.Rule, toks[i])
			}
		}
	}
	return "return"
}

// inSet reports whether the set @name holds key, reading "a-b" elements
// as ranges of addresses or numbers.
func inSet(t *testing.T, tab *knftables.FakeTable, ref string, key ...string) bool {
	t.Helper()
	set := tab.Sets[strings.TrimPrefix(ref, "@")]
	if set == nil {
		t.Fatalf("no set %s", ref)
	}
	return slices.ContainsFunc(set.Elements, func(e *knftables.Element) bool {
		if len(e.Key) != len(key) {
			t.Fatalf("set %s: element %v has not the arity of %v", ref, e.Key, key)
		}
		for i, k := range e.Key {
			if !within(k, key[i]) {
				return false
			}
		}
		return true
	})
}

func within(elem, v string) bool {
	from, to, isRange := strings.Cut(elem, "-")
	if !isRange {
		return elem == v
	}
	if a, err := netip.ParseAddr(v); err == nil {
		return !a.Less(netip.MustParseAddr(from)) && !netip.MustParseAddr(to).Less(a)
	}
	n, _ := strconv.Atoi(v)
	lo, _ := strconv.Atoi(from)
	hi, _ := strconv.Atoi(to)
	return lo <= n && n <= hi
}

// checkElementTypes fails when an element does not fit its set's type, as
// nft would refuse it.
func checkElementTypes(t *testing.T, tab *knftables.FakeTable) {
	t.Helper()
	for name, set := range tab.Sets {
		types := strings.Split(set.Type, " . ")
		for _, e := range set.Elements {
			if len(e.Key) != len(types) {
				t.Fatalf("set %s (%s): element %v", name, set.Type, e.Key)
			}
			for i, typ := range types {
				for _, v := range strings.Split(e.Key[i], "-") {
					var ok bool
					switch typ {
					case "ipv4_addr", "ipv6_addr":
						a, err := netip.ParseAddr(v)
						ok = err == nil && a.Is4() == (typ == "ipv4_addr")
					case "inet_proto":
						ok = v == "tcp" || v == "udp" || v == "sctp"
					case "inet_service":
						n, err := strconv.Atoi(v)
						ok = err == nil && n >= 0 && n <= 65535
					}
					if !ok {
						t.Fatalf("set %s (%s): element %v does not fit", name, set.Type, e.Key)
					}
				}
			}
		}
	}
}
