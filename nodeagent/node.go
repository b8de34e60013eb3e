package nodeagent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// Upstream kubelet's timings.
const (
	// nodeStatusUpdateFrequency is how often the status is computed and the
	// Lease renewed (upstream's nodeStatusUpdateFrequency and 0.25 of
	// nodeLeaseDurationSeconds).
	nodeStatusUpdateFrequency = 10 * time.Second
	// nodeStatusReportFrequency is how often an unchanged status is written.
	nodeStatusReportFrequency = 5 * time.Minute
	// maxRegisterBackoff caps the wait between registration attempts.
	maxRegisterBackoff = 7 * time.Second
	// statusUpdateRetries is how many times a status write is tried on
	// conflicts before the next period.
	statusUpdateRetries = 5
)

// nodeRuntime is what the node status needs of a runtime.Runtime.
type nodeRuntime interface {
	Type() string
	Version(ctx context.Context) (string, error)
	ListImages(ctx context.Context) ([]runtime.Image, error)
}

var _ nodeRuntime = runtime.Runtime(nil)

// Upstream's kubelet reports at most this many images in status.images
// (--node-status-max-images' default), and at most this many names of each.
const (
	nodeStatusMaxImages = 50
	maxNamesPerImage    = 5
)

// nodeStatusConfig is what newNodeStatus needs. Client and Node are
// required; the rest may be zero.
type nodeStatusConfig struct {
	Client kubernetes.Interface
	Node   NodeConfig
	// Runtime gives nodeInfo.containerRuntimeVersion ("<type>://Unknown" when
	// its Version fails, as upstream) and status.images. Nil leaves them
	// empty.
	Runtime nodeRuntime
	// Ready are the inputs of the Ready condition: each returns why the node
	// is not ready (runtime down, network not ready), or nil. Ready is False
	// with reason KubeletNotReady and their messages when any returns an
	// error. They are called every period and must not block long.
	Ready []func(context.Context) error
	// Pressure gives the pressure conditions' inputs. Nil means no pressure.
	Pressure func() pressure
	// Clock defaults to the real clock.
	Clock clock.Clock
	// Jitter returns a number in [0, 1) for the random part of the status
	// report period. Nil means a generator seeded from the node's name.
	Jitter func() float64
	// Event records an event about the Node (a condition that changed, as
	// upstream's NodeReady or NodeHasSufficientMemory). Nil records none.
	Event func(eventType, reason, message string)
}

// nodeStatus keeps one node's Node object and Lease: it registers the Node,
// then every nodeStatusUpdateFrequency renews the Lease and writes the status
// when it changed, or when nodeStatusReportFrequency passed since the last
// write (give or take a random part, so that many nodes started together do
// not all write at the same moment).
//
// register and run are called from one goroutine, one after the other; node
// may be called from any goroutine.
type nodeStatus struct {
	cfg   nodeStatusConfig
	lease nodeLease
	// phase is where in each period this node heartbeats, in [0, 1).
	phase float64
	// period is nodeStatusUpdateFrequency; tests shorten it.
	period time.Duration

	last atomic.Pointer[corev1.Node]

	// Used only by register and run.
	lastReport  time.Time
	reportDelay time.Duration
}

// newNodeStatus returns the node status of cfg.Node. It does no I/O.
func newNodeStatus(cfg nodeStatusConfig) (*nodeStatus, error) {
	if cfg.Client == nil {
		return nil, errors.New("node status: no client")
	}
	if err := cfg.Node.Validate(); err != nil {
		return nil, fmt.Errorf("node status: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	seed := nameHash(cfg.Node.Name)
	if cfg.Jitter == nil {
		cfg.Jitter = rand.New(rand.NewPCG(seed, seed>>1^0x9e3779b97f4a7c15)).Float64
	}
	s := &nodeStatus{
		cfg:    cfg,
		phase:  float64(seed>>11) / (1 << 53),
		period: nodeStatusUpdateFrequency,
		lease: nodeLease{
			client: cfg.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease),
			name:   cfg.Node.Name,
			clock:  cfg.Clock,
		},
	}
	return s, nil
}

// nameHash is a well-mixed 64-bit hash of name: FNV-1a, then splitmix64's
// finalizer, so that names differing in their last digit spread evenly.
func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	z := h.Sum64()
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// node returns the Node as last read or written, or nil before register. The
// caller must not modify it.
func (s *nodeStatus) node() *corev1.Node {
	return s.last.Load()
}

// observe takes node, the agent's Node as a watch delivered it, as the last
// known one, so that node() and the change detection see what others changed
// (labels users add, conditions the node lifecycle controller sets) before
// the next write. node is not modified and must not be modified later; a
// watch may drop managed fields (a transform) to save memory. Safe to call
// from any goroutine.
func (s *nodeStatus) observe(node *corev1.Node) {
	if node.Name == s.cfg.Node.Name {
		s.last.Store(node)
	}
}

// keep caches node as the last known Node, without its managed fields: the
// agent does not need them, and thousands of nodes in one process should not
// each hold a copy.
func (s *nodeStatus) keep(node *corev1.Node) {
	node.ManagedFields = nil
	s.last.Store(node)
}

// register creates the Node, or, if it exists (the agent restarted), sets the
// labels, annotation and pod CIDRs the agent owns and writes its status. It retries with
// a growing backoff until it succeeds or ctx ends.
func (s *nodeStatus) register(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	backoff := 100 * time.Millisecond
	for {
		err := s.tryRegister(ctx)
		if err == nil {
			logger.V(2).Info("Registered node", "node", klog.KRef("", s.cfg.Node.Name))
			return nil
		}
		logger.Error(err, "Unable to register node, will retry", "node", klog.KRef("", s.cfg.Node.Name), "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.cfg.Clock.After(backoff):
		}
		backoff = min(2*backoff, maxRegisterBackoff)
	}
}

func (s *nodeStatus) tryRegister(ctx context.Context) error {
	nodes := s.cfg.Client.CoreV1().Nodes()
	now := s.cfg.Clock.Now()
	node := s.initialNode()
	s.setStatus(ctx, node, now)
	created, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if err == nil {
		s.conditionEvents(nil, &created.Status)
		s.keep(created)
		s.reported(now, true)
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", node.Name, err)
	}
	existing, err := nodes.Get(ctx, node.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", node.Name, err)
	}
	if updated := s.reconcileMeta(existing); updated != nil {
		if existing, err = nodes.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update node %s: %w", node.Name, err)
		}
	}
	s.keep(existing)
	// Always write the status after a restart, as upstream.
	s.lastReport = time.Time{}
	return s.syncStatus(ctx)
}

// initialNode returns the Node to create, without its status.
func (s *nodeStatus) initialNode() *corev1.Node {
	c := &s.cfg.Node
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        c.Name,
			Labels:      c.labels(),
			Annotations: map[string]string{annotationControllerAttach: "true"},
		},
		Spec: corev1.NodeSpec{Taints: append([]corev1.Taint(nil), c.Taints...)},
	}
	if len(c.PodCIDRs) > 0 {
		node.Spec.PodCIDR = c.PodCIDRs[0]
		node.Spec.PodCIDRs = append([]string(nil), c.PodCIDRs...)
	}
	return node
}

// reconcileMeta returns a copy of an existing Node with the labels, the
// annotation and pod CIDRs the agent owns, or nil if it has them already.
// Other labels and annotations and the taints stay as they are.
func (s *nodeStatus) reconcileMeta(existing *corev1.Node) *corev1.Node {
	var node *corev1.Node
	edit := func() *corev1.Node {
		if node == nil {
			node = existing.DeepCopy()
		}
		return node
	}
	for k, v := range s.cfg.Node.labels() {
		if cur, ok := existing.Labels[k]; !ok || cur != v {
			n := edit()
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[k] = v
		}
	}
	if existing.Annotations[annotationControllerAttach] != "true" {
		n := edit()
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[annotationControllerAttach] = "true"
	}
	if cidrs := s.cfg.Node.PodCIDRs; len(existing.Spec.PodCIDRs) == 0 && existing.Spec.PodCIDR == "" && len(cidrs) > 0 {
		n := edit()
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidrs[0], append([]string(nil), cidrs...)
	}
	return node
}

// setStatus sets the parts of node's status the agent owns, as of now.
func (s *nodeStatus) setStatus(ctx context.Context, node *corev1.Node, now time.Time) {
	c := &s.cfg.Node
	st := &node.Status
	capacity := c.capacity()
	if st.Capacity == nil {
		st.Capacity = corev1.ResourceList{}
	}
	for name, q := range capacity {
		st.Capacity[name] = q
	}
	st.Allocatable = c.allocatable(st.Capacity)
	st.Addresses = c.addresses()
	st.DaemonEndpoints.KubeletEndpoint.Port = c.kubeletPort()
	c.setSystemInfo(&st.NodeInfo, s.runtimeVersion(ctx))
	st.Images = s.images(ctx)
	var p pressure
	if s.cfg.Pressure != nil {
		p = s.cfg.Pressure()
	}
	setConditions(node, now, p, readyChecks(ctx, s.cfg.Ready))
}

func (s *nodeStatus) runtimeVersion(ctx context.Context) string {
	if s.cfg.Runtime == nil {
		return ""
	}
	v, err := s.cfg.Runtime.Version(ctx)
	if err != nil {
		klog.FromContext(ctx).V(4).Info("Unable to get runtime version", "err", err)
		return s.cfg.Runtime.Type() + "://Unknown"
	}
	return v
}

// images is status.images as upstream's kubelet reports it: the runtime's
// images, the largest first, at most nodeStatusMaxImages of them with at
// most maxNamesPerImage names each. A runtime that cannot list its images
// leaves the list empty, as upstream.
func (s *nodeStatus) images(ctx context.Context) []corev1.ContainerImage {
	if s.cfg.Runtime == nil {
		return nil
	}
	list, err := s.cfg.Runtime.ListImages(ctx)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Unable to list images", "node", s.cfg.Node.Name, "err", err)
		return nil
	}
	if len(list) == 0 {
		return nil
	}
	list = slices.Clone(list)
	slices.SortStableFunc(list, func(a, b runtime.Image) int { return cmp.Compare(b.Size, a.Size) })
	list = list[:min(len(list), nodeStatusMaxImages)]
	out := make([]corev1.ContainerImage, len(list))
	for i, img := range list {
		out[i] = corev1.ContainerImage{Names: slices.Clone(img.Names[:min(len(img.Names), maxNamesPerImage)]), SizeBytes: img.Size}
	}
	return out
}

// syncStatus computes the status and writes it if it changed or the report
// period passed. A conflict re-reads the Node and tries again; a Node that
// was deleted is registered again.
func (s *nodeStatus) syncStatus(ctx context.Context) error {
	nodes := s.cfg.Client.CoreV1().Nodes()
	for try := 0; try < statusUpdateRetries; try++ {
		// As upstream's kubelet, the first try starts from the Node the
		// agent's watch keeps (or it last wrote), not from a read: in a
		// large cluster node reads and writes are most of the control
		// plane's load, and a re-read after each failed heartbeat, when
		// the API server is overloaded, only adds to it. A stale copy
		// conflicts, and the retries read the Node from the API server.
		base := s.last.Load()
		if base == nil || try > 0 {
			fresh, err := nodes.Get(ctx, s.cfg.Node.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return s.tryRegister(ctx)
			}
			if err != nil {
				return fmt.Errorf("get node %s: %w", s.cfg.Node.Name, err)
			}
			s.keep(fresh)
			base = fresh
		}
		now := s.cfg.Clock.Now()
		node := base.DeepCopy()
		s.setStatus(ctx, node, now)
		changed := statusChanged(&base.Status, &node.Status)
		if !changed && !s.lastReport.IsZero() && now.Sub(s.lastReport) < nodeStatusReportFrequency+s.reportDelay {
			return nil
		}
		updated, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		switch {
		case err == nil:
			s.conditionEvents(&base.Status, &updated.Status)
			s.keep(updated)
			s.reported(now, changed)
			return nil
		case apierrors.IsConflict(err):
			continue
		case apierrors.IsNotFound(err):
			return s.tryRegister(ctx)
		default:
			return fmt.Errorf("update status of node %s: %w", s.cfg.Node.Name, err)
		}
	}
	return fmt.Errorf("update status of node %s: %d conflicts", s.cfg.Node.Name, statusUpdateRetries)
}

// reported notes a status write at now. As upstream, the next unchanged write
// waits nodeStatusReportFrequency plus a random delay in [-1/2, 1/2) of it
// after a change or the first write, and exactly nodeStatusReportFrequency
// after a periodic one, so that nodes started together spread their writes.
func (s *nodeStatus) reported(now time.Time, changed bool) {
	if changed || s.lastReport.IsZero() {
		s.reportDelay = time.Duration(float64(nodeStatusReportFrequency) * (s.cfg.Jitter() - 0.5))
	} else {
		s.reportDelay = 0
	}
	s.lastReport = now
}
