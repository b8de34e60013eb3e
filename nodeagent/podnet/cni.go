// Package podnet is a node's pod network: each pod sandbox gets a veth into
// the node bridge and addresses from the node's pod CIDRs through CNI (the
// reference bridge, host-local and portmap plugins, driven by libcni); Routes
// keeps a route to every other node's pod CIDRs via that node's address
// (host-gw) and masquerades pod traffic that leaves the cluster's pod
// CIDRs; PrepareHost turns on forwarding.
package podnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	corev1 "k8s.io/api/core/v1"
)

const (
	// DefaultBridge is the node bridge's name.
	DefaultBridge = "kubelite0"
	// NetworkName is the CNI network's name.
	NetworkName = "kubelite"
	// confFile is the conflist's name under CNIConfig.Dir.
	confFile = "10-kubelite.conflist"
	// ifName is the pod's interface.
	ifName = "eth0"
)

// Plugins are the CNI plugins the network runs, which hack/cni.sh builds.
var Plugins = []string{"bridge", "host-local", "portmap"}

// ErrNotReady means the node has no pod CIDR yet: no pod can join the
// network until SetPodCIDRs.
var ErrNotReady = errors.New("pod network not ready: the node has no pod CIDR yet")

// CNIConfig configures a CNI network.
type CNIConfig struct {
	// PluginDirs are searched for Plugins. Required.
	PluginDirs []string
	// Dir holds the conflist, host-local's allocations and libcni's cache
	// (<data-dir>/cni). Required.
	Dir string
	// Bridge is the node bridge. Empty: DefaultBridge.
	Bridge string
	// HostNetNS, when set, is the path of the network namespace the plugins
	// run in (the bridge, routes and port mappings go there): tests use it
	// to play a host. Empty: the agent's own.
	HostNetNS string
}

// Validate reports missing settings and missing plugins, without side effects.
func (c CNIConfig) Validate() error {
	if len(c.PluginDirs) == 0 || c.Dir == "" {
		return errors.New("cni: plugin directories and a directory are required")
	}
	for _, p := range Plugins {
		if _, err := invoke.FindInPath(p, c.PluginDirs); err != nil {
			return fmt.Errorf("cni: %w (build them with `make cni`)", err)
		}
	}
	return nil
}

// CNI attaches pod sandboxes to the node bridge. Build it with NewCNI.
type CNI struct {
	cfg CNIConfig
	cni *libcni.CNIConfig

	mu    sync.Mutex
	list  *libcni.NetworkConfigList // nil until the node has a pod CIDR
	cidrs []string
}

// NewCNI checks cfg and returns the network; the conflist a former run
// wrote is loaded, so that a restarted agent can tear down what it set up.
func NewCNI(cfg CNIConfig) (*CNI, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	n := &CNI{cfg: cfg, cni: libcni.NewCNIConfigWithCacheDir(cfg.PluginDirs, filepath.Join(cfg.Dir, "cache"), &nsExec{netns: cfg.HostNetNS})}
	if list, err := libcni.ConfListFromFile(filepath.Join(cfg.Dir, confFile)); err == nil {
		n.list = list
	}
	return n, nil
}

// SetPodCIDRs writes the network's conflist for the node's pod CIDRs (one
// per IP family). Calling it again with the same CIDRs does nothing.
func (n *CNI) SetPodCIDRs(cidrs []string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if slices.Equal(cidrs, n.cidrs) {
		return nil
	}
	var ranges [][]map[string]string
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("pod CIDR: %w", err)
		}
		ranges = append(ranges, []map[string]string{{"subnet": p.Masked().String()}})
	}
	if len(ranges) == 0 {
		return errors.New("no pod CIDR")
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       NetworkName,
		"plugins": []map[string]any{
			{
				"type": "bridge", "bridge": n.cfg.Bridge,
				"isGateway": true, "isDefaultGateway": true, "hairpinMode": true,
				// Masquerading is Routes' job: the plugin's would also
				// hide pod addresses from pods on other nodes.
				"ipMasq": false,
				"ipam": map[string]any{
					"type": "host-local", "ranges": ranges,
					"dataDir": filepath.Join(n.cfg.Dir, "ipam"),
				},
			},
			{"type": "portmap", "backend": "nftables", "snat": true, "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	list, err := libcni.ConfListFromBytes(b)
	if err != nil {
		return fmt.Errorf("cni conflist: %w", err)
	}
	path := filepath.Join(n.cfg.Dir, confFile)
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return err
	}
	n.list, n.cidrs = list, slices.Clone(cidrs)
	return nil
}

// Ready reports ErrNotReady until the node has a pod CIDR.
func (n *CNI) Ready() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.list == nil || n.cidrs == nil {
		return ErrNotReady
	}
	return nil
}

// Attachment is one sandbox on the network.
type Attachment struct {
	// ID is the sandbox's ID; NetNS the path of its network namespace
	// (empty on a teardown after the namespace is gone).
	ID, NetNS string
	// Namespace, Name and UID are the pod's.
	Namespace, Name, UID string
	// Ports are the pod's hostPorts.
	Ports []PortMapping
}

// PortMapping is one hostPort, as portmap's portMappings capability takes it.
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// PodPorts returns the hostPorts of pod's containers.
func PodPorts(pod *corev1.Pod) []PortMapping {
	var out []PortMapping
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			out = append(out, PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto, HostIP: p.HostIP})
		}
	}
	return out
}

func (a Attachment) runtimeConf() *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID: a.ID, NetNS: a.NetNS, IfName: ifName,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", a.Namespace},
			{"K8S_POD_NAME", a.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", a.ID},
			{"K8S_POD_UID", a.UID},
		},
	}
	if len(a.Ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": a.Ports}
	}
	return rt
}

// Add attaches the sandbox and returns its addresses, one per pod CIDR.
func (n *CNI) Add(ctx context.Context, a Attachment) ([]string, error) {
	n.mu.Lock()
	list := n.list
	n.mu.Unlock()
	if list == nil {
		return nil, ErrNotReady
	}
	res, err := n.cni.AddNetworkList(ctx, list, a.runtimeConf())
	if err != nil {
		return nil, fmt.Errorf("cni add %s: %w", a.ID, err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("cni add %s: result: %w", a.ID, err)
	}
	var ips []string
	for _, ip := range r.IPs {
		ips = append(ips, ip.Address.IP.String())
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("cni add %s: no address", a.ID)
	}
	return ips, nil
}

// Del detaches the sandbox and frees its addresses; a sandbox never
// attached, or detached already, is fine.
func (n *CNI) Del(ctx context.Context, a Attachment) error {
	n.mu.Lock()
	list := n.list
	n.mu.Unlock()
	if list == nil {
		return nil // nothing was ever attached
	}
	if err := n.cni.DelNetworkList(ctx, list, a.runtimeConf()); err != nil {
		return fmt.Errorf("cni del %s: %w", a.ID, err)
	}
	return nil
}

// nsExec runs plugins in netns when it is set.
type nsExec struct {
	invoke.RawExec
	version.PluginDecoder
	netns string
}

func (e *nsExec) ExecPlugin(ctx context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	if e.netns == "" {
		return e.RawExec.ExecPlugin(ctx, pluginPath, stdin, environ)
	}
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, "nsenter", "--net="+e.netns, "--", pluginPath)
	c.Env, c.Stdin, c.Stdout, c.Stderr = environ, bytes.NewReader(stdin), &stdout, &stderr
	if err := c.Run(); err != nil {
		// A plugin's error is JSON on stdout.
		if stdout.Len() > 0 {
			return nil, fmt.Errorf("%s: %s", filepath.Base(pluginPath), strings.TrimSpace(stdout.String()))
		}
		return nil, fmt.Errorf("%s: %w: %s", filepath.Base(pluginPath), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (e *nsExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}
