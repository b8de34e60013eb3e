package registry

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"sync"
)

// Allocation errors.
var (
	ErrFull       = errors.New("range is full")
	ErrAllocated  = errors.New("provided value is already allocated")
	ErrNotInRange = errors.New("provided value is not in the valid range")
)

// allocator hands out the integers [0, size) once each. It is the state behind
// cluster IP and node port allocation; the service hooks rebuild it from the stored
// services when the server starts.
type allocator struct {
	mu   sync.Mutex
	size int
	// reserved offsets below it are handed out only on request, or when
	// nothing else is left (the kubernetes Service takes the first IP).
	reserved int
	used     map[int]bool
	rand     *rand.Rand
}

func newAllocator(size, reserved int, seed uint64) *allocator {
	return &allocator{size: size, reserved: reserved, used: map[int]bool{}, rand: rand.New(rand.NewPCG(seed, seed>>1|1))}
}

// allocate marks offset used; ErrAllocated if it already was.
func (a *allocator) allocate(offset int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if offset < 0 || offset >= a.size {
		return ErrNotInRange
	}
	if a.used[offset] {
		return ErrAllocated
	}
	a.used[offset] = true
	return nil
}

// next allocates a free offset, chosen at random so that concurrent servers or a
// restarted one rarely collide.
func (a *allocator) next() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.used) >= a.size {
		return 0, ErrFull
	}
	start := a.rand.IntN(a.size)
	for i := 0; i < a.size; i++ {
		o := (start + i) % a.size
		if o < a.reserved && len(a.used) < a.size-a.reserved {
			continue
		}
		if !a.used[o] {
			a.used[o] = true
			return o, nil
		}
	}
	return 0, ErrFull
}

func (a *allocator) release(offset int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, offset)
}

func (a *allocator) has(offset int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used[offset]
}

// ipRange maps the usable addresses of a CIDR (without the network address and,
// for IPv4, the broadcast address) to offsets.
type ipRange struct {
	cidr *net.IPNet
	base *big.Int
	size int
}

func newIPRange(cidr *net.IPNet) (*ipRange, error) {
	ones, bits := cidr.Mask.Size()
	hostBits := bits - ones
	if hostBits < 2 {
		return nil, fmt.Errorf("service CIDR %v is too small", cidr)
	}
	if hostBits > 20 {
		hostBits = 20 // at most about a million addresses are handed out
	}
	size := 1<<hostBits - 1
	if bits == 32 && hostBits == bits-ones {
		size-- // the broadcast address
	}
	base := new(big.Int).SetBytes(normalize(cidr.IP))
	base.Add(base, big.NewInt(1))
	return &ipRange{cidr: cidr, base: base, size: size}, nil
}

func normalize(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip.To16()
}

func (r *ipRange) offset(ip net.IP) (int, bool) {
	if ip == nil || !r.cidr.Contains(ip) {
		return 0, false
	}
	d := new(big.Int).Sub(new(big.Int).SetBytes(normalize(ip)), r.base)
	if d.Sign() < 0 || !d.IsInt64() || d.Int64() >= int64(r.size) {
		return 0, false
	}
	return int(d.Int64()), true
}

func (r *ipRange) ip(offset int) net.IP {
	v := new(big.Int).Add(r.base, big.NewInt(int64(offset)))
	n := len(normalize(r.cidr.IP))
	b := v.Bytes()
	out := make(net.IP, n)
	copy(out[n-len(b):], b)
	return out
}
