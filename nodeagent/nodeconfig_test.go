package nodeagent

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestNodeConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     NodeConfig
		wantErr string
	}{
		{"simulated", SimulatedNodeConfig("sim-0", 0, true), ""},
		{"no name", NodeConfig{}, "node name is required"},
		{"bad name", NodeConfig{Name: "Not_A_Name"}, "node name"},
		{"bad IP", NodeConfig{Name: "n", InternalIPs: []string{"300.1.1.1"}}, "not an IP address"},
		{"bad CIDR", NodeConfig{Name: "n", PodCIDRs: []string{"10.0.0.0/33"}}, "pod CIDR"},
		{"negative", NodeConfig{Name: "n", Reserved: corev1.ResourceList{corev1.ResourceCPU: q("-1")}}, "negative quantity"},
		{"port", NodeConfig{Name: "n", KubeletPort: 70000}, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNodeSimulatedConfigsUnique(t *testing.T) {
	const n = 16384
	ips, cidrs, ids := map[string]int{}, map[string]int{}, map[string]int{}
	for i := range n {
		c := SimulatedNodeConfig(fmt.Sprintf("sim-%05d", i), i, false)
		if err := c.Validate(); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		for m, v := range map[*map[string]int]string{&ips: c.InternalIPs[0], &cidrs: c.PodCIDRs[0], &ids: c.MachineID} {
			if j, dup := (*m)[v]; dup {
				t.Fatalf("nodes %d and %d share %s", j, i, v)
			}
			(*m)[v] = i
		}
	}
	tests := []struct {
		index     int
		wantIP    string
		wantCIDRs []string
	}{
		{0, "100.64.0.1", []string{"10.128.0.0/24"}},
		{255, "100.64.1.0", []string{"10.128.255.0/24"}},
		{16383, "100.64.64.0", []string{"10.191.255.0/24"}},
		{16384, "100.64.64.1", nil},
	}
	for _, tc := range tests {
		c := SimulatedNodeConfig("sim", tc.index, false)
		if c.InternalIPs[0] != tc.wantIP {
			t.Errorf("index %d: IP %s, want %s", tc.index, c.InternalIPs[0], tc.wantIP)
		}
		if diff := cmp.Diff(tc.wantCIDRs, c.PodCIDRs); diff != "" {
			t.Errorf("index %d: CIDRs (-want +got):\n%s", tc.index, diff)
		}
	}
	if got := SimulatedNodeConfig("sim", 0, true).Taints; !cmp.Equal(got, []corev1.Taint{SimulatedTaint()}) {
		t.Errorf("taints %v, want the simulated taint", got)
	}
}

// TestNodeHeartbeatPhasesSpread checks that 5,000 nodes named as simulated
// nodes are spread evenly over the heartbeat period: no tenth of a second
// holds more than twice its share.
func TestNodeHeartbeatPhasesSpread(t *testing.T) {
	const nodes, buckets = 5000, 100
	var count [buckets]int
	for i := range nodes {
		h := nameHash(fmt.Sprintf("sim-%d", i))
		count[int(float64(h>>11)/(1<<53)*buckets)]++
	}
	for b, c := range count {
		if c > 2*nodes/buckets || c < nodes/buckets/2 {
			t.Errorf("bucket %d holds %d of %d nodes", b, c, nodes)
		}
	}
}

func TestNodeLocalConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := machineFiles{
		meminfo:     write("meminfo", "MemTotal:       24576000 kB\nMemFree:        1000 kB\n"),
		osRelease:   write("os-release", "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
		bootID:      write("boot_id", "b0b0b0b0-0000-0000-0000-000000000001\n"),
		productUUID: filepath.Join(dir, "missing"),
		machineID:   []string{filepath.Join(dir, "missing"), write("machine-id", "0123456789abcdef0123456789abcdef\n")},
	}
	c, err := localNodeConfig("", filepath.Join(dir, "data"), files)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if c.Name != strings.ToLower(host) {
		t.Errorf("name %q, want the host name %q", c.Name, host)
	}
	mem := c.Capacity[corev1.ResourceMemory]
	if mem.Value() != 24576000*1024 {
		t.Errorf("memory %s", mem.String())
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceEphemeralStorage, corev1.ResourcePods} {
		if v := c.Capacity[r]; v.Sign() <= 0 {
			t.Errorf("capacity %s = %s", r, v.String())
		}
	}
	want := NodeConfig{OSImage: "Debian GNU/Linux 12 (bookworm)", BootID: "b0b0b0b0-0000-0000-0000-000000000001",
		MachineID: "0123456789abcdef0123456789abcdef"}
	got := NodeConfig{OSImage: c.OSImage, BootID: c.BootID, MachineID: c.MachineID, SystemUUID: c.SystemUUID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if c.KernelVersion == "" {
		t.Error("no kernel version")
	}
	for _, ip := range c.InternalIPs {
		if p := net.ParseIP(ip); p == nil || p.To4() == nil || p.IsLoopback() {
			t.Errorf("internal IP %q", ip)
		}
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}

	files.meminfo = filepath.Join(dir, "missing")
	if _, err := localNodeConfig("n", dir, files); err == nil {
		t.Error("no error without /proc/meminfo")
	}
}
