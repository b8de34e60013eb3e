package simulated

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
			p, err := newPool(tc.cidr)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			var got []string
			for range tc.n {
				ip, err := p.allocate()
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
			_, err = p.allocate()
			if tc.full != errors.Is(err, ErrNoAddresses) {
				t.Errorf("allocate beyond %d: %v, want full=%v", tc.n, err, tc.full)
			}
			if tc.full {
				p.release(got[0])
				p.release(got[0])      // twice: no effect
				p.release("192.0.2.1") // foreign: no effect
				if ip, err := p.allocate(); err != nil || ip != got[0] {
					t.Errorf("allocate after release = %s, %v; want %s", ip, err, got[0])
				}
			}
		})
	}
}

func TestPoolReusesLast(t *testing.T) {
	p, err := newPool("10.0.0.0/29") // .2 to .6
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p.allocate()
	p.release(a)
	b, _ := p.allocate()
	if a == b {
		t.Errorf("a released address came back before the rest of the range: %s", a)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"dual stack", Config{PodCIDRs: []string{"10.244.1.0/24", "fd00::/64"}}, true},
		{"two ipv4", Config{PodCIDRs: []string{"10.244.1.0/24", "10.244.2.0/24"}}, false},
		{"not a CIDR", Config{PodCIDRs: []string{"10.244.1.0"}}, false},
		{"too small", Config{PodCIDRs: []string{"10.244.1.0/31"}}, false},
		{"bad version", Config{Version: "1 2"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
