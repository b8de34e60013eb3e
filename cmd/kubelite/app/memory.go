package app

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
)

// releaseStartupMemory gives back to the system what start-up used and the
// running server does not need: the heap garbage it left (OpenAPI, discovery,
// the first lists of every informer) and the executable's pages that only
// start-up ran or read (package initialisation, the assembly of the API
// server and its routes: on an idle server about half of the 70 MiB of the
// binary that start-up maps). The pages stay in the page cache: what is
// still used is mapped again on its next use, without I/O, and the kernel
// may reclaim the rest rather than keep it mapped in the process.
func releaseStartupMemory(logger klog.Logger) {
	debug.FreeOSMemory()
	n, err := dropExecutablePages()
	if err != nil {
		logger.Error(err, "Cannot drop start-up pages of the executable")
		return
	}
	logger.V(2).Info("Released start-up memory", "executableMiB", n>>20)
}

// dropExecutablePages unmaps the pages of the executable's read-only
// mappings (code, read-only data) and returns how many bytes those mappings
// span. A mapping the process has written to (one with anonymous pages, as
// a relocated read-only segment of a position-independent binary) is left
// alone: dropping its pages would lose the writes.
func dropExecutablePages() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return 0, err
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
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_DONTNEED); errno != 0 {
			return total, fmt.Errorf("madvise %x-%x: %w", m.start, m.end, errno)
		}
		total += int(m.end - m.start)
	}
	return total, nil
}
