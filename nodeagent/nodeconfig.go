package nodeagent

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	goruntime "runtime"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// KubeletVersion is what every node reports as nodeInfo.kubeletVersion: the
	// Kubernetes release whose API kubelite serves (app.KubernetesVersion, with
	// the "v" the API server's /version also reports).
	KubeletVersion = "v1.37.2"
	// DefaultMaxPods is the pods capacity of a node whose NodeConfig.Capacity
	// names none, as upstream's --max-pods.
	DefaultMaxPods = 110
	// DefaultKubeletPort is the kubelet endpoint port of a node whose
	// NodeConfig.KubeletPort is zero, as upstream's --port.
	DefaultKubeletPort = 10250
	// LabelSimulated is the label every simulated node carries (value "true"),
	// and the key of the taint that keeps ordinary pods off simulated nodes.
	LabelSimulated = "kubelite.io/simulated"

	// labelBetaOS and labelBetaArch are the deprecated beta labels upstream's
	// kubelet still sets beside kubernetes.io/os and kubernetes.io/arch.
	labelBetaOS   = "beta.kubernetes.io/os"
	labelBetaArch = "beta.kubernetes.io/arch"
	// annotationControllerAttach says that the attach/detach controller, not
	// the node, attaches volumes; upstream's kubelet sets it by default.
	annotationControllerAttach = "volumes.kubernetes.io/controller-managed-attach-detach"
)

// NodeConfig describes one node: what its Node object says about it. The
// zero value of each field is documented; Name is the one required field.
// LocalNodeConfig reads a real machine into a NodeConfig, SimulatedNodeConfig
// makes one for a simulated node.
type NodeConfig struct {
	// Name is the Node's name. Required.
	Name string
	// Hostname is the kubernetes.io/hostname label and the node's Hostname
	// address. Empty means Name.
	Hostname string
	// Labels are set on the Node besides the ones the agent sets itself
	// (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch, their beta
	// forms, node.kubernetes.io/instance-type); a label here wins over those.
	// The agent sets these labels when it registers, also on a Node that
	// already exists; it never removes a label, so labels users add stay.
	Labels map[string]string
	// Taints are the Node's taints when the agent creates it. As upstream's
	// --register-with-taints they are not reconciled: a Node that already
	// exists keeps the taints it has (users' and controllers' included).
	Taints []corev1.Taint
	// Capacity is the node's capacity: cpu, memory, ephemeral-storage, pods,
	// and any other resource. A missing pods means DefaultMaxPods. A missing
	// cpu, memory or ephemeral-storage makes the Node not Ready, as upstream.
	Capacity corev1.ResourceList
	// Reserved is held back from pods (upstream's kube-reserved,
	// system-reserved and hard eviction thresholds together): allocatable is
	// capacity minus reserved, never below zero. Nil reserves nothing.
	Reserved corev1.ResourceList
	// InternalIPs are the node's InternalIP addresses, the primary one first.
	// Empty means the node reports only its Hostname address.
	InternalIPs []string
	// InstanceType, if set, is the node.kubernetes.io/instance-type label.
	InstanceType string
	// KubeletPort is status.daemonEndpoints.kubeletEndpoint.port. Zero means
	// DefaultKubeletPort.
	KubeletPort int32
	// PodCIDRs are the node's spec.podCIDRs (spec.podCIDR is the first),
	// at most one per IP family. They are set on a Node that has none; once
	// set, the API server does not let them change. Empty leaves them unset.
	PodCIDRs []string
	// OperatingSystem and Architecture are nodeInfo's operatingSystem and
	// architecture, and the kubernetes.io/os and kubernetes.io/arch labels.
	// Empty means the agent's own (GOOS, GOARCH).
	OperatingSystem, Architecture string
	// KernelVersion, OSImage, MachineID, SystemUUID and BootID are reported in
	// nodeInfo as they are; empty ones stay empty.
	KernelVersion, OSImage, MachineID, SystemUUID, BootID string
}

// Validate checks that c can describe a Node: a valid name, IP addresses and
// CIDRs, and no negative quantities. It has no side effects.
func (c *NodeConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("node name is required"))
	} else if msgs := validation.IsDNS1123Subdomain(c.Name); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("node name %q: %v", c.Name, msgs))
	}
	for _, ip := range c.InternalIPs {
		if net.ParseIP(ip) == nil {
			errs = append(errs, fmt.Errorf("internal IP %q is not an IP address", ip))
		}
	}
	for _, cidr := range c.PodCIDRs {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			errs = append(errs, fmt.Errorf("pod CIDR: %w", err))
		}
	}
	for _, list := range []corev1.ResourceList{c.Capacity, c.Reserved} {
		for name, q := range list {
			if q.Sign() < 0 {
				errs = append(errs, fmt.Errorf("resource %s: negative quantity %s", name, q.String()))
			}
		}
	}
	if c.KubeletPort < 0 || c.KubeletPort > 65535 {
		errs = append(errs, fmt.Errorf("kubelet port %d out of range", c.KubeletPort))
	}
	return errors.Join(errs...)
}

func (c *NodeConfig) hostname() string {
	if c.Hostname != "" {
		return c.Hostname
	}
	return c.Name
}

func (c *NodeConfig) os() string {
	if c.OperatingSystem != "" {
		return c.OperatingSystem
	}
	return goruntime.GOOS
}

func (c *NodeConfig) arch() string {
	if c.Architecture != "" {
		return c.Architecture
	}
	return goruntime.GOARCH
}

// labels returns the labels the agent owns on the Node.
func (c *NodeConfig) labels() map[string]string {
	l := make(map[string]string, 6+len(c.Labels))
	l[corev1.LabelHostname] = c.hostname()
	l[corev1.LabelOSStable], l[labelBetaOS] = c.os(), c.os()
	l[corev1.LabelArchStable], l[labelBetaArch] = c.arch(), c.arch()
	if c.InstanceType != "" {
		l[corev1.LabelInstanceTypeStable] = c.InstanceType
	}
	for k, v := range c.Labels {
		l[k] = v
	}
	return l
}

// capacity returns the node's capacity, with the default pods.
func (c *NodeConfig) capacity() corev1.ResourceList {
	list := make(corev1.ResourceList, len(c.Capacity)+1)
	for name, q := range c.Capacity {
		list[name] = q.DeepCopy()
	}
	if _, ok := list[corev1.ResourcePods]; !ok {
		list[corev1.ResourcePods] = *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI)
	}
	return list
}

// allocatable returns capacity minus what is reserved, for every resource of
// capacity.
func (c *NodeConfig) allocatable(capacity corev1.ResourceList) corev1.ResourceList {
	list := make(corev1.ResourceList, len(capacity))
	for name, q := range capacity {
		v := q.DeepCopy()
		if r, ok := c.Reserved[name]; ok {
			v.Sub(r)
			if v.Sign() < 0 {
				v.Set(0)
			}
		}
		list[name] = v
	}
	return list
}

// addresses returns the node's status.addresses.
func (c *NodeConfig) addresses() []corev1.NodeAddress {
	a := make([]corev1.NodeAddress, 0, len(c.InternalIPs)+1)
	for _, ip := range c.InternalIPs {
		a = append(a, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	return append(a, corev1.NodeAddress{Type: corev1.NodeHostName, Address: c.hostname()})
}

func (c *NodeConfig) kubeletPort() int32 {
	if c.KubeletPort != 0 {
		return c.KubeletPort
	}
	return DefaultKubeletPort
}

// setSystemInfo sets the fields of info the agent owns.
func (c *NodeConfig) setSystemInfo(info *corev1.NodeSystemInfo, runtimeVersion string) {
	info.MachineID = c.MachineID
	info.SystemUUID = c.SystemUUID
	info.BootID = c.BootID
	info.KernelVersion = c.KernelVersion
	info.OSImage = c.OSImage
	info.ContainerRuntimeVersion = runtimeVersion
	info.KubeletVersion = KubeletVersion
	// Upstream stopped reporting it (DisableNodeKubeProxyVersion) and clears it.
	info.KubeProxyVersion = ""
	info.OperatingSystem = c.os()
	info.Architecture = c.arch()
}

// Simulated nodes' fixed capacity: generous enough that the pods capacity
// (DefaultMaxPods) is what limits a node.
const (
	simulatedCPU       = "32"
	simulatedMemory    = "256Gi"
	simulatedEphemeral = "1Ti"

	// simulatedIPBase is the first of the simulated nodes' InternalIPs:
	// 100.64.0.0/10 (shared address space, RFC 6598), one address per index.
	simulatedIPBase = 100<<24 | 64<<16
	maxSimulatedIPs = 1<<22 - 2
	// simulatedCIDRBase is 10.128.0.0/10, split into one /24 per index:
	// outside the default service range (10.96.0.0/12) and the simulated
	// runtime's default pod CIDR (10.244.0.0/24).
	simulatedCIDRBase = 10<<24 | 128<<16
	maxSimulatedCIDRs = 1 << 14
)

// SimulatedIPRange holds the InternalIPs of simulated nodes (see
// SimulatedNodeConfig): addresses no interface has, which their host's
// endpoint serves for the API server through a route of its own.
const SimulatedIPRange = "100.64.0.0/10"

// SimulatedTaint is the taint a simulated node registers with when asked to:
// kubelite.io/simulated=true:NoSchedule, so that only pods that tolerate it
// land there.
func SimulatedTaint() corev1.Taint {
	return corev1.Taint{Key: LabelSimulated, Value: "true", Effect: corev1.TaintEffectNoSchedule}
}

// SimulatedNodeConfig describes simulated node number index (from 0) named
// name: capacity 32 cpu, 256Gi memory, 1Ti ephemeral-storage and
// DefaultMaxPods pods, nothing reserved; the label kubelite.io/simulated=true,
// and the SimulatedTaint too if taint is set. Each index gets its own
// InternalIP in 100.64.0.0/10 (100.64.0.1 for index 0; unique for indexes
// below 4,194,302) and its own /24 pod CIDR in 10.128.0.0/10 (10.128.0.0/24
// for index 0; indexes from 16,384 get none). The machine and system IDs are
// derived from name, so they are stable across restarts.
func SimulatedNodeConfig(name string, index int, taint bool) NodeConfig {
	c := NodeConfig{
		Name:   name,
		Labels: map[string]string{LabelSimulated: "true"},
		Capacity: corev1.ResourceList{
			corev1.ResourceCPU:              resource.MustParse(simulatedCPU),
			corev1.ResourceMemory:           resource.MustParse(simulatedMemory),
			corev1.ResourceEphemeralStorage: resource.MustParse(simulatedEphemeral),
			corev1.ResourcePods:             *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI),
		},
		OSImage: "kubelite simulated node",
	}
	if taint {
		c.Taints = []corev1.Taint{SimulatedTaint()}
	}
	if index >= 0 && index < maxSimulatedIPs {
		c.InternalIPs = []string{ipv4(simulatedIPBase + uint32(index) + 1).String()}
	}
	if index >= 0 && index < maxSimulatedCIDRs {
		c.PodCIDRs = []string{ipv4(simulatedCIDRBase+uint32(index)<<8).String() + "/24"}
	}
	h := fnv.New128a()
	h.Write([]byte(name))
	sum := h.Sum(nil)
	c.MachineID = fmt.Sprintf("%x", sum)
	c.SystemUUID = fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return c
}

func ipv4(v uint32) net.IP {
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
