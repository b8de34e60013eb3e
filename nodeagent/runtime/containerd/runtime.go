package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/typeurl/v2"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/podnet"
	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/runtime/ipam"
	"github.com/kubelite/kubelite/nodeagent/volumes"
)

// Defaults for Config's zero values.
const (
	// Type is the runtime's type: the scheme of its container IDs.
	Type = "containerd"
	// DefaultNamespace is the containerd namespace when Config.Namespace is empty.
	DefaultNamespace = "kubelite"
	// DefaultSnapshotter is the snapshotter when Config.Snapshotter is empty.
	DefaultSnapshotter = "overlayfs"
	// DefaultPodCIDR is the pod CIDR when Config.PodCIDRs is empty.
	DefaultPodCIDR = "10.244.0.0/24"
	// DefaultClusterDomain is the cluster domain when Config.ClusterDomain is empty.
	DefaultClusterDomain = "cluster.local"
)

// Config configures a Runtime.
type Config struct {
	// Address is containerd's socket (Daemon.Address). Required.
	Address string
	// Dir holds the pods' files: namespaces, hosts and resolv.conf, logs
	// (<data-dir>/pods). Required.
	Dir string
	// ImageDir holds OCI or docker archives imported at New
	// (<data-dir>/images). Empty: none.
	ImageDir string
	// Namespace is the containerd namespace. Empty: DefaultNamespace.
	Namespace string
	// Snapshotter unpacks images. Empty: DefaultSnapshotter.
	Snapshotter string
	// PodCIDRs are the node's pod CIDRs, at most one per IP family; each
	// sandbox gets one address from each, on its loopback interface, when
	// Network is nil. Empty: DefaultPodCIDR.
	PodCIDRs []string
	// Network attaches sandboxes to the pod network (podnet.CNI) and gives
	// them their addresses. Nil: each sandbox has only a loopback interface,
	// with an address from PodCIDRs.
	Network Network
	// HostIPs are the addresses of hostNetwork sandboxes. Empty: the host's
	// first global unicast address.
	HostIPs []string
	// ClusterDNS are the nameservers of ClusterFirst pods. Empty: pods get
	// the host's resolv.conf, as upstream's kubelet without cluster DNS.
	ClusterDNS []string
	// ClusterDomain is the cluster's DNS domain. Empty: DefaultClusterDomain.
	ClusterDomain string
	// Client reads the pods' imagePullSecrets. Nil: pulls are anonymous.
	Client kubernetes.Interface
	// Services lists the services for the containers' service environment
	// variables: a synced informer's lister, as upstream's kubelet. Nil:
	// they are listed through Client at each container start.
	Services corelisters.ServiceLister
	// Volumes makes the pods' volumes. Nil: a volumes.Manager without an
	// API client (emptyDir and hostPath volumes only) under Dir.
	Volumes VolumeManager
}

// Validate checks c without changing it.
func (c *Config) Validate() error {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("containerd address is required"))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("pod directory is required"))
	}
	for _, cidr := range c.PodCIDRs {
		if _, err := ipam.NewPool(cidr); err != nil {
			errs = append(errs, fmt.Errorf("podCIDRs: %w", err))
		}
	}
	for _, ip := range append(slices.Clone(c.HostIPs), c.ClusterDNS...) {
		if net.ParseIP(ip) == nil {
			errs = append(errs, fmt.Errorf("%q is not an IP address", ip))
		}
	}
	return errors.Join(errs...)
}

// Runtime is runtime.Runtime on containerd. Its state is in memory and, for
// restarts, in containerd's container labels (see the package doc).
type Runtime struct {
	cfg    Config
	client *containerd.Client
	cancel context.CancelFunc
	done   chan struct{}
	// pullMu serialises pulls and unpacks, which race on shared layers.
	pullMu  sync.Mutex
	volumes VolumeManager

	mu         sync.Mutex
	pools      []*ipam.Pool
	pods       map[types.UID]*pod
	containers map[string]*container
	subs       []func(types.UID)
}

var _ runtime.Runtime = (*Runtime)(nil)

// Network is the pod network sandboxes join.
type Network interface {
	// Add attaches a sandbox and returns its addresses.
	Add(ctx context.Context, a podnet.Attachment) ([]string, error)
	// Del detaches a sandbox and frees its addresses; one not attached is fine.
	Del(ctx context.Context, a podnet.Attachment) error
}

// SetPodCIDRs gives the network the node's pod CIDRs (Node.spec.podCIDRs)
// when it takes them; until then it attaches no sandbox.
func (r *Runtime) SetPodCIDRs(cidrs []string) error {
	if n, ok := r.cfg.Network.(interface{ SetPodCIDRs([]string) error }); ok {
		return n.SetPodCIDRs(cidrs)
	}
	return nil
}

// New connects to containerd, adopts the pods that its labels describe,
// imports the archives in cfg.ImageDir and watches task events until Close.
func New(ctx context.Context, cfg Config) (_ *Runtime, retErr error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = DefaultSnapshotter
	}
	if len(cfg.PodCIDRs) == 0 {
		cfg.PodCIDRs = []string{DefaultPodCIDR}
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = DefaultClusterDomain
	}
	if len(cfg.HostIPs) == 0 {
		cfg.HostIPs = hostIPs()
	}
	client, err := containerd.New(cfg.Address, containerd.WithDefaultNamespace(cfg.Namespace))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", cfg.Address, err)
	}
	defer func() {
		if retErr != nil {
			client.Close()
		}
	}()
	r := &Runtime{cfg: cfg, client: client, pods: map[types.UID]*pod{}, containers: map[string]*container{}, volumes: cfg.Volumes}
	if r.volumes == nil {
		if r.volumes, err = volumes.New(volumes.Config{Dir: cfg.Dir}); err != nil {
			return nil, err
		}
	}
	for _, cidr := range cfg.PodCIDRs {
		p, err := ipam.NewPool(cidr)
		if err != nil {
			return nil, err
		}
		r.pools = append(r.pools, p)
	}
	ctx = r.nsctx(ctx)
	if cfg.ImageDir != "" {
		if err := r.importDir(ctx, cfg.ImageDir); err != nil {
			return nil, err
		}
	}
	if err := r.restore(ctx); err != nil {
		return nil, fmt.Errorf("adopt pods from containerd: %w", err)
	}
	watchCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel, r.done = cancel, make(chan struct{})
	ready := make(chan struct{})
	go r.watch(watchCtx, ready)
	<-ready
	return r, nil
}

// Close stops watching events, detaches from the containers' output and
// disconnects, as if the process ended: containers keep running, their
// output waits in its pipes, and a new Runtime adopts them.
func (r *Runtime) Close() error {
	r.cancel()
	<-r.done
	r.mu.Lock()
	for _, c := range r.containers {
		if c.task != nil {
			if io := c.task.IO(); io != nil {
				io.Cancel()
				_ = io.Close()
			}
		}
		if c.log != nil {
			_ = c.log.Close()
		}
	}
	r.mu.Unlock()
	return r.client.Close()
}

// Client is the containerd client, in Config.Namespace when a context
// passes through NamespaceContext.
func (r *Runtime) Client() *containerd.Client { return r.client }

// NamespaceContext returns ctx in the runtime's containerd namespace.
func (r *Runtime) NamespaceContext(ctx context.Context) context.Context { return r.nsctx(ctx) }

func (r *Runtime) nsctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.cfg.Namespace)
}

// Type returns "containerd".
func (r *Runtime) Type() string { return Type }

// Version returns "containerd://<daemon version>".
func (r *Runtime) Version(ctx context.Context) (string, error) {
	v, err := r.client.Version(ctx)
	if err != nil {
		return "", err
	}
	return Type + "://" + v.Version, nil
}

// Subscribe registers fn for changes containers make by themselves.
func (r *Runtime) Subscribe(fn func(types.UID)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, fn)
}

func (r *Runtime) signal(uid types.UID) {
	r.mu.Lock()
	subs := slices.Clone(r.subs)
	r.mu.Unlock()
	for _, fn := range subs {
		fn(uid)
	}
}

// watch follows containerd's task exit and OOM events until ctx ends,
// subscribing again after an error and then looking at every running
// container for exits it missed.
func (r *Runtime) watch(ctx context.Context, ready chan struct{}) {
	defer close(r.done)
	logger := klog.FromContext(ctx)
	for first := true; ctx.Err() == nil; first = false {
		subCtx, cancel := context.WithCancel(ctx)
		events, errs := r.client.Subscribe(subCtx,
			fmt.Sprintf(`namespace==%s,topic=="/tasks/exit"`, r.cfg.Namespace),
			fmt.Sprintf(`namespace==%s,topic=="/tasks/oom"`, r.cfg.Namespace))
		if first {
			close(ready)
		}
		r.resync(ctx)
	loop:
		for {
			select {
			case env := <-events:
				ev, err := typeurl.UnmarshalAny(env.Event)
				if err != nil {
					logger.Error(err, "Decode containerd event", "topic", env.Topic)
					continue
				}
				switch e := ev.(type) {
				case *apievents.TaskExit:
					if e.ID == e.ContainerID { // not an exec's exit
						go r.exited(ctx, e.ContainerID)
					}
				case *apievents.TaskOOM:
					r.mu.Lock()
					if c := r.containers[e.ContainerID]; c != nil {
						c.oom = true
					}
					r.mu.Unlock()
				}
			case err := <-errs:
				if ctx.Err() == nil {
					logger.Error(err, "containerd events; subscribing again")
				}
				break loop
			}
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// resync looks for exits of every container that runs or was created.
func (r *Runtime) resync(ctx context.Context) {
	r.mu.Lock()
	var ids []string
	for id, c := range r.containers {
		if c.State == runtime.StateRunning || c.State == runtime.StateCreated {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		go r.exited(ctx, id)
	}
}

// podDir is where a pod's files are.
func (r *Runtime) podDir(uid types.UID) string { return filepath.Join(r.cfg.Dir, string(uid)) }

// newID returns a fresh container or sandbox ID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostIPs returns the host's first global unicast IPv4 address, else IPv6,
// else the loopback address.
func hostIPs() []string {
	addrs, _ := net.InterfaceAddrs()
	var v6 string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || !ipn.IP.IsGlobalUnicast() {
			continue
		}
		if ipn.IP.To4() != nil {
			return []string{ipn.IP.String()}
		}
		if v6 == "" {
			v6 = ipn.IP.String()
		}
	}
	if v6 != "" {
		return []string{v6}
	}
	return []string{"127.0.0.1"}
}

// NetworkReady reports whether sandboxes can join the pod network: always
// without a Network, else once it has the node's pod CIDRs.
func (r *Runtime) NetworkReady() error {
	if n, ok := r.cfg.Network.(interface{ Ready() error }); ok {
		return n.Ready()
	}
	return nil
}
