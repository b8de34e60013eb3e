package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kubelite/kubelite/nodeagent"
	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
)

// releaseStartupMemory gives back to the system what start-up used and the
// running server does not need: the heap garbage it left (OpenAPI, discovery,
// the first lists of every informer) and the executable's pages that only
// start-up ran or read (package initialisation, the assembly of the API
// server and its routes). Of the ~73 MiB of the binary start-up maps, an idle
// server uses some 20-25 MiB; the rest leaves memory. A code path first used
// later reads its pages from disk then, one page at a time (see
// dropExecutablePages): a little latency on first use for ~50 MiB less.
func releaseStartupMemory(logger klog.Logger) {
	restoreStartupGC()
	debug.FreeOSMemory()
	n, err := dropExecutablePages()
	if err != nil {
		logger.Error(err, "Cannot drop start-up pages of the executable")
		return
	}
	logger.V(2).Info("Released start-up memory", "executableMiB", n>>20)
}

// startupGCPercent is the garbage collector's goal during start-up: a
// collection once the heap has grown by half of what is live, rather than
// doubled (GOGC=100). Start-up allocates several times what it keeps
// (OpenAPI, discovery, the first lists of every informer), and the objects it
// keeps are scattered among that garbage: a heap allowed to double leaves
// them on more, emptier pages, which stay resident after the garbage is
// gone. Measured on an empty data dir, 3 s after ready: anonymous memory
// 74 MiB with 100, 66 MiB with 50.
const startupGCPercent = 50

var startupGC struct {
	sync.Mutex
	lowered bool
	prev    int
}

// lowerStartupGC sets the collector's goal to startupGCPercent until
// restoreStartupGC, unless the user chose one with GOGC. A server process
// calls it once, first; tests that run servers in-process leave it alone.
func lowerStartupGC() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	startupGC.Lock()
	defer startupGC.Unlock()
	if !startupGC.lowered {
		startupGC.prev, startupGC.lowered = debug.SetGCPercent(startupGCPercent), true
	}
}

// restoreStartupGC puts back the collector's goal that lowerStartupGC
// replaced, for a busy server's sake.
func restoreStartupGC() {
	startupGC.Lock()
	defer startupGC.Unlock()
	if startupGC.lowered {
		debug.SetGCPercent(startupGC.prev)
		startupGC.lowered = false
	}
}

// idleWindow is how often the server looks back to see whether it was
// idle.
const idleWindow = 10 * time.Second

// idleAllocation is the most a window may allocate and still count as idle.
// An idle server allocates some 0.4 MB/s (Lease renewals, watch bookmarks,
// the garbage collector's discovery refresh); one that serves clients, tens
// of MB/s and more.
const idleAllocation = 16 << 20

// releaseWhenIdle gives the heap's free pages back to the system after each
// window in which the server was idle, until ctx ends.
//
// Go lets the heap grow to twice what is live before it collects (GOGC=100),
// and keeps the pages it freed. A busy server needs that head-room; an idle
// one only fills it with the garbage of its own housekeeping, so that its
// resident memory climbed from ~92 to ~116 MiB in its first three idle
// minutes. A collection every idle window costs little (an idle heap is
// small and changes little) and holds it near what is live. Busy windows are
// left to the runtime.
func releaseWhenIdle(ctx context.Context, logger klog.Logger) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	allocated := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	t := time.NewTicker(idleWindow)
	defer t.Stop()
	last := allocated()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := allocated()
		if now-last < idleAllocation {
			debug.FreeOSMemory()
			logger.V(5).Info("Released idle memory", "allocatedMiB", (now-last)>>20)
		}
		// What the collection itself allocated does not count against
		// the next window.
		last = allocated()
	}
}

// dropExecutablePages pages out the executable's read-only mappings (code,
// read-only data) and returns how many bytes those mappings span.
//
// Dropping the pages alone is not enough: the kernel would read them back
// around each page the server still touches (read-ahead, 128 KiB), and map
// the cached neighbours of each fault (fault-around), so that half the
// binary came back resident within seconds. The mappings are therefore
// marked random-access (MADV_RANDOM: no read-ahead) and their pages paged
// out (MADV_PAGEOUT: unmapped and, unless another process maps them, dropped
// from the page cache); a page used again is read alone. Where the kernel
// refuses MADV_PAGEOUT (before Linux 5.4), the pages are only unmapped
// (MADV_DONTNEED) and stay cached.
//
// A mapping the process has written to (one with anonymous pages, as a
// relocated read-only segment of a position-independent binary) is left
// alone: dropping its pages would lose the writes.
func dropExecutablePages() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return 0, err
	}
	// Pages the kernel has not yet written back (a binary just built) cannot
	// be dropped: write them first.
	if bin, err := os.Open(exe); err == nil {
		_ = bin.Sync()
		bin.Close()
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	type mapping struct {
		start, end uint64
		readOnly   bool
		path       string
		anonymous  bool
	}
	var maps []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			// A mapping's header: address perms offset dev inode [path].
			lo, hi, _ := strings.Cut(fields[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 != nil || err2 != nil {
				return 0, fmt.Errorf("parse mapping %q", sc.Text())
			}
			m := mapping{start: start, end: end, readOnly: !strings.Contains(fields[1], "w")}
			if len(fields) == 6 {
				m.path = fields[5]
			}
			maps = append(maps, m)
		case len(fields) >= 2 && fields[0] == "Anonymous:" && len(maps) > 0:
			maps[len(maps)-1].anonymous = fields[1] != "0"
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	var total int
	for _, m := range maps {
		if m.path != exe || !m.readOnly || m.anonymous {
			continue
		}
		if err := madvise(m.start, m.end, unix.MADV_RANDOM); err != nil {
			return total, err
		}
		err := madvise(m.start, m.end, unix.MADV_PAGEOUT)
		if errors.Is(err, unix.EINVAL) {
			err = madvise(m.start, m.end, unix.MADV_DONTNEED)
		}
		if err != nil {
			return total, err
		}
		total += int(m.end - m.start)
	}
	return total, nil
}

func madvise(start, end uint64, advice int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), uintptr(advice)); errno != 0 {
		return fmt.Errorf("madvise %x-%x (%d): %w", start, end, advice, errno)
	}
	return nil
}

// largeHeap is the live heap from which a server's collector gets
// largeHeapGCPercent instead of Go's 100.
//
// The collector's work per cycle grows with the live heap, and while a cycle
// marks, every goroutine that allocates pays for part of it (assists). With
// 5,000 nodes and 150,000 pods (bench/SCALE.md) the server held 4 GiB live:
// a cycle every ~20 s, each marking for 8-12 s with up to 5 CPU-s of assists
// taken from the requests being served, about 20% of the server's CPU. A
// heap allowed to triple rather than double collects half as often. A small
// server (an idle one holds ~40 MiB) keeps Go's default, and its memory.
const (
	largeHeap          = 1 << 30
	largeHeapGCPercent = 200
)

// memoryLimitShare is the share of the memory available to the process (its
// cgroup's limit, else the machine's) that the Go runtime is asked to stay
// under: a soft limit, at which it collects sooner instead of growing, so
// that the larger head-room of a large heap never exhausts the machine.
const memoryLimitShare = 0.6

// tuneLargeHeaps sets the soft memory limit and then, every few seconds
// until ctx ends, the collector's goal from the live heap: largeHeapGCPercent
// at largeHeap and above, defaultGCPercent below. A GOGC or GOMEMLIMIT in the
// environment is the user's choice and is left alone (GOGC: no tuning at
// all; GOMEMLIMIT: no limit of kubelite's).
func tuneLargeHeaps(ctx context.Context, logger klog.Logger) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if total := availableMemory(); total > 0 {
			limit := int64(float64(total) * memoryLimitShare)
			debug.SetMemoryLimit(limit)
			logger.V(2).Info("Soft memory limit", "MiB", limit>>20)
		}
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	current := defaultGCPercent
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		startupGC.Lock()
		starting := startupGC.lowered
		startupGC.Unlock()
		if starting {
			continue // start-up's own goal (lowerStartupGC) holds until ready
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		want := gcPercentFor(sample[0].Value.Uint64(), current)
		if want != current {
			debug.SetGCPercent(want)
			logger.V(2).Info("Collector goal", "GOGC", want, "liveMiB", sample[0].Value.Uint64()>>20)
			current = want
		}
	}
}

// defaultGCPercent is Go's GOGC.
const defaultGCPercent = 100

// gcPercentFor is the collector's goal for a live heap of live bytes, when
// current is the goal now: largeHeapGCPercent from largeHeap on, Go's default
// below 7/8 of it, and in between whatever is set, so that a heap near the
// boundary does not switch back and forth.
func gcPercentFor(live uint64, current int) int {
	switch {
	case live >= largeHeap:
		return largeHeapGCPercent
	case live < largeHeap-largeHeap/8:
		return defaultGCPercent
	}
	return current
}

// availableMemory is the memory limit of the process's cgroup, or the
// machine's memory when there is none or it is larger; 0 when neither can be
// read.
func availableMemory() uint64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return machineMemory()
	}
	return cgroupMemoryLimit(b, os.ReadFile, machineMemory())
}

// cgroupMemoryLimit is the smallest of machine and the memory limits of the
// cgroups that selfCgroup (the text of /proc/self/cgroup) names, as a
// container or a systemd unit with MemoryMax= has: memory.max (v2,
// "0::/path") or memory.limit_in_bytes (v1, "N:memory:/path"), read with
// read. A machine of 0 (unknown) leaves the limits alone.
func cgroupMemoryLimit(selfCgroup []byte, read func(string) ([]byte, error), machine uint64) uint64 {
	limit := machine
	for line := range strings.Lines(string(selfCgroup)) {
		var file string
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			file = filepath.Join("/sys/fs/cgroup", path, "memory.max")
		} else if _, path, ok := strings.Cut(strings.TrimSpace(line), ":memory:"); ok {
			file = filepath.Join("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes")
		} else {
			continue
		}
		b, err := read(file)
		if err != nil {
			continue
		}
		// "max" (v2's no limit) does not parse; v1's no limit is larger than
		// any machine.
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && (limit == 0 || v < limit) {
			limit = v
		}
	}
	return limit
}

// machineMemory is the machine's memory (MemTotal), in bytes; 0 if
// unreadable.
func machineMemory() uint64 {
	n, err := nodeagent.MemTotal("/proc/meminfo")
	if err != nil || n < 0 {
		return 0
	}
	return uint64(n)
}
