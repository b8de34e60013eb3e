package volumes

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// makeEmptyDir makes an emptyDir volume: a directory anyone may write, as
// upstream's (0777), owned by gid when not negative (setgid, so that new
// files keep the group). Medium Memory mounts a tmpfs there, as large as
// the smaller of sizeLimit and the pod's memory limit (podLimit, 0 if
// none), as upstream; with neither, the kernel's default.
func makeEmptyDir(dir string, src *corev1.EmptyDirVolumeSource, gid, podLimit int64) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	if src.Medium == corev1.StorageMediumMemory {
		mounted, err := isMountPoint(dir)
		if err != nil {
			return err
		}
		if !mounted {
			opts := "mode=0777"
			size := podLimit
			if src.SizeLimit != nil && !src.SizeLimit.IsZero() && (size == 0 || src.SizeLimit.Value() < size) {
				size = src.SizeLimit.Value()
			}
			if size > 0 {
				opts += ",size=" + strconv.FormatInt(size, 10)
			}
			if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
				return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
			}
		}
	} else if src.Medium != corev1.StorageMediumDefault {
		return fmt.Errorf("emptyDir medium %q is not supported", src.Medium)
	}
	mode := os.FileMode(0o777)
	if gid >= 0 {
		if err := os.Chown(dir, -1, int(gid)); err != nil {
			return err
		}
		mode |= os.ModeSetgid
	}
	return os.Chmod(dir, mode)
}

// checkHostPath makes or checks what a hostPath volume points at, as its
// type asks.
func checkHostPath(src *corev1.HostPathVolumeSource) error {
	typ := corev1.HostPathUnset
	if src.Type != nil {
		typ = *src.Type
	}
	p := src.Path
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return os.MkdirAll(p, 0o755)
		}
		typ = corev1.HostPathDirectory
	case corev1.HostPathFileOrCreate:
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		typ = corev1.HostPathFile
	}
	info, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("hostPath type check failed: %w", err)
	}
	ok := map[corev1.HostPathType]bool{
		corev1.HostPathDirectory: info.IsDir(),
		corev1.HostPathFile:      info.Mode().IsRegular(),
		corev1.HostPathSocket:    info.Mode()&os.ModeSocket != 0,
		corev1.HostPathCharDev:   info.Mode()&os.ModeCharDevice != 0,
		corev1.HostPathBlockDev:  info.Mode()&os.ModeDevice != 0 && info.Mode()&os.ModeCharDevice == 0,
	}
	good, known := ok[typ]
	if !known {
		return fmt.Errorf("hostPath type %q is not known", typ)
	}
	if !good {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", p, typeNoun(typ))
	}
	return nil
}

func typeNoun(t corev1.HostPathType) string {
	switch t {
	case corev1.HostPathDirectory:
		return "directory"
	case corev1.HostPathFile:
		return "file"
	case corev1.HostPathSocket:
		return "socket file"
	case corev1.HostPathCharDev:
		return "character device"
	}
	return "block device"
}

// mountPoints are the mount points under (or at) dir, deepest first.
func mountPoints(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isMountPoint(dir string) (bool, error) {
	mps, err := mountPoints(dir)
	return slices.Contains(mps, filepath.Clean(dir)), err
}

// unmountAll unmounts whatever is mounted at or under dir.
func unmountAll(dir string) error {
	mps, err := mountPoints(dir)
	if err != nil {
		return err
	}
	for _, mp := range mps {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmount %s: %w", mp, err)
		}
	}
	return nil
}

// podMemoryLimit is the pod's memory limit: its own (pod-level resources),
// else the sum of its containers' when each has one (the largest init
// container's if more), else 0.
func podMemoryLimit(pod *corev1.Pod) int64 {
	if r := pod.Spec.Resources; r != nil {
		if q, ok := r.Limits[corev1.ResourceMemory]; ok {
			return q.Value()
		}
	}
	var sum, initMax int64
	for _, c := range pod.Spec.Containers {
		q, ok := c.Resources.Limits[corev1.ResourceMemory]
		if !ok {
			return 0
		}
		sum += q.Value()
	}
	for _, c := range pod.Spec.InitContainers {
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			initMax = max(initMax, q.Value())
		}
	}
	return max(sum, initMax)
}
