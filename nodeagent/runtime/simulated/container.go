package simulated

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// Exit codes and reasons, as upstream reports them.
const (
	// KilledExitCode is the code of a container killed at the end of its
	// grace period (128 + SIGKILL).
	KilledExitCode  = 137
	reasonCompleted = "Completed"
	reasonError     = "Error"
)

// container is one attempt of one container. It is kept small: a node
// holds hundreds and a process hundreds of thousands.
type container struct {
	id     string
	pod    *pod
	name   string
	image  string
	reason string
	// logText is what the container logs when it starts (LogAnnotationPrefix);
	// empty: a line naming the container and attempt.
	logText string
	b       *behaviour // nil: the zero behaviour
	// timers are the pending ones (a start and an exit, or a stop), or nil.
	timers                     *[2]clock.Timer
	created, started, finished stamp
	attempt                    int32
	exitCode                   int32
	// seq counts changes that make pending timers stale; a timer acts only
	// if seq still has the value it was set with.
	seq   uint32
	state state
	// stopPending: a stop timer is set. stageExit: the exit was the stage's,
	// so its message is the stage's.
	stopPending, stageExit bool
}

// state is a runtime.State in one byte.
type state uint8

const (
	created state = iota
	running
	exited
)

// public returns the runtime.State s stands for.
func (s state) public() runtime.State {
	switch s {
	case created:
		return runtime.StateCreated
	case running:
		return runtime.StateRunning
	case exited:
		return runtime.StateExited
	}
	return runtime.StateUnknown
}

// stamp is a time in Unix nanoseconds, 0 for none: a third of a time.Time.
type stamp int64

func stampOf(t time.Time) stamp { return stamp(t.UnixNano()) }

func (s stamp) time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s))
}

// life returns c's behaviour; the zero one when no stage selected c.
func (c *container) life() behaviour {
	if c.b == nil {
		return behaviour{}
	}
	return *c.b
}

func (c *container) status(images map[string]string) runtime.Container {
	s := runtime.Container{
		ID: c.id, Name: c.name, Attempt: int(c.attempt), Image: c.image, ImageRef: images[c.image],
		State: c.state.public(), CreatedAt: c.created.time(), StartedAt: c.started.time(), FinishedAt: c.finished.time(),
		ExitCode: c.exitCode, Reason: c.reason,
	}
	if c.stageExit {
		s.Message = c.life().message
	}
	return s
}

// exit ends c at time at. It reports whether c was still running.
func (c *container) exit(at time.Time, code int32, reason string, byStage bool) bool {
	if c.state == exited {
		return false
	}
	if reason == "" {
		reason = reasonCompleted
		if code != 0 {
			reason = reasonError
		}
	}
	c.state, c.finished, c.exitCode, c.reason, c.stageExit = exited, stampOf(at), code, reason, byStage
	c.seq++
	c.stopPending = false
	return true
}

// StartContainer creates attempt number attempt of c and starts it as its
// stage says. Starting an attempt that exists returns its ID.
func (r *Runtime) StartContainer(_ context.Context, p *corev1.Pod, c *corev1.Container, attempt int) (string, error) {
	b, err := r.stages.behaviourFor(newTarget(p, c))
	if err != nil {
		return "", fmt.Errorf("start container %q of pod %s/%s: %w", c.Name, p.Namespace, p.Name, err)
	}
	now := r.clock.Now()
	r.mu.Lock()
	sp := r.pods[p.UID]
	if sp == nil || !sp.ready || sp.stopping {
		r.mu.Unlock()
		return "", fmt.Errorf("start container %q of pod %s/%s: %w", c.Name, p.Namespace, p.Name, ErrNoSandbox)
	}
	for _, old := range sp.containers {
		if old.name == c.Name && int(old.attempt) == attempt {
			r.mu.Unlock()
			return old.id, nil
		}
	}
	id := makeID(string(p.UID), c.Name, int32(attempt))
	for salt := int32(1); r.containers[id] != nil; salt++ {
		id = makeID(string(p.UID)+id, c.Name, salt)
	}
	ct := &container{
		id: id, pod: sp, name: c.Name, attempt: int32(attempt), b: b,
		image: c.Image, state: created, created: stampOf(now),
		logText: p.Annotations[LogAnnotationPrefix+c.Name],
	}
	if b == nil {
		b = &behaviour{}
	}
	if b.startDelay == 0 {
		ct.state, ct.started = running, stampOf(now)
	}
	r.imageRefLocked(c.Image)
	r.containers[id] = ct
	sp.containers = append(sp.containers, ct)
	var work timerWork
	if b.startDelay > 0 {
		work.add(ct, timerStart, now, b.startDelay, 0)
	}
	if b.exits {
		work.add(ct, timerExit, now, b.startDelay+b.exitAfter, b.exitCode)
	}
	r.mu.Unlock()
	r.apply(&work)
	return id, nil
}

// StopContainer sends the container SIGTERM: it exits with the stage's stop
// code after the stage's stop delay (by default at once, with code 0,
// "Completed", as a process that handles SIGTERM does), or is killed with
// code 137 ("Error") when that delay is longer than grace. An exit at once
// happens before StopContainer returns; a later one is signalled. Stopping
// an exited or unknown container does nothing.
func (r *Runtime) StopContainer(_ context.Context, _ *corev1.Pod, id string, grace time.Duration) error {
	now := r.clock.Now()
	r.mu.Lock()
	c := r.containers[id]
	if c == nil {
		r.mu.Unlock()
		return nil
	}
	var work timerWork
	r.stopLocked(c, grace, now, &work)
	c.pod.stopIfDone()
	r.mu.Unlock()
	r.apply(&work)
	return nil
}

// stopLocked stops c, adding the timers that needs to work.
func (r *Runtime) stopLocked(c *container, grace time.Duration, now time.Time, work *timerWork) {
	if c.state == exited || c.stopPending {
		return
	}
	work.cancelAll(c)
	b := c.life()
	delay, code := b.stopDelay, b.stopCode
	if delay > grace {
		delay, code = max(grace, 0), KilledExitCode
	}
	if delay == 0 || c.state == created {
		c.exit(now, code, "", false)
		return
	}
	c.seq++
	c.stopPending = true
	work.add(c, timerStop, now, delay, code)
}

// RemoveContainer forgets an exited container; it fails with ErrNotStopped
// for one that has not exited.
func (r *Runtime) RemoveContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containers[id]
	if c == nil {
		return nil
	}
	if c.state != exited {
		return fmt.Errorf("remove container %s: %w", id, ErrNotStopped)
	}
	c.seq++
	delete(r.containers, id)
	p := c.pod
	for i, pc := range p.containers {
		if pc == c {
			p.containers = slices.Delete(p.containers, i, i+1)
			break
		}
	}
	return nil
}

// Probe returns the result the container's stage gives the probe: success
// unless the stage or the pod's annotation says otherwise. Which kind of
// probe it is (readiness, liveness, startup) is found by comparing probe with
// those of the container in pod's spec: pass a pointer from pod's spec. A
// container that is gone or not running gives ProbeUnknown.
func (r *Runtime) Probe(_ context.Context, p *corev1.Pod, id string, probe *corev1.Probe) (runtime.ProbeResult, string, error) {
	if probe == nil {
		return runtime.ProbeUnknown, "", errors.New("probe: no probe given")
	}
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containers[id]
	if c == nil {
		return runtime.ProbeUnknown, "container not found", nil
	}
	if c.state != running {
		return runtime.ProbeUnknown, "container is not running", nil
	}
	kind, name := probeKind(p, c.name, probe)
	res := c.life().probes[kind].result(now.Sub(c.started.time()))
	if res == runtime.ProbeFailure {
		return res, "simulated " + name + " probe failure", nil
	}
	return res, "", nil
}

// probeKind finds which of the container's probes probe is: the same
// pointer, or else equal content; readiness when nothing matches.
func probeKind(p *corev1.Pod, name string, probe *corev1.Probe) (int, string) {
	c := specContainer(p, name)
	if c == nil {
		return probeReadiness, "readiness"
	}
	kinds := [probeKinds]*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe}
	names := [probeKinds]string{"readiness", "liveness", "startup"}
	for k, pr := range kinds {
		if pr == probe {
			return k, names[k]
		}
	}
	for k, pr := range kinds {
		if pr != nil && pr.String() == probe.String() {
			return k, names[k]
		}
	}
	return probeReadiness, names[probeReadiness]
}

func specContainer(p *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
