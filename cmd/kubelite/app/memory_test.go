package app

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// rssFileKiB is the process's resident memory backed by files.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "RssFile:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestDropExecutablePages checks that the executable's pages leave the
// process's resident memory and that its code still runs afterwards.
func TestDropExecutablePages(t *testing.T) {
	before := rssFileKiB(t)
	n, err := dropExecutablePages()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	if n == 0 {
		t.Fatal("no mapping of the executable dropped")
	}
	if after >= before || before-after < 1024 {
		t.Errorf("RssFile %d KiB before, %d KiB after dropping %d bytes: want at least 1 MiB less", before, after, n)
	}
	// Code and read-only data fault back in.
	if _, err := NewServer(ServerConfig{ServiceClusterIPRange: "10.0.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("RssFile %d KiB -> %d KiB", before, after)
}

// TestStartupGC checks that start-up collects at startupGCPercent and that
// the release after start-up puts the previous goal back, unless GOGC chose
// one.
func TestStartupGC(t *testing.T) {
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	prev := debug.SetGCPercent(130)
	defer debug.SetGCPercent(prev)
	lowerStartupGC()
	lowerStartupGC() // a second call keeps the first goal to restore
	if got := debug.SetGCPercent(startupGCPercent); got != startupGCPercent {
		t.Fatalf("GC percent during start-up = %d, want %d", got, startupGCPercent)
	}
	restoreStartupGC()
	if got := debug.SetGCPercent(130); got != 130 {
		t.Fatalf("GC percent after start-up = %d, want 130", got)
	}
	t.Setenv("GOGC", "200")
	lowerStartupGC()
	if got := debug.SetGCPercent(130); got != 130 {
		t.Fatalf("GC percent with GOGC set = %d, want it left at 130", got)
	}
	restoreStartupGC()
}

func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		live    uint64
		current int
		want    int
	}{
		{live: 40 << 20, current: defaultGCPercent, want: defaultGCPercent},
		{live: largeHeap, current: defaultGCPercent, want: largeHeapGCPercent},
		{live: 4 * largeHeap, current: defaultGCPercent, want: largeHeapGCPercent},
		// In the margin below largeHeap, the goal stays whatever it was.
		{live: largeHeap - largeHeap/16, current: largeHeapGCPercent, want: largeHeapGCPercent},
		{live: largeHeap - largeHeap/16, current: defaultGCPercent, want: defaultGCPercent},
		// Under it, back to Go's default.
		{live: largeHeap / 2, current: largeHeapGCPercent, want: defaultGCPercent},
	} {
		if got := gcPercentFor(tc.live, tc.current); got != tc.want {
			t.Errorf("gcPercentFor(%d MiB, %d) = %d, want %d", tc.live>>20, tc.current, got, tc.want)
		}
	}
}

func TestAvailableMemory(t *testing.T) {
	machine := machineMemory()
	if machine < 64<<20 {
		t.Fatalf("machineMemory() = %d bytes, want the machine's MemTotal", machine)
	}
	if got := availableMemory(); got == 0 || got > machine {
		t.Errorf("availableMemory() = %d, want between 1 and the machine's %d", got, machine)
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	const machine = 24 << 30
	files := map[string]string{
		"/sys/fs/cgroup/kubepods/pod1/memory.max":                   "8589934592\n",
		"/sys/fs/cgroup/user.slice/memory.max":                      "max\n",
		"/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes": "9223372036854771712\n",
		"/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes":    "4294967296\n",
		"/sys/fs/cgroup/memory/big/memory.limit_in_bytes":           "68719476736\n",
	}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	for _, tc := range []struct {
		name, cgroup string
		want         uint64
	}{
		{"v2 with a limit", "0::/kubepods/pod1\n", 8 << 30},
		{"v2 without one", "0::/user.slice\n", machine},
		{"v2 root, no file", "0::/\n", machine},
		{"v1 unlimited", "4:memory:/process_api/x\n0::/\n", machine},
		{"v1 with a limit", "9:name=systemd:/\n4:memory:/docker/abc\n0::/\n", 4 << 30},
		{"a limit above the machine", "4:memory:/big\n", machine},
	} {
		if got := cgroupMemoryLimit([]byte(tc.cgroup), read, machine); got != tc.want {
			t.Errorf("%s: cgroupMemoryLimit = %d MiB, want %d MiB", tc.name, got>>20, tc.want>>20)
		}
	}
}
