package podnet

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// PrepareHost sets what the pod network needs of the host it runs in:
// forwarding (pods reach other nodes and the world through the host), and,
// where the br_netfilter module loads, bridged pod traffic through the IP
// hooks of netfilter, so that service rules see pod-to-pod packets on one
// bridge too. Call it on a real node only: it changes the host.
func PrepareHost(ipv6 bool) error {
	var errs []error
	set := func(name, value string) {
		if err := os.WriteFile("/proc/sys/"+name, []byte(value), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("sysctl %s: %w", name, err))
		}
	}
	set("net/ipv4/ip_forward", "1")
	if ipv6 {
		set("net/ipv6/conf/all/forwarding", "1")
	}
	if _, err := os.Stat("/proc/sys/net/bridge"); err != nil {
		_ = exec.Command("modprobe", "br_netfilter").Run() // best effort: not every kernel has it
	}
	if _, err := os.Stat("/proc/sys/net/bridge"); err == nil {
		set("net/bridge/bridge-nf-call-iptables", "1")
		if ipv6 {
			set("net/bridge/bridge-nf-call-ip6tables", "1")
		}
	}
	return errors.Join(errs...)
}
