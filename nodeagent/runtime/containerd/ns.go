package containerd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	goruntime "runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// namespaces are the kinds a sandbox holds for its containers, with their
// clone flags.
var nsKinds = []struct {
	name string
	flag int
}{
	{"net", unix.CLONE_NEWNET},
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
}

// nsSetup is what a new sandbox's namespaces get.
type nsSetup struct {
	// hostNetwork keeps the host's network namespace: no "net" file.
	hostNetwork bool
	hostname    string
	// addrs go on the loopback interface: the pod's own address, reachable
	// from inside the pod only until the pod network gives it an interface.
	addrs []netip.Prefix
}

// newNamespaces makes an IPC namespace, and unless hostNetwork a network and
// a UTS namespace, and keeps each open by bind-mounting it onto a file in
// dir, named as its kind. It works on a thread of its own that it never hands back: the
// thread ends with its goroutine, so no other goroutine ever runs in the new
// namespaces.
func newNamespaces(dir string, s nsSetup) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: see above
		errc <- setupNamespaces(dir, s)
	}()
	if err := <-errc; err != nil {
		_ = removeNamespaces(dir)
		return err
	}
	return nil
}

func setupNamespaces(dir string, s nsSetup) error {
	flags := unix.CLONE_NEWIPC
	if !s.hostNetwork {
		flags |= unix.CLONE_NEWNET | unix.CLONE_NEWUTS
	}
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if !s.hostNetwork {
		if err := unix.Sethostname([]byte(s.hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
		if err := setupNetwork(s.addrs); err != nil {
			return err
		}
	}
	tid := unix.Gettid()
	for _, ns := range nsKinds {
		if ns.name != "ipc" && s.hostNetwork {
			continue // hostNetwork pods share the host's network and UTS namespaces
		}
		target := filepath.Join(dir, ns.name)
		f, err := os.Create(target)
		if err != nil {
			return err
		}
		f.Close()
		src := fmt.Sprintf("/proc/%d/task/%d/ns/%s", os.Getpid(), tid, ns.name)
		if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount %s namespace: %w", ns.name, err)
		}
	}
	return nil
}

// setupNetwork runs in the new network namespace: loopback up with addrs,
// and the sysctls container runtimes set for pods.
func setupNetwork(addrs []netip.Prefix) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find loopback: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	// Pods under the restricted Pod Security level run as non-root yet bind
	// low ports and ping, as with other runtimes.
	for name, value := range map[string]string{
		"net/ipv4/ip_unprivileged_port_start": "0",
		"net/ipv4/ping_group_range":           "0 2147483647",
	} {
		if err := os.WriteFile("/proc/sys/"+name, []byte(value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s: %w", name, err)
		}
	}
	for _, a := range addrs {
		if err := netlink.AddrAdd(lo, &netlink.Addr{IPNet: prefixIPNet(a)}); err != nil {
			return fmt.Errorf("add address %s: %w", a, err)
		}
	}
	return nil
}

// removeNamespaces unmounts and removes the namespace files in dir; the
// namespaces end when their last container does. Missing files are fine.
func removeNamespaces(dir string) error {
	var errs []error
	for _, ns := range nsKinds {
		p := filepath.Join(dir, ns.name)
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isNamespace reports whether path is a namespace held open by a bind
// mount (a file left after a reboot, or made in another mount namespace, is
// not).
func isNamespace(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
