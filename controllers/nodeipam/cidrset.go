package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// ErrFull means a cluster CIDR has no free node CIDR left.
var ErrFull = errors.New("no free node CIDR")

// maxSubnetBits caps how many node CIDRs one cluster CIDR is cut into
// (2^16), as upstream's range allocator does.
const maxSubnetBits = 16

// cidrSet cuts one cluster CIDR into node CIDRs of one size and tracks which
// are in use. Like upstream's, it hands them out round robin: a released
// CIDR is reused once the ones after it were tried.
type cidrSet struct {
	cluster netip.Prefix
	bits    int // the node CIDRs' prefix length
	used    []bool
	free    int
	next    int
}

func newCIDRSet(cluster netip.Prefix, bits int) (*cidrSet, error) {
	cluster = cluster.Masked()
	if bits < cluster.Bits() || bits > cluster.Addr().BitLen() {
		return nil, fmt.Errorf("node CIDR mask size %d does not fit cluster CIDR %s", bits, cluster)
	}
	if bits-cluster.Bits() > maxSubnetBits {
		return nil, fmt.Errorf("node CIDR mask size %d cuts cluster CIDR %s into more than 2^%d node CIDRs", bits, cluster, maxSubnetBits)
	}
	n := 1 << (bits - cluster.Bits())
	return &cidrSet{cluster: cluster, bits: bits, used: make([]bool, n), free: n}, nil
}

// allocate returns the next free node CIDR.
func (s *cidrSet) allocate() (netip.Prefix, error) {
	if s.free == 0 {
		return netip.Prefix{}, fmt.Errorf("allocate from %s: %w", s.cluster, ErrFull)
	}
	for {
		i := s.next
		s.next = (s.next + 1) % len(s.used)
		if !s.used[i] {
			s.used[i] = true
			s.free--
			return s.prefix(i), nil
		}
	}
}

// occupy marks every node CIDR that overlaps p used (p may be smaller or
// larger than a node CIDR, as a service range is). It reports whether p
// overlaps the cluster CIDR at all.
func (s *cidrSet) occupy(p netip.Prefix) bool {
	first, last, ok := s.span(p)
	for i := first; ok && i <= last; i++ {
		if !s.used[i] {
			s.used[i] = true
			s.free--
		}
	}
	return ok
}

// release frees p if it is one of the set's node CIDRs.
func (s *cidrSet) release(p netip.Prefix) {
	if i, ok := s.index(p); ok && s.used[i] {
		s.used[i] = false
		s.free++
	}
}

// index is the position of p if p is exactly one of the node CIDRs.
func (s *cidrSet) index(p netip.Prefix) (int, bool) {
	if p.Bits() != s.bits {
		return 0, false
	}
	first, _, ok := s.span(p)
	return first, ok
}

// span is the range of node CIDR indexes that p overlaps.
func (s *cidrSet) span(p netip.Prefix) (first, last int, ok bool) {
	p = p.Masked()
	if p.Addr().BitLen() != s.cluster.Addr().BitLen() || !p.Overlaps(s.cluster) {
		return 0, 0, false
	}
	if p.Bits() <= s.cluster.Bits() {
		return 0, len(s.used) - 1, true // p covers the whole cluster CIDR
	}
	host := s.cluster.Addr().BitLen() - s.bits
	off := new(big.Int).Sub(addrInt(p.Addr()), addrInt(s.cluster.Addr()))
	first = int(new(big.Int).Rsh(off, uint(host)).Int64())
	if p.Bits() >= s.bits {
		return first, first, true
	}
	return first, first + 1<<(s.bits-p.Bits()) - 1, true
}

// prefix is the i-th node CIDR.
func (s *cidrSet) prefix(i int) netip.Prefix {
	host := s.cluster.Addr().BitLen() - s.bits
	v := new(big.Int).Add(addrInt(s.cluster.Addr()), new(big.Int).Lsh(big.NewInt(int64(i)), uint(host)))
	b := make([]byte, s.cluster.Addr().BitLen()/8)
	v.FillBytes(b)
	a, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(a, s.bits)
}

func addrInt(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }
