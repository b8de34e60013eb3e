package nodeagent

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// machineFiles are the files LocalNodeConfig reads; tests point them elsewhere.
type machineFiles struct {
	meminfo, osRelease, bootID, productUUID string
	machineID                               []string
}

func hostMachineFiles() machineFiles {
	return machineFiles{
		meminfo:     "/proc/meminfo",
		osRelease:   "/etc/os-release",
		bootID:      "/proc/sys/kernel/random/boot_id",
		productUUID: "/sys/class/dmi/id/product_uuid",
		machineID:   []string{"/etc/machine-id", "/var/lib/dbus/machine-id"},
	}
}

// LocalNodeConfig describes the machine the agent runs on, as node name (the
// host name, lower-cased, when empty) with dataDir holding its pods' data:
// capacity from the CPU count, MemTotal of /proc/meminfo and the size of
// dataDir's file system (ephemeral-storage), DefaultMaxPods pods; the first
// non-loopback IPv4 address as InternalIP; the kernel release (uname),
// /etc/os-release's PRETTY_NAME, /etc/machine-id, the DMI product UUID and
// the boot ID for nodeInfo. Missing identity files leave their fields empty;
// an unreadable memory size or file system is an error.
func LocalNodeConfig(name string, dataDir string) (NodeConfig, error) {
	return localNodeConfig(name, dataDir, hostMachineFiles())
}

func localNodeConfig(name, dataDir string, files machineFiles) (NodeConfig, error) {
	host, err := os.Hostname()
	if err != nil {
		return NodeConfig{}, fmt.Errorf("read host name: %w", err)
	}
	host = strings.ToLower(host)
	if name == "" {
		name = host
	}
	mem, err := MemTotal(files.meminfo)
	if err != nil {
		return NodeConfig{}, err
	}
	disk, err := fsSize(dataDir)
	if err != nil {
		return NodeConfig{}, err
	}
	c := NodeConfig{
		Name:     name,
		Hostname: host,
		Capacity: corev1.ResourceList{
			corev1.ResourceCPU:              *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
			corev1.ResourceMemory:           *resource.NewQuantity(mem, resource.BinarySI),
			corev1.ResourceEphemeralStorage: *resource.NewQuantity(disk, resource.BinarySI),
			corev1.ResourcePods:             *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI),
		},
		KernelVersion: kernelRelease(),
		OSImage:       prettyName(files.osRelease),
		SystemUUID:    readTrimmed(files.productUUID),
		BootID:        readTrimmed(files.bootID),
	}
	for _, f := range files.machineID {
		if c.MachineID = readTrimmed(f); c.MachineID != "" {
			break
		}
	}
	if ip := firstIPv4(); ip != "" {
		c.InternalIPs = []string{ip}
	}
	return c, nil
}

// MemTotal returns MemTotal of a /proc/meminfo file, in bytes.
func MemTotal(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w", err)
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 2 || f[0] != "MemTotal:" {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read memory size: %s: %w", path, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("read memory size: no MemTotal in %s", path)
}

// fsSize returns the size of the file system holding dir, in bytes; dir is
// made if it does not exist.
func fsSize(dir string) (int64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("make data dir: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Clean(dir), &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Blocks) * int64(st.Bsize), nil
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// prettyName returns PRETTY_NAME of an os-release file, unquoted.
func prettyName(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return strings.Trim(v, `"'`)
	}
	return ""
}

func readTrimmed(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// firstIPv4 returns the first IPv4 address of an interface that is up, not
// loopback and not link-local, or "".
func firstIPv4() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip := n.IP.To4(); ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip.String()
			}
		}
	}
	return ""
}
