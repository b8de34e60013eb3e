package app

import (
	"net"
	"testing"
)

func TestClusterDNSAddress(t *testing.T) {
	for _, tc := range []struct {
		flag, cidr, want string
	}{
		{"", "10.96.0.0/12", "10.96.0.10"},
		{"", "10.43.0.0/16", "10.43.0.10"},
		{"", "fd00:10::/108", "fd00:10::a"},
		{"10.96.0.53", "10.96.0.0/12", "10.96.0.53"},
		{"", "10.96.0.0/29", ""},
		{"10.96.0.300", "10.96.0.0/12", ""},
	} {
		_, cidr, _ := net.ParseCIDR(tc.cidr)
		ip, err := clusterDNSAddress(tc.flag, cidr)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q in %s: %v, want an error", tc.flag, tc.cidr, ip)
		case tc.want != "" && (err != nil || ip.String() != tc.want):
			t.Errorf("%q in %s: %v, %v; want %s", tc.flag, tc.cidr, ip, err, tc.want)
		}
	}
}
