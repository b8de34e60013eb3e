package nodeipam

import (
	"errors"
	"net/netip"
	"testing"
)

func TestCIDRSet(t *testing.T) {
	tests := []struct {
		cluster string
		bits    int
		want    []string // in allocation order, until full
	}{
		{"10.42.0.0/22", 24, []string{"10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24", "10.42.3.0/24"}},
		{"10.42.0.0/16", 16, []string{"10.42.0.0/16"}},
		{"fd00:42::/62", 64, []string{"fd00:42::/64", "fd00:42:0:1::/64", "fd00:42:0:2::/64", "fd00:42:0:3::/64"}},
	}
	for _, tc := range tests {
		t.Run(tc.cluster, func(t *testing.T) {
			s, err := newCIDRSet(netip.MustParsePrefix(tc.cluster), tc.bits)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.want {
				got, err := s.allocate()
				if err != nil || got.String() != want {
					t.Fatalf("allocate() = %v, %v; want %s", got, err, want)
				}
			}
			if got, err := s.allocate(); !errors.Is(err, ErrFull) {
				t.Fatalf("allocate() on a full set = %v, %v; want ErrFull", got, err)
			}
			s.release(netip.MustParsePrefix(tc.want[0]))
			if got, err := s.allocate(); err != nil || got.String() != tc.want[0] {
				t.Fatalf("allocate() after release = %v, %v; want %s", got, err, tc.want[0])
			}
		})
	}
}

func TestCIDRSetOccupy(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("10.42.0.0/22"), 24)
	if err != nil {
		t.Fatal(err)
	}
	if s.occupy(netip.MustParsePrefix("10.128.0.0/24")) {
		t.Error("occupy outside the cluster CIDR reported an overlap")
	}
	if s.occupy(netip.MustParsePrefix("fd00::/64")) {
		t.Error("occupy of another family reported an overlap")
	}
	// A service range over two node CIDRs, and one node CIDR.
	s.occupy(netip.MustParsePrefix("10.42.0.0/23"))
	s.occupy(netip.MustParsePrefix("10.42.3.0/24"))
	if got, err := s.allocate(); err != nil || got.String() != "10.42.2.0/24" {
		t.Fatalf("allocate() = %v, %v; want 10.42.2.0/24", got, err)
	}
	if _, err := s.allocate(); !errors.Is(err, ErrFull) {
		t.Fatalf("allocate() = %v; want ErrFull", err)
	}
	s.release(netip.MustParsePrefix("10.42.1.0/25")) // not a node CIDR: ignored
	if _, err := s.allocate(); !errors.Is(err, ErrFull) {
		t.Fatalf("allocate() after releasing a non-node CIDR = %v; want ErrFull", err)
	}
}

func TestNewCIDRSetErrors(t *testing.T) {
	for _, tc := range []struct {
		cluster string
		bits    int
	}{{"10.42.0.0/16", 8}, {"10.42.0.0/16", 33}, {"fd00::/48", 112}} {
		if _, err := newCIDRSet(netip.MustParsePrefix(tc.cluster), tc.bits); err == nil {
			t.Errorf("newCIDRSet(%s, %d) succeeded", tc.cluster, tc.bits)
		}
	}
}
