package netpol

import (
	"net/netip"
	"slices"
)

// ipRange is an inclusive range of addresses of one family: the elements of
// an nft interval set.
type ipRange struct{ from, to netip.Addr }

// prefixRange is the range a prefix covers.
func prefixRange(p netip.Prefix) ipRange {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	to, _ := netip.AddrFromSlice(b)
	return ipRange{p.Addr(), to}
}

// without is r less cut, in zero, one or two ranges.
func (r ipRange) without(cut ipRange) []ipRange {
	if cut.to.Less(r.from) || r.to.Less(cut.from) {
		return []ipRange{r}
	}
	var out []ipRange
	if r.from.Less(cut.from) {
		out = append(out, ipRange{r.from, cut.from.Prev()})
	}
	if cut.to.Less(r.to) {
		out = append(out, ipRange{cut.to.Next(), r.to})
	}
	return out
}

// String is the range as an nft set element: an address, or from-to.
func (r ipRange) String() string {
	if r.from == r.to {
		return r.from.String()
	}
	return r.from.String() + "-" + r.to.String()
}

// mergeRanges sorts rs and joins the ranges that overlap, because nft
// refuses overlapping elements in an interval set. Ranges that only touch
// stay apart, so that a pod's address stays one element of its own and pod
// churn changes single elements.
func mergeRanges(rs []ipRange) []ipRange {
	slices.SortFunc(rs, func(a, b ipRange) int { return a.from.Compare(b.from) })
	var out []ipRange
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if !last.to.Less(r.from) {
				if last.to.Less(r.to) {
					last.to = r.to
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}
