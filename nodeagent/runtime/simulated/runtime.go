package simulated

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/runtime/ipam"
)

// Errors the Runtime's methods wrap.
var (
	// ErrNoSandbox: the pod has no ready sandbox to start a container in.
	ErrNoSandbox = errors.New("pod has no ready sandbox")
	// ErrNotStopped: what is to be removed has not exited yet.
	ErrNotStopped = errors.New("not stopped")
	// ErrImagePull: the image cannot be pulled (annotation pull=fail).
	ErrImagePull = errors.New("image pull failed")
)

var _ runtime.Runtime = (*Runtime)(nil)

// Runtime is a runtime.Runtime for one node with no processes behind its
// containers: each moves through its states as its stage says, on timers
// of the configured clock. It holds no goroutine; a timer exists only while a
// container has a delayed transition pending.
type Runtime struct {
	clock   clock.WithDelayedExecution
	stages  *Stages
	version string

	// mu guards everything below. The clock is never called with mu held:
	// the fake clock runs timer functions with its own lock held, and those
	// take mu.
	mu         sync.Mutex
	pools      []*ipam.Pool
	pods       map[types.UID]*pod
	containers map[string]*container
	images     map[string]string // image → imageRef
	// imageList is what ListImages returns until an image is pulled; nil:
	// to be made.
	imageList []runtime.Image
	// missingImages are the normalized names of Config.MissingImages.
	missingImages map[string]bool
	subscribers   []func(types.UID)
}

// pod is what the runtime holds for one pod.
type pod struct {
	uid             types.UID
	namespace, name string
	sandboxID       string
	sandboxes       int32 // sandboxes made so far, for their IDs
	ready           bool
	// stopping is set between StopPod and the exit of its last container.
	stopping   bool
	ips        []string
	created    stamp
	containers []*container
	// files is what kubectl cp wrote into the pod (see Exec); nil: nothing.
	files *files
}

// New returns a Runtime configured by cfg.
func New(cfg Config) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simulated runtime config: %w", err)
	}
	r := &Runtime{
		clock:      cfg.Clock,
		stages:     cfg.Stages,
		version:    cfg.Version,
		pods:       map[types.UID]*pod{},
		containers: map[string]*container{},
		images:     map[string]string{},

		missingImages: missingSet(cfg.MissingImages),
	}
	if r.clock == nil {
		r.clock = clock.RealClock{}
	}
	if r.stages == nil {
		var err error
		if r.stages, err = defaultStages(); err != nil {
			return nil, fmt.Errorf("default stages: %w", err)
		}
	}
	if r.version == "" {
		r.version = DefaultVersion
	}
	cidrs := cfg.PodCIDRs
	if len(cidrs) == 0 {
		cidrs = []string{DefaultPodCIDR}
	}
	for _, cidr := range cidrs {
		p, err := ipam.NewPool(cidr)
		if err != nil {
			return nil, err
		}
		r.pools = append(r.pools, p)
	}
	return r, nil
}

// Type returns "simulated".
func (r *Runtime) Type() string { return Type }

// Version returns "simulated://<Config.Version>".
func (r *Runtime) Version(context.Context) (string, error) {
	return Type + "://" + r.version, nil
}

// Subscribe registers fn for the changes containers make by themselves: a
// delayed start, an exit, a stop that took time. fn is called without any
// of the runtime's locks held, but must not block.
func (r *Runtime) Subscribe(fn func(types.UID)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subscribers = append(r.subscribers, fn)
}

// RunPodSandbox makes pod's sandbox, or returns the ready one it has. A pod
// keeps its addresses until RemovePod, across sandboxes. Host-network pods
// get no addresses of their own: they use the node's. A pod the runtime does
// not know, whose status reports containers of a simulated runtime, gets
// those containers and addresses back (see restoreLocked): that is how a
// restarted process keeps its simulated pods running.
func (r *Runtime) RunPodSandbox(_ context.Context, p *corev1.Pod) (*runtime.Sandbox, error) {
	now := r.clock.Now()
	r.mu.Lock()
	sp := r.pods[p.UID]
	if sp != nil && sp.ready {
		sb := sp.sandbox()
		r.mu.Unlock()
		return sb, nil
	}
	var work timerWork
	if sp == nil {
		sp = &pod{uid: p.UID, namespace: p.Namespace, name: p.Name}
		work = r.restoreLocked(sp, p, now)
		if !p.Spec.HostNetwork && len(sp.ips) == 0 {
			for _, pl := range r.pools {
				ip, err := pl.Allocate()
				if err != nil {
					r.releaseLocked(sp)
					r.mu.Unlock()
					return nil, fmt.Errorf("run sandbox for pod %s/%s: %w", p.Namespace, p.Name, err)
				}
				sp.ips = append(sp.ips, ip)
			}
		}
		r.pods[p.UID] = sp
	}
	sp.sandboxes++
	sp.sandboxID = makeID(string(p.UID), "sandbox", sp.sandboxes)
	sp.ready, sp.stopping, sp.created = true, false, stampOf(now)
	sb := sp.sandbox()
	r.mu.Unlock()
	r.apply(&work)
	return sb, nil
}

func (p *pod) sandbox() *runtime.Sandbox {
	return &runtime.Sandbox{ID: p.sandboxID, IPs: append([]string(nil), p.ips...), Ready: p.ready, CreatedAt: p.created.time()}
}

// releaseLocked gives p's addresses back.
func (r *Runtime) releaseLocked(p *pod) {
	for _, ip := range p.ips {
		for _, pl := range r.pools {
			pl.Release(ip)
		}
	}
	p.ips = nil
}

// StopPod stops the pod's containers (see StopContainer) and then its
// sandbox. When some container takes time to stop, the sandbox stops with
// the last of them, and subscribers hear of it.
func (r *Runtime) StopPod(_ context.Context, uid types.UID, grace time.Duration) error {
	now := r.clock.Now()
	r.mu.Lock()
	p := r.pods[uid]
	if p == nil {
		r.mu.Unlock()
		return nil
	}
	var work timerWork
	for _, c := range p.containers {
		r.stopLocked(c, grace, now, &work)
	}
	p.stopping = true
	p.stopIfDone()
	r.mu.Unlock()
	r.apply(&work)
	return nil
}

// stopIfDone stops a stopping pod's sandbox once all its containers exited.
// It reports whether it did.
func (p *pod) stopIfDone() bool {
	if !p.stopping {
		return false
	}
	for _, c := range p.containers {
		if c.state != exited {
			return false
		}
	}
	p.ready, p.stopping = false, false
	return true
}

// RemovePod forgets the pod, its containers and its sandbox, and frees its
// addresses. It fails with ErrNotStopped while the sandbox is ready.
func (r *Runtime) RemovePod(_ context.Context, uid types.UID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pods[uid]
	if p == nil {
		return nil
	}
	if p.ready {
		return fmt.Errorf("remove pod %s/%s: sandbox: %w", p.namespace, p.name, ErrNotStopped)
	}
	for _, c := range p.containers {
		c.seq++
		delete(r.containers, c.id)
	}
	r.releaseLocked(p)
	delete(r.pods, uid)
	return nil
}

// PullImage returns the image's reference, "sha256:" and the SHA-256 of its
// name. It fails with ErrImagePull when the container's annotation says
// pull=fail, and with ErrImageNotFound (as containerd's NotFound) for one
// of Config.MissingImages.
func (r *Runtime) PullImage(_ context.Context, p *corev1.Pod, c *corev1.Container) (string, error) {
	if c.Image == "" {
		return "", fmt.Errorf("pull image for container %q: %w: no image", c.Name, ErrImagePull)
	}
	b, err := applyOverrides(nil, newTarget(p, c))
	if err != nil {
		return "", fmt.Errorf("pull image %s: %w", c.Image, err)
	}
	if b != nil && b.pullFails {
		return "", fmt.Errorf("pull image %s: %w", c.Image, ErrImagePull)
	}
	if err := r.missing(c.Image); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.imageRefLocked(c.Image), nil
}

func (r *Runtime) imageRefLocked(image string) string {
	ref, ok := r.images[image]
	if !ok {
		sum := sha256.Sum256([]byte(image))
		ref = "sha256:" + hex.EncodeToString(sum[:])
		r.images[image] = ref
		r.imageList = nil // one more image present
	}
	return ref
}

// PodStatus returns what the runtime holds for the pod, or nil.
func (r *Runtime) PodStatus(_ context.Context, uid types.UID) (*runtime.PodStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pods[uid]
	if p == nil {
		return nil, nil
	}
	return p.status(r.images), nil
}

// ListPods returns every pod the runtime holds.
func (r *Runtime) ListPods(context.Context) ([]*runtime.PodStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*runtime.PodStatus, 0, len(r.pods))
	for _, p := range r.pods {
		out = append(out, p.status(r.images))
	}
	return out, nil
}

func (p *pod) status(images map[string]string) *runtime.PodStatus {
	s := &runtime.PodStatus{UID: p.uid, Namespace: p.namespace, Name: p.name, Sandbox: p.sandbox()}
	s.Containers = make([]runtime.Container, len(p.containers))
	for i, c := range p.containers {
		s.Containers[i] = c.status(images)
	}
	return s
}

// makeID derives an ID of 16 hex digits from a pod UID, a name and a number:
// the same pod, container name and attempt always get the same ID.
func makeID(uid, name string, n int32) string {
	h := fnv.New64a()
	h.Write([]byte(uid))
	h.Write([]byte{0})
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(n), 10))
	return fmt.Sprintf("%016x", h.Sum64())
}
