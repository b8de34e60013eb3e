package netpol

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRanges(t *testing.T) {
	r := func(p string) ipRange { return prefixRange(netip.MustParsePrefix(p)) }
	str := func(rs []ipRange) []string {
		var out []string
		for _, x := range rs {
			out = append(out, x.String())
		}
		return out
	}
	cases := []struct {
		name string
		got  []ipRange
		want []string
	}{
		{"prefix", []ipRange{r("10.1.2.3/24")}, []string{"10.1.2.0-10.1.2.255"}},
		{"host", []ipRange{r("10.1.2.3/32")}, []string{"10.1.2.3"}},
		{"everything", []ipRange{r("0.0.0.0/0")}, []string{"0.0.0.0-255.255.255.255"}},
		{"ipv6", []ipRange{r("fd00::/120")}, []string{"fd00::-fd00::ff"}},
		{"except in the middle", r("10.0.0.0/24").without(r("10.0.0.16/28")), []string{"10.0.0.0-10.0.0.15", "10.0.0.32-10.0.0.255"}},
		{"except at the start", r("10.0.0.0/24").without(r("10.0.0.0/25")), []string{"10.0.0.128-10.0.0.255"}},
		{"except all", r("10.0.0.0/24").without(r("10.0.0.0/16")), nil},
		{"except elsewhere", r("10.0.0.0/24").without(r("10.9.0.0/16")), []string{"10.0.0.0-10.0.0.255"}},
		{"merge overlapping, keep touching apart", mergeRanges([]ipRange{r("10.0.1.0/24"), r("10.0.0.0/24"), r("10.0.0.128/25"), r("10.0.3.0/24"), r("10.0.0.5/32")}),
			[]string{"10.0.0.0-10.0.0.255", "10.0.1.0-10.0.1.255", "10.0.3.0-10.0.3.255"}},
		{"addresses stay single", mergeRanges([]ipRange{r("10.0.0.3/32"), r("10.0.0.2/32"), r("10.0.0.2/32")}), []string{"10.0.0.2", "10.0.0.3"}},
		{"merge up to the last address", mergeRanges([]ipRange{r("255.255.255.255/32"), r("0.0.0.0/0")}), []string{"0.0.0.0-255.255.255.255"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, str(tc.got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
