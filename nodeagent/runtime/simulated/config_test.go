package simulated

import "testing"

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
