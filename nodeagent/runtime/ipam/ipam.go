// Package ipam hands out the addresses of a node's pod CIDRs to sandboxes.
package ipam

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// ErrNoAddresses means a pod CIDR has no free address left.
var ErrNoAddresses = errors.New("no free pod address")

// maxPoolSize caps the addresses one pool hands out, so that an IPv6 /64
// costs no more than a bitmap of 64 Ki bits.
const maxPoolSize = 1 << 16

// Pool hands out the addresses of one pod CIDR. The first two addresses (the
// network's and the gateway's, as bridge networks use them) and an IPv4
// network's broadcast address are never handed out. Freed addresses are
// reused only after the rest of the range, as host-local IPAM does.
type Pool struct {
	prefix netip.Prefix
	// first is the offset of the first usable address, size the number of
	// usable addresses from it.
	first, size int
	used        []uint64
	next, free  int
}

// NewPool returns a pool of cidr's addresses, none used.
func NewPool(cidr string) (*Pool, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("parse pod CIDR: %w", err)
	}
	prefix = prefix.Masked()
	hostBits := prefix.Addr().BitLen() - prefix.Bits()
	size := maxPoolSize
	if hostBits < 17 {
		size = 1 << hostBits
		if prefix.Addr().Is4() {
			size-- // broadcast
		}
	}
	size -= 2 // network and gateway
	if size < 1 {
		return nil, fmt.Errorf("pod CIDR %s has no usable addresses", cidr)
	}
	return &Pool{prefix: prefix, first: 2, size: size, used: make([]uint64, (size+63)/64), free: size}, nil
}

// Allocate returns a free address.
func (p *Pool) Allocate() (string, error) {
	if p.free == 0 {
		return "", fmt.Errorf("allocate from %s: %w", p.prefix, ErrNoAddresses)
	}
	for {
		i := p.next
		p.next = (p.next + 1) % p.size
		if p.used[i/64]&(1<<(i%64)) == 0 {
			p.used[i/64] |= 1 << (i % 64)
			p.free--
			return p.addr(i).String(), nil
		}
	}
}

// Release frees addr; addresses not from p are ignored.
func (p *Pool) Release(addr string) {
	i, ok := p.index(addr)
	if !ok || p.used[i/64]&(1<<(i%64)) == 0 {
		return
	}
	p.used[i/64] &^= 1 << (i % 64)
	p.free++
}

// index is the position of addr among p's usable addresses, if it is one.
func (p *Pool) index(addr string) (int, bool) {
	a, err := netip.ParseAddr(addr)
	if err != nil || !p.prefix.Contains(a) {
		return 0, false
	}
	ab, pb := a.AsSlice(), p.prefix.Addr().AsSlice()
	n := len(ab) - 4
	if string(ab[:n]) != string(pb[:n]) {
		return 0, false // beyond any offset a pool hands out
	}
	i := int(binary.BigEndian.Uint32(ab[n:])-binary.BigEndian.Uint32(pb[n:])) - p.first
	return i, i >= 0 && i < p.size
}

// addr is the i-th usable address.
func (p *Pool) addr(i int) netip.Addr {
	b := p.prefix.Addr().AsSlice()
	carry := i + p.first
	for j := len(b) - 1; j >= 0 && carry > 0; j-- {
		sum := int(b[j]) + carry
		b[j] = byte(sum)
		carry = sum >> 8
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Take marks addr used, if it is one of p's free addresses, and reports
// whether it did (a restarted runtime takes the addresses its pods hold).
func (p *Pool) Take(addr string) bool {
	i, ok := p.index(addr)
	if !ok || p.used[i/64]&(1<<(i%64)) != 0 {
		return false
	}
	p.used[i/64] |= 1 << (i % 64)
	p.free--
	return true
}
