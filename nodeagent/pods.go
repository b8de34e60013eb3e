package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/volumes"
)

// Restart back-off, as upstream's kubelet: 10 s doubling up to 5 minutes.
const (
	initialBackoff         = 10 * time.Second
	maxBackoff             = 5 * time.Minute
	reasonErrImagePull     = "ErrImagePull"
	reasonImagePullBackOff = "ImagePullBackOff"
	// mountRetry is the first delay before making a pod's volumes again.
	mountRetry = 500 * time.Millisecond
)

// podState is what the agent remembers of one pod between syncs. Everything
// here can be rebuilt from the API and the runtime; losing it (a restart)
// costs at most a repeated probe or back-off.
type podState struct {
	uid       types.UID
	admitted  bool
	rejected  *rejection
	startTime *metav1.Time
	// initialized latches once the init containers completed, as upstream:
	// a sidecar that restarts later does not make the pod Pending again.
	initialized      bool
	deadlineExceeded bool
	// evicted is the message of the pod's eviction by the agent (an
	// emptyDir over its sizeLimit); empty when not evicted.
	evicted string
	// stopping: StopPod runs in the background; stopped: it finished and no
	// container of the pod will run again.
	stopping, stopped bool
	// written is the pod as the last status write returned it, newer than
	// the cache until the watch catches up.
	written    *corev1.Pod
	containers map[string]*containerState
}

func (s *podState) container(name string) *containerState {
	if s.containers == nil {
		s.containers = map[string]*containerState{}
	}
	cs := s.containers[name]
	if cs == nil {
		cs = &containerState{}
		s.containers[name] = cs
	}
	return cs
}

// syncPod brings one pod's containers to what its spec and phase ask for,
// then reports its status. It returns how soon it wants to run again for
// timed work (a probe, a back-off, the active deadline); zero means only on
// the next event.
func (a *Agent) syncPod(ctx context.Context, pod *corev1.Pod, st *podState) (time.Duration, error) {
	logger := klog.FromContext(ctx).WithValues("pod", klog.KObj(pod))
	now := a.clock.Now()
	rs, err := a.rt.PodStatus(ctx, pod.UID)
	if err != nil {
		return 0, fmt.Errorf("runtime status: %w", err)
	}
	if !st.admitted && st.rejected == nil {
		if rs == nil && !hasRun(pod) {
			r := admit(pod, a.currentNode(), a.admittedPods(pod))
			if r != nil && r.Reason == "NodeAffinity" {
				// The node's labels may have changed since the agent last saw
				// it: look again before rejecting, as upstream does.
				if node, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.Node.Name, metav1.GetOptions{}); err == nil {
					a.ObserveNode(node)
					r = admit(pod, node, a.admittedPods(pod))
				}
			}
			if r != nil {
				logger.V(2).Info("Pod rejected", "reason", r.Reason, "message", r.Message)
				st.rejected = r
				a.event(pod, corev1.EventTypeWarning, r.Reason, r.Message)
				return 0, a.writeStatus(ctx, pod, st, rs, now)
			}
		}
		st.admitted = true
	}
	if st.rejected != nil {
		return 0, a.writeStatus(ctx, pod, st, rs, now)
	}
	if st.startTime == nil {
		if pod.Status.StartTime != nil {
			st.startTime = pod.Status.StartTime.DeepCopy()
		} else {
			t := apiTime(now)
			st.startTime = &t
		}
	}

	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	var requeue time.Duration
	if ads := pod.Spec.ActiveDeadlineSeconds; ads != nil && !terminal && !st.deadlineExceeded {
		deadline := st.startTime.Add(time.Duration(*ads) * time.Second)
		if !now.Before(deadline) {
			st.deadlineExceeded = true
			a.event(pod, corev1.EventTypeNormal, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
		} else {
			requeue = deadline.Sub(now)
		}
	}

	if uc, ok := a.rt.(usageChecker); ok && !terminal && st.evicted == "" && pod.DeletionTimestamp == nil && rs != nil && hasEmptyDirLimit(pod) {
		if msg := uc.EmptyDirOverLimit(pod); msg != "" {
			logger.V(2).Info("Evicting pod", "message", msg)
			st.evicted = msg
			a.event(pod, corev1.EventTypeWarning, evictedReason, msg)
		} else {
			requeue = soonest(requeue, usageCheckPeriod)
		}
	}

	stop := pod.DeletionTimestamp != nil || terminal || st.deadlineExceeded || st.evicted != ""
	if !stop && !st.stopped {
		next, done, err := a.runContainers(ctx, pod, st, rs, now)
		if err != nil {
			return 0, err
		}
		requeue = soonest(requeue, next)
		stop = done
		if rs, err = a.rt.PodStatus(ctx, pod.UID); err != nil {
			return 0, fmt.Errorf("runtime status: %w", err)
		}
		requeue = soonest(requeue, untilTime(a.probeStarted(ctx, pod, st, rs, now), now))
	}
	if stop && !st.stopped {
		a.stopPod(ctx, pod, st)
	}
	if err := a.writeStatus(ctx, pod, st, rs, now); err != nil {
		return 0, err
	}
	if pod.DeletionTimestamp != nil && st.stopped {
		return 0, a.finishDeletion(ctx, pod)
	}
	return requeue, nil
}

// probeStarted probes the containers that this sync started and that run
// already, so that the status it writes says at once whether they are
// started and ready, instead of in a second write. It returns when their
// next probe is due.
func (a *Agent) probeStarted(ctx context.Context, pod *corev1.Pod, st *podState, rs *runtime.PodStatus, now time.Time) time.Time {
	p := prober{rt: a.rt, pod: pod, now: now, event: a.event}
	var next time.Time
	probe := func(c *corev1.Container) {
		attempts := attemptsOf(rs, c.Name)
		if len(attempts) == 0 || attempts[0].State != runtime.StateRunning || st.container(c.Name).id == attempts[0].ID {
			return
		}
		if _, t := p.probe(ctx, c, attempts[0], st.container(c.Name)); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			probe(&pod.Spec.InitContainers[i])
		}
	}
	for i := range pod.Spec.Containers {
		probe(&pod.Spec.Containers[i])
	}
	return next
}

// hasRun reports whether the pod's status shows it ran before: such a pod
// was admitted by an earlier run of the agent.
func hasRun(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodPending || len(pod.Status.ContainerStatuses) > 0
}

// runContainers takes the next steps for a pod that should be running: the
// sandbox, then the init containers one at a time, then every container,
// restarting those that exited as the restart policy says. done is true
// once no regular container will run again.
func (a *Agent) runContainers(ctx context.Context, pod *corev1.Pod, st *podState, rs *runtime.PodStatus, now time.Time) (next time.Duration, done bool, err error) {
	if rs == nil || rs.Sandbox == nil || !rs.Sandbox.Ready {
		if _, err := a.rt.RunPodSandbox(ctx, pod); err != nil {
			a.event(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: "+err.Error())
			return 0, false, fmt.Errorf("run sandbox: %w", err)
		}
		if rs, err = a.rt.PodStatus(ctx, pod.UID); err != nil {
			return 0, false, err
		}
	}
	p := prober{rt: a.rt, pod: pod, now: now, event: a.event}
	var wake time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}

	// Init containers, in order. Sidecars start and keep running; a regular
	// init container must succeed before the next one starts.
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		attempts := attemptsOf(rs, c.Name)
		if isSidecar(c) {
			t, wait := a.keepRunning(ctx, pod, st, c, attempts, p, true)
			earliest(t)
			if wait && !st.initialized {
				return untilTime(wake, now), false, nil
			}
			continue
		}
		if st.initialized {
			continue
		}
		if len(attempts) == 0 {
			earliest(a.start(ctx, pod, st, c, 0))
			return untilTime(wake, now), false, nil
		}
		latest := attempts[0]
		switch {
		case latest.State == runtime.StateExited && latest.ExitCode == 0:
			continue
		case latest.State == runtime.StateExited:
			if !shouldRestart(c, &pod.Spec, latest.ExitCode) {
				return 0, true, nil
			}
			earliest(a.restart(ctx, pod, st, c, latest, now))
		}
		return untilTime(wake, now), false, nil
	}
	st.initialized = true

	regularDone := true
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		attempts := attemptsOf(rs, c.Name)
		if len(attempts) > 0 && attempts[0].State == runtime.StateExited && !shouldRestart(c, &pod.Spec, attempts[0].ExitCode) {
			continue
		}
		regularDone = false
		t, _ := a.keepRunning(ctx, pod, st, c, attempts, p, false)
		earliest(t)
	}
	if regularDone && len(pod.Spec.Containers) > 0 {
		return 0, true, nil
	}
	return untilTime(wake, now), false, nil
}

// keepRunning starts container c if it never ran, restarts it (after its
// back-off) if it exited, and probes it while it runs. wait is true while a
// sidecar has not started yet. It returns when it wants to look again.
func (a *Agent) keepRunning(ctx context.Context, pod *corev1.Pod, st *podState, c *corev1.Container, attempts []runtime.Container, p prober, sidecar bool) (time.Time, bool) {
	if len(attempts) == 0 {
		return a.start(ctx, pod, st, c, 0), sidecar
	}
	latest := attempts[0]
	cs := st.container(c.Name)
	switch latest.State {
	case runtime.StateExited, runtime.StateUnknown:
		return a.restart(ctx, pod, st, c, latest, p.now), sidecar
	case runtime.StateRunning:
		kill, next := p.probe(ctx, c, latest, cs)
		if kill != "" {
			a.event(pod, corev1.EventTypeNormal, "Killing", kill)
			if err := a.rt.StopContainer(ctx, pod, latest.ID, gracePeriod(pod)); err != nil {
				klog.FromContext(ctx).Error(err, "Stop container", "pod", klog.KObj(pod), "container", c.Name)
			}
			return p.now, sidecar
		}
		return next, sidecar && !cs.started
	}
	return time.Time{}, sidecar
}

// start pulls c's image and starts attempt number attempt of it. Failures
// become c's Waiting reason and are retried after a doubling delay.
func (a *Agent) start(ctx context.Context, pod *corev1.Pod, st *podState, c *corev1.Container, attempt int) time.Time {
	cs := st.container(c.Name)
	now := a.clock.Now()
	if now.Before(cs.retryAt) {
		if cs.waitReason == reasonErrImagePull {
			// As upstream: the sync after a failed pull reports the back-off.
			msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
			cs.waitReason, cs.waitMessage = reasonImagePullBackOff, msg+": "+cs.waitMessage
			a.event(pod, corev1.EventTypeNormal, "BackOff", msg)
		}
		return cs.retryAt
	}
	fail := func(reason, message string) time.Time {
		cs.waitReason, cs.waitMessage = reason, message
		event, initial := "Failed", a.restartBackoff
		if reason == reasonContainerCreating {
			// Volumes wait for objects that often come a moment later:
			// retry sooner, as upstream's volume manager (from 500 ms).
			event, initial = "FailedMount", mountRetry
		}
		a.event(pod, corev1.EventTypeWarning, event, message)
		cs.retryDelay = nextBackoff(cs.retryDelay, initial)
		cs.retryAt = now.Add(cs.retryDelay)
		return cs.retryAt
	}
	if _, err := a.rt.PullImage(ctx, pod, c); err != nil {
		if errors.Is(err, runtime.ErrImageNeverPull) {
			return fail("ErrImageNeverPull", err.Error())
		}
		fail(reasonErrImagePull, fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
		// The next sync, in a moment, reports ImagePullBackOff.
		return now.Add(min(cs.retryDelay/2, time.Second))
	}
	if attempt == 0 {
		a.event(pod, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", c.Image))
	}
	if _, err := a.rt.StartContainer(ctx, pod, c, attempt); err != nil {
		var config *runtime.ConfigError
		var mount *volumes.MountError
		var hook *runtime.HookError
		switch {
		case errors.As(err, &hook):
			a.event(pod, corev1.EventTypeWarning, "FailedPostStartHook", hook.Error())
			return fail("PostStartHookError", hook.Error())
		case errors.As(err, &config):
			return fail("CreateContainerConfigError", config.Error())
		case errors.As(err, &mount):
			// As upstream, the pod waits in ContainerCreating until its
			// volumes can be made.
			return fail(reasonContainerCreating, mount.Error())
		}
		return fail("CreateContainerError", "Error: "+err.Error())
	}
	cs.waitReason, cs.waitMessage = "", ""
	cs.retryDelay, cs.retryAt = 0, time.Time{}
	a.event(pod, corev1.EventTypeNormal, "Created", "Created container: "+c.Name)
	a.event(pod, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
	// Probes run from the next sync, which this requeue brings.
	return now
}

// restart starts the next attempt of an exited container, as upstream's
// back-off allows: a container that exits within its back-off of the last
// restart waits in CrashLoopBackOff until the back-off ends; each restart
// doubles the back-off (10 s up to 5 minutes), and a container that stayed up
// for twice the maximum starts over.
func (a *Agent) restart(ctx context.Context, pod *corev1.Pod, st *podState, c *corev1.Container, latest runtime.Container, now time.Time) time.Time {
	cs := st.container(c.Name)
	if cs.exitedID != latest.ID {
		cs.exitedID = latest.ID
		finished := latest.FinishedAt
		if finished.IsZero() {
			finished = now
		}
		if cs.backoffAt.IsZero() || finished.Sub(cs.backoffAt) > 2*maxBackoff {
			cs.backoff = 0
		}
		cs.restartAt = now
		if cs.backoff > 0 && finished.Sub(cs.backoffAt) < cs.backoff {
			cs.restartAt = cs.backoffAt.Add(cs.backoff)
			cs.waitReason = reasonCrashLoopBackOff
			cs.waitMessage = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", cs.backoff, c.Name, pod.Name, pod.Namespace, pod.UID)
			a.event(pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container "+c.Name+" in pod "+pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")")
		}
	}
	if now.Before(cs.restartAt) {
		return cs.restartAt
	}
	cs.backoff = nextBackoff(cs.backoff, a.restartBackoff)
	cs.backoffAt = now
	return a.start(ctx, pod, st, c, latest.Attempt+1)
}

// nextBackoff doubles d, starting at initial and capped at maxBackoff.
func nextBackoff(d, initial time.Duration) time.Duration {
	if d == 0 {
		return initial
	}
	return min(2*d, maxBackoff)
}

// stopPod stops the pod's containers in the background, so that a long grace
// period does not hold up the node's other pods; the pod is synced again
// when they have stopped.
func (a *Agent) stopPod(ctx context.Context, pod *corev1.Pod, st *podState) {
	if st.stopping {
		return
	}
	st.stopping = true
	grace := gracePeriod(pod)
	key, uid := keyOf(pod), pod.UID
	for _, c := range pod.Spec.Containers {
		if pod.DeletionTimestamp != nil {
			a.event(pod, corev1.EventTypeNormal, "Killing", "Stopping container "+c.Name)
		}
	}
	go func() {
		err := a.rt.StopPod(ctx, uid, grace)
		if err != nil {
			klog.FromContext(ctx).Error(err, "Stop pod", "pod", key)
		}
		a.mu.Lock()
		a.stops[uid] = err
		a.mu.Unlock()
		a.queue.Add(key)
	}()
}

// gracePeriod is how long the pod's containers get between SIGTERM and
// SIGKILL: what the deletion asked for, else the pod's own setting.
func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// finishDeletion confirms a deleted pod's end to the API server (grace 0,
// only this pod's UID) once its containers have stopped and its final status
// is written, and releases what the runtime held.
func (a *Agent) finishDeletion(ctx context.Context, pod *corev1.Pod) error {
	if err := a.rt.RemovePod(ctx, pod.UID); err != nil {
		return fmt.Errorf("remove pod: %w", err)
	}
	zero := int64(0)
	uid := pod.UID
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	// Conflict: the UID precondition failed, the name is another pod's now.
	if err != nil && !isGone(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("confirm deletion: %w", err)
	}
	return nil
}

func soonest(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	case a < b:
		return a
	}
	return b
}

func untilTime(t, now time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return time.Millisecond
}

// usageChecker is a runtime whose pods' emptyDir volumes use the node's
// disk: the agent asks it, about every usageCheckPeriod while such a pod
// runs, whether one is over its sizeLimit, and evicts the pod if so, as
// upstream's eviction manager does.
type usageChecker interface {
	// EmptyDirOverLimit returns the eviction message of pod's first disk
	// emptyDir over its sizeLimit, or "".
	EmptyDirOverLimit(pod *corev1.Pod) string
}

// usageCheckPeriod is how often usage is checked: upstream's eviction
// manager's housekeeping interval.
const usageCheckPeriod = 10 * time.Second

// evictedReason is the reason of an evicted pod's status and event.
const evictedReason = "Evicted"

// hasEmptyDirLimit reports whether pod has a disk emptyDir with a sizeLimit.
func hasEmptyDirLimit(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if e := v.EmptyDir; e != nil && e.Medium != corev1.StorageMediumMemory && e.SizeLimit != nil && e.SizeLimit.Sign() == 1 {
			return true
		}
	}
	return false
}
