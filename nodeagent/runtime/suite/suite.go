// Package suite is the conformance suite of runtime.Runtime: the behaviour
// the node agent relies on from every runtime, simulated or real. A
// runtime's test calls Run with a constructor and the Options that tell the
// suite how to make containers exit or probes fail on that runtime:
//
//	func TestConformance(t *testing.T) {
//		suite.Run(t, func(t *testing.T) runtime.Runtime { return newRuntime(t) }, suite.Options{})
//	}
//
// The suite waits for changes that containers make by themselves through
// Subscribe, and also polls, so a runtime that signals more than it must
// still passes. It leaves no pod behind in a runtime it made.
package suite

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// Options tell the suite how to drive one runtime. Every field may be left
// zero: the defaults suit a runtime that runs an image with a POSIX shell.
type Options struct {
	// Image is the image of every container. Empty: "busybox:1.36".
	Image string
	// Running returns a container named name that runs until it is stopped
	// and exits at once on SIGTERM; it may add what the runtime needs to pod
	// (annotations). Nil: Image running "sleep 3600".
	Running func(pod *corev1.Pod, name string) corev1.Container
	// Exiting returns a container named name that exits by itself with code
	// about after it started. Nil: Image running
	// `sh -c "sleep <after in seconds>; exit <code>"`.
	Exiting func(pod *corev1.Pod, name string, code int32, after time.Duration) corev1.Container
	// ReadinessProbe sets c's readiness probe to one that succeeds or fails
	// on a running c; c is in pod's spec. Nil: an exec probe of "true" or
	// "false".
	ReadinessProbe func(pod *corev1.Pod, c *corev1.Container, succeed bool)
	// Logging returns a container named name that writes lines to stdout,
	// one each, when it starts, then runs until stopped. Nil: Image running
	// `sh -c "echo LINE; ...; sleep 3600"`.
	Logging func(pod *corev1.Pod, name string, lines []string) corev1.Container
	// EchoServer returns a container named name that serves, on 127.0.0.1
	// port in the pod's network, each connection with what it sent. Nil:
	// Image running `nc -ll -p PORT -e cat` (busybox).
	EchoServer func(pod *corev1.Pod, name string, port int32) corev1.Container
	// Timeout bounds every wait for a change. Zero: 30 s.
	Timeout time.Duration
}

func (o *Options) defaults() {
	if o.Image == "" {
		o.Image = "busybox:1.36"
	}
	if o.Running == nil {
		o.Running = func(_ *corev1.Pod, name string) corev1.Container {
			return corev1.Container{Name: name, Image: o.Image, Command: []string{"sleep", "3600"}}
		}
	}
	if o.Exiting == nil {
		o.Exiting = func(_ *corev1.Pod, name string, code int32, after time.Duration) corev1.Container {
			script := fmt.Sprintf("exit %d", code)
			if after > 0 {
				secs := strconv.FormatFloat(after.Seconds(), 'f', -1, 64)
				script = "sleep " + secs + "; " + script
			}
			return corev1.Container{Name: name, Image: o.Image, Command: []string{"sh", "-c", script}}
		}
	}
	if o.ReadinessProbe == nil {
		o.ReadinessProbe = func(_ *corev1.Pod, c *corev1.Container, succeed bool) {
			cmd := "false"
			if succeed {
				cmd = "true"
			}
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{cmd}}}}
		}
	}
	if o.Logging == nil {
		o.Logging = func(_ *corev1.Pod, name string, lines []string) corev1.Container {
			var script strings.Builder
			for _, l := range lines {
				fmt.Fprintf(&script, "echo %s; ", l)
			}
			script.WriteString("sleep 3600")
			return corev1.Container{Name: name, Image: o.Image, Command: []string{"sh", "-c", script.String()}}
		}
	}
	if o.EchoServer == nil {
		o.EchoServer = func(_ *corev1.Pod, name string, port int32) corev1.Container {
			return corev1.Container{Name: name, Image: o.Image, Command: []string{"nc", "-ll", "-p", strconv.Itoa(int(port)), "-e", "cat"}}
		}
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
}

// Run runs the suite against runtimes made by newRuntime, a fresh one for
// each test.
func Run(t *testing.T, newRuntime func(t *testing.T) runtime.Runtime, opts Options) {
	opts.defaults()
	tests := []struct {
		name string
		fn   func(*harness)
	}{
		{"Identity", testIdentity},
		{"Sandbox", testSandbox},
		{"DistinctAddresses", testDistinctAddresses},
		{"UnknownPod", testUnknown},
		{"Images", testImages},
		{"StartContainer", testStartContainer},
		{"Exit", testExit},
		{"AttemptsKept", testAttemptsKept},
		{"StopContainer", testStopContainer},
		{"StopPod", testStopPod},
		{"RemoveRunningPod", testRemoveRunningPod},
		{"SandboxAfterStop", testSandboxAfterStop},
		{"Probe", testProbe},
		{"Concurrent", testConcurrent},
		{"Logs", testLogs},
		{"Exec", testExec},
		{"PortForward", testPortForward},
		{"Attach", testAttach},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, newRuntime(t), opts)
			t.Cleanup(h.cleanup)
			tc.fn(h)
		})
	}
}

// harness is one runtime under test and what the tests need around it.
type harness struct {
	t    *testing.T
	ctx  context.Context
	rt   runtime.Runtime
	opts Options

	mu      sync.Mutex
	signals map[types.UID]int
	changed chan struct{} // closed and replaced on each signal
}

func newHarness(t *testing.T, rt runtime.Runtime, opts Options) *harness {
	h := &harness{t: t, ctx: t.Context(), rt: rt, opts: opts, signals: map[types.UID]int{}, changed: make(chan struct{})}
	rt.Subscribe(func(uid types.UID) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.signals[uid]++
		close(h.changed)
		h.changed = make(chan struct{})
	})
	return h
}

// cleanup stops and removes every pod the runtime holds.
func (h *harness) cleanup() {
	ctx := context.Background()
	pods, err := h.rt.ListPods(ctx)
	if err != nil {
		h.t.Errorf("cleanup: ListPods: %v", err)
		return
	}
	for _, p := range pods {
		if err := h.rt.StopPod(ctx, p.UID, 0); err != nil {
			h.t.Errorf("cleanup: StopPod %s: %v", p.UID, err)
		}
		if _, err := h.await(p.UID, "pod stopped", stopped); err != nil {
			h.t.Errorf("cleanup: %v", err)
			continue
		}
		if err := h.rt.RemovePod(ctx, p.UID); err != nil {
			h.t.Errorf("cleanup: RemovePod %s: %v", p.UID, err)
		}
	}
}

// signalled returns how many times subscribers heard of uid.
func (h *harness) signalled(uid types.UID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.signals[uid]
}

// newPod returns a pod with no containers yet.
func (h *harness) newPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "suite", Name: name, UID: uuid.NewUUID()},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever},
	}
}

// addRunning and addExiting add a container to pod's spec and return it.
func (h *harness) addRunning(pod *corev1.Pod, name string) *corev1.Container {
	pod.Spec.Containers = append(pod.Spec.Containers, h.opts.Running(pod, name))
	return &pod.Spec.Containers[len(pod.Spec.Containers)-1]
}

func (h *harness) addExiting(pod *corev1.Pod, name string, code int32, after time.Duration) *corev1.Container {
	pod.Spec.Containers = append(pod.Spec.Containers, h.opts.Exiting(pod, name, code, after))
	return &pod.Spec.Containers[len(pod.Spec.Containers)-1]
}

// runSandbox runs pod's sandbox and checks it.
func (h *harness) runSandbox(pod *corev1.Pod) *runtime.Sandbox {
	h.t.Helper()
	sb, err := h.rt.RunPodSandbox(h.ctx, pod)
	if err != nil {
		h.t.Fatalf("RunPodSandbox: %v", err)
	}
	if sb == nil || sb.ID == "" || !sb.Ready {
		h.t.Fatalf("RunPodSandbox = %+v, want a ready sandbox with an ID", sb)
	}
	return sb
}

// start pulls c's image and starts attempt of c, returning its ID and the
// image reference.
func (h *harness) start(pod *corev1.Pod, c *corev1.Container, attempt int) (id, ref string) {
	h.t.Helper()
	ref, err := h.rt.PullImage(h.ctx, pod, c)
	if err != nil {
		h.t.Fatalf("PullImage(%s): %v", c.Image, err)
	}
	id, err = h.rt.StartContainer(h.ctx, pod, c, attempt)
	if err != nil {
		h.t.Fatalf("StartContainer(%s, %d): %v", c.Name, attempt, err)
	}
	if id == "" {
		h.t.Fatalf("StartContainer(%s, %d) returned an empty ID", c.Name, attempt)
	}
	return id, ref
}

// status returns the pod's status, failing if there is none.
func (h *harness) status(uid types.UID) *runtime.PodStatus {
	h.t.Helper()
	s, err := h.rt.PodStatus(h.ctx, uid)
	if err != nil {
		h.t.Fatalf("PodStatus: %v", err)
	}
	if s == nil {
		h.t.Fatalf("PodStatus(%s) = nil, want the pod", uid)
	}
	return s
}

// waitFor waits until cond holds for the pod's status, and returns it.
func (h *harness) waitFor(uid types.UID, what string, cond func(*runtime.PodStatus) bool) *runtime.PodStatus {
	h.t.Helper()
	s, err := h.await(uid, what, cond)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// await is waitFor for any goroutine: it returns an error instead.
func (h *harness) await(uid types.UID, what string, cond func(*runtime.PodStatus) bool) (*runtime.PodStatus, error) {
	deadline := time.After(h.opts.Timeout)
	for {
		h.mu.Lock()
		changed := h.changed
		h.mu.Unlock()
		s, err := h.rt.PodStatus(h.ctx, uid)
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: PodStatus: %w", what, err)
		}
		if s != nil && cond(s) {
			return s, nil
		}
		select {
		case <-changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			return nil, fmt.Errorf("waiting for %s: timed out after %v; last status %s", what, h.opts.Timeout, describe(s))
		}
	}
}

// container returns the attempt with id in s, or nil.
func container(s *runtime.PodStatus, id string) *runtime.Container {
	for i := range s.Containers {
		if s.Containers[i].ID == id {
			return &s.Containers[i]
		}
	}
	return nil
}

// exited returns a condition: the container id exited.
func exited(id string) func(*runtime.PodStatus) bool {
	return func(s *runtime.PodStatus) bool {
		c := container(s, id)
		return c != nil && c.State == runtime.StateExited
	}
}

// stopped holds when every container exited and the sandbox is not ready.
func stopped(s *runtime.PodStatus) bool {
	for _, c := range s.Containers {
		if c.State != runtime.StateExited {
			return false
		}
	}
	return s.Sandbox == nil || !s.Sandbox.Ready
}

func describe(s *runtime.PodStatus) string {
	if s == nil {
		return "<nil>"
	}
	var b strings.Builder
	if s.Sandbox != nil {
		fmt.Fprintf(&b, "sandbox %s ready=%v;", s.Sandbox.ID, s.Sandbox.Ready)
	}
	for _, c := range s.Containers {
		fmt.Fprintf(&b, " %s#%d %s exit=%d %s;", c.Name, c.Attempt, c.State, c.ExitCode, c.Reason)
	}
	return b.String()
}

// validIPs reports whether ips are addresses, none twice.
func validIPs(ips []string) bool {
	seen := map[string]bool{}
	for _, ip := range ips {
		if _, err := netip.ParseAddr(ip); err != nil || seen[ip] {
			return false
		}
		seen[ip] = true
	}
	return true
}
