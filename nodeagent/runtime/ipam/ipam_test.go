package ipam

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPool(t *testing.T) {
	tests := []struct {
		name  string
		cidr  string
		n     int      // addresses to allocate
		first []string // the first ones handed out
		full  bool     // the n+1st fails
	}{
		{"ipv4 /24", "10.244.3.0/24", 253, []string{"10.244.3.2", "10.244.3.3"}, true},
		{"unmasked", "10.244.3.77/24", 1, []string{"10.244.3.2"}, false},
		{"ipv4 /30", "10.0.0.0/30", 1, []string{"10.0.0.2"}, true},
		{"ipv4 /23 crosses a byte", "10.0.0.0/23", 509, []string{"10.0.0.2"}, true},
		{"ipv6 /64", "fd00:10:244:1::/64", 3, []string{"fd00:10:244:1::2", "fd00:10:244:1::3", "fd00:10:244:1::4"}, false},
		{"ipv6 /120", "fd00::/120", 254, []string{"fd00::2"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPool(tc.cidr)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			var got []string
			for range tc.n {
				ip, err := p.Allocate()
				if err != nil {
					t.Fatalf("allocate %d: %v", len(got), err)
				}
				if seen[ip] {
					t.Fatalf("%s handed out twice", ip)
				}
				seen[ip] = true
				got = append(got, ip)
			}
			if diff := cmp.Diff(tc.first, got[:len(tc.first)]); diff != "" {
				t.Errorf("first addresses (-want +got):\n%s", diff)
			}
			_, err = p.Allocate()
			if tc.full != errors.Is(err, ErrNoAddresses) {
				t.Errorf("allocate beyond %d: %v, want full=%v", tc.n, err, tc.full)
			}
			if tc.full {
				p.Release(got[0])
				p.Release(got[0])      // twice: no effect
				p.Release("192.0.2.1") // foreign: no effect
				if ip, err := p.Allocate(); err != nil || ip != got[0] {
					t.Errorf("allocate after release = %s, %v; want %s", ip, err, got[0])
				}
			}
		})
	}
}

func TestPoolReusesLast(t *testing.T) {
	p, err := NewPool("10.0.0.0/29") // .2 to .6
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p.Allocate()
	p.Release(a)
	b, _ := p.Allocate()
	if a == b {
		t.Errorf("a released address came back before the rest of the range: %s", a)
	}
}

func TestPoolTake(t *testing.T) {
	p, err := NewPool("10.0.0.0/29") // .2 to .6
	if err != nil {
		t.Fatal(err)
	}
	if !p.Take("10.0.0.2") || p.Take("10.0.0.2") || p.Take("10.0.0.1") || p.Take("192.0.2.2") {
		t.Fatal("Take: want true once for a free address of the pool, false otherwise")
	}
	if a, _ := p.Allocate(); a == "10.0.0.2" {
		t.Errorf("Allocate handed out the taken address %s", a)
	}
}
