package nodeagent

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// Waiting reasons, as upstream's kubelet reports them.
const (
	reasonPodInitializing   = "PodInitializing"
	reasonContainerCreating = "ContainerCreating"
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
	reasonPodCompleted      = "PodCompleted"
)

// agentConditions are the pod conditions the agent owns; others (readiness
// gates, DisruptionTarget, ...) are kept as they are.
var agentConditions = map[corev1.PodConditionType]bool{
	corev1.PodReadyToStartContainers: true,
	corev1.PodInitialized:            true,
	corev1.ContainersReady:           true,
	corev1.PodReady:                  true,
	corev1.PodScheduled:              true,
}

// statusInput is everything a pod's status is computed from.
type statusInput struct {
	pod     *corev1.Pod
	runtime *runtime.PodStatus // nil when the runtime holds nothing
	// scheme is the runtime's type, the scheme of container IDs.
	scheme  string
	hostIPs []string
	state   *podState
	now     time.Time
}

// buildStatus computes the status the agent reports for a pod: the pod's
// previous status is the base (so fields others own survive), and every field
// the agent owns is recomputed from the runtime and the agent's probes.
func buildStatus(in statusInput) corev1.PodStatus {
	pod, st := in.pod, in.state
	old := pod.Status
	s := *old.DeepCopy()
	s.ObservedGeneration = pod.Generation

	if st.rejected != nil {
		s.Phase = corev1.PodFailed
		s.Reason = st.rejected.Reason
		s.Message = "Pod was rejected: " + st.rejected.Message
		return s
	}
	if st.startTime != nil {
		s.StartTime = st.startTime
	}
	s.HostIP, s.HostIPs = "", nil
	for _, ip := range in.hostIPs {
		s.HostIPs = append(s.HostIPs, corev1.HostIP{IP: ip})
	}
	if len(in.hostIPs) > 0 {
		s.HostIP = in.hostIPs[0]
	}
	if in.runtime != nil && in.runtime.Sandbox != nil && len(in.runtime.Sandbox.IPs) > 0 {
		s.PodIP, s.PodIPs = in.runtime.Sandbox.IPs[0], nil
		for _, ip := range in.runtime.Sandbox.IPs {
			s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
		}
	}
	if pod.Spec.HostNetwork && len(in.hostIPs) > 0 {
		s.PodIP, s.PodIPs = in.hostIPs[0], nil
		for _, ip := range in.hostIPs {
			s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
		}
	}

	initialized := podInitialized(pod, in.runtime, st)
	s.InitContainerStatuses = containerStatuses(in, pod.Spec.InitContainers, old.InitContainerStatuses, false, true)
	s.ContainerStatuses = containerStatuses(in, pod.Spec.Containers, old.ContainerStatuses, !initialized, false)

	terminal := old.Phase == corev1.PodSucceeded || old.Phase == corev1.PodFailed
	s.Phase = podPhase(pod, s.InitContainerStatuses, s.ContainerStatuses, terminal || st.stopped, initialized)
	if st.deadlineExceeded && s.Phase != corev1.PodSucceeded {
		s.Phase = corev1.PodFailed
		s.Reason = "DeadlineExceeded"
		s.Message = "Pod was active on the node longer than the specified deadline"
	}
	if st.evicted != "" && s.Phase != corev1.PodSucceeded {
		s.Phase, s.Reason, s.Message = corev1.PodFailed, evictedReason, st.evicted
	}
	// Once terminal, a pod stays so.
	if terminal {
		s.Phase = old.Phase
	}
	s.Conditions = podConditions(in, s, initialized, old.Conditions)
	return s
}

// containerStatuses reports each container of specs: its latest attempt's
// state, the one before as lastState, restartCount, readiness and start.
// pending marks regular containers that wait for init containers.
func containerStatuses(in statusInput, specs []corev1.Container, old []corev1.ContainerStatus, pending, init bool) []corev1.ContainerStatus {
	if len(specs) == 0 {
		return nil
	}
	hasInit := len(in.pod.Spec.InitContainers) > 0
	out := make([]corev1.ContainerStatus, 0, len(specs))
	for i := range specs {
		c := &specs[i]
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
		attempts := attemptsOf(in.runtime, c.Name)
		cst := in.state.container(c.Name)
		switch {
		case len(attempts) == 0:
			reason := reasonContainerCreating
			if hasInit && (pending || init) {
				reason = reasonPodInitializing
			}
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason}
			if cst.waitReason != "" {
				cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: cst.waitReason, Message: cst.waitMessage}
			}
			// What the previous status said survives a runtime that lost the
			// container (a restarted simulated node): keep its count and last state.
			if prev := findStatus(old, c.Name); prev != nil {
				cs.RestartCount = prev.RestartCount
				cs.LastTerminationState = prev.LastTerminationState
				if prev.State.Terminated != nil {
					cs.State = prev.State
				}
			}
		default:
			latest := attempts[0]
			cs.ContainerID = in.scheme + "://" + latest.ID
			cs.ImageID = latest.ImageRef
			if latest.Image != "" {
				cs.Image = latest.Image
			}
			cs.RestartCount = int32(latest.Attempt)
			cs.State = apiState(in.scheme, latest)
			if len(attempts) > 1 {
				cs.LastTerminationState = apiState(in.scheme, attempts[1])
			}
			if latest.State == runtime.StateExited && cst.waitReason != "" && !in.state.stopped {
				// Exited and due to restart: upstream shows the back-off as
				// the state, and the exit as lastState.
				cs.LastTerminationState = cs.State
				cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: cst.waitReason, Message: cst.waitMessage}}
			}
			if latest.State == runtime.StateRunning {
				started := cst.started
				cs.Started = &started
				cs.Ready = started && cst.ready
			} else {
				started := false
				cs.Started = &started
			}
		}
		if init && !isSidecar(c) && cs.State.Terminated == nil {
			// Upstream reports started only for sidecars and regular
			// containers; a running init container is simply not ready.
			cs.Ready = false
		}
		out = append(out, cs)
	}
	return out
}

// apiState converts one runtime attempt into the API's state.
func apiState(scheme string, c runtime.Container) corev1.ContainerState {
	switch c.State {
	case runtime.StateRunning:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: apiTime(c.StartedAt)}}
	case runtime.StateExited, runtime.StateUnknown:
		reason := c.Reason
		if reason == "" {
			reason = "Completed"
			if c.ExitCode != 0 {
				reason = "Error"
			}
		}
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode:    c.ExitCode,
			Reason:      reason,
			Message:     c.Message,
			StartedAt:   apiTime(c.StartedAt),
			FinishedAt:  apiTime(c.FinishedAt),
			ContainerID: scheme + "://" + c.ID,
		}}
	default:
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reasonContainerCreating}}
	}
}

// attemptsOf returns the attempts of container name, newest first.
func attemptsOf(rs *runtime.PodStatus, name string) []runtime.Container {
	if rs == nil {
		return nil
	}
	var out []runtime.Container
	for _, c := range rs.Containers {
		if c.Name == name {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Attempt > out[j].Attempt })
	return out
}

func findStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// podInitialized reports whether every regular init container succeeded and
// every sidecar started.
func podInitialized(pod *corev1.Pod, rs *runtime.PodStatus, st *podState) bool {
	if st.initialized {
		return true
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		attempts := attemptsOf(rs, c.Name)
		if len(attempts) == 0 {
			return false
		}
		latest := attempts[0]
		if isSidecar(c) {
			if latest.State != runtime.StateRunning || !st.container(c.Name).started {
				return false
			}
			continue
		}
		if latest.State != runtime.StateExited || latest.ExitCode != 0 {
			return false
		}
	}
	return true
}

// podPhase is upstream's phase rule: Pending while anything is still to
// start, Running while a container runs or restarts, Succeeded or Failed once
// every regular container ended for good.
func podPhase(pod *corev1.Pod, inits, containers []corev1.ContainerStatus, terminal, initialized bool) corev1.PodPhase {
	pendingInit, pendingSidecars := 0, 0
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := findStatus(inits, c.Name)
		if isSidecar(c) {
			if cs == nil || (cs.State.Running != nil && (cs.Started == nil || !*cs.Started)) ||
				(cs.State.Waiting != nil && cs.LastTerminationState.Terminated == nil) {
				pendingSidecars++
			}
			continue
		}
		switch {
		case cs == nil, cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if code := cs.State.Terminated.ExitCode; code != 0 && !shouldRestart(c, &pod.Spec, code) {
				return corev1.PodFailed
			}
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
			if code := cs.LastTerminationState.Terminated.ExitCode; code != 0 && !shouldRestart(c, &pod.Spec, code) {
				return corev1.PodFailed
			}
		default:
			pendingInit++
		}
	}
	running, waiting, stopped, succeeded, restarting, unknown := 0, 0, 0, 0, 0, 0
	for _, cs := range inits {
		c := specOf(pod.Spec.InitContainers, cs.Name)
		if c != nil && isSidecar(c) && cs.State.Running != nil {
			running++
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := findStatus(containers, c.Name)
		var last *corev1.ContainerStateTerminated
		switch {
		case cs == nil:
			unknown++
			continue
		case cs.State.Running != nil:
			running++
			continue
		case cs.State.Terminated != nil:
			last = cs.State.Terminated
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
			last = cs.LastTerminationState.Terminated
		default:
			waiting++
			continue
		}
		stopped++
		if last.ExitCode == 0 {
			succeeded++
		}
		if shouldRestart(c, &pod.Spec, last.ExitCode) {
			restarting++
		}
	}
	switch {
	case pendingInit > 0 || (pendingSidecars > 0 && !initialized), waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if terminal || restarting == 0 {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

// shouldRestart applies the container's restart policy and rules, falling
// back to the pod's restartPolicy.
func shouldRestart(c *corev1.Container, spec *corev1.PodSpec, exitCode int32) bool {
	if c.RestartPolicy != nil {
		for _, rule := range c.RestartPolicyRules {
			if rule.ExitCodes != nil && exitCodeMatches(rule.ExitCodes, exitCode) {
				if rule.Action == corev1.ContainerRestartRuleActionRestart {
					return true
				}
			}
		}
		switch *c.RestartPolicy {
		case corev1.ContainerRestartPolicyAlways:
			return true
		case corev1.ContainerRestartPolicyOnFailure:
			return exitCode != 0
		case corev1.ContainerRestartPolicyNever:
			return false
		}
	}
	switch spec.RestartPolicy {
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	case corev1.RestartPolicyNever:
		return false
	}
	return true
}

func exitCodeMatches(r *corev1.ContainerRestartRuleOnExitCodes, code int32) bool {
	in := false
	for _, v := range r.Values {
		if v == code {
			in = true
		}
	}
	if r.Operator == corev1.ContainerRestartRuleOnExitCodesOpNotIn {
		return !in
	}
	return in
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func specOf(list []corev1.Container, name string) *corev1.Container {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// podConditions computes the agent's five conditions; a condition whose
// status did not change keeps its lastTransitionTime.
func podConditions(in statusInput, s corev1.PodStatus, initialized bool, old []corev1.PodCondition) []corev1.PodCondition {
	pod := in.pod
	terminal := s.Phase == corev1.PodSucceeded || s.Phase == corev1.PodFailed
	gen := pod.Generation
	cond := func(t corev1.PodConditionType, ok bool, reason, message string) corev1.PodCondition {
		status := corev1.ConditionFalse
		if ok {
			status = corev1.ConditionTrue
		}
		return corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: message, ObservedGeneration: gen}
	}
	var out []corev1.PodCondition
	for _, c := range old {
		if !agentConditions[c.Type] {
			out = append(out, c)
		}
	}
	sandboxReady := in.runtime != nil && in.runtime.Sandbox != nil && in.runtime.Sandbox.Ready
	out = append(out, cond(corev1.PodReadyToStartContainers, sandboxReady, "", ""))

	var initCond corev1.PodCondition
	switch {
	case terminal && initialized:
		initCond = cond(corev1.PodInitialized, true, reasonPodCompleted, "")
	case initialized || len(pod.Spec.InitContainers) == 0:
		initCond = cond(corev1.PodInitialized, true, "", "")
	default:
		var incomplete []string
		for _, cs := range s.InitContainerStatuses {
			if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
				c := specOf(pod.Spec.InitContainers, cs.Name)
				if c != nil && isSidecar(c) && cs.Started != nil && *cs.Started {
					continue
				}
				incomplete = append(incomplete, cs.Name)
			}
		}
		initCond = cond(corev1.PodInitialized, false, "ContainersNotInitialized",
			fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " ")))
	}
	out = append(out, initCond)

	var unready []string
	for _, cs := range s.InitContainerStatuses {
		if c := specOf(pod.Spec.InitContainers, cs.Name); c != nil && isSidecar(c) && !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	for _, cs := range s.ContainerStatuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	var containersReady, ready corev1.PodCondition
	switch {
	case terminal:
		containersReady = cond(corev1.ContainersReady, false, reasonPodCompleted, "")
		ready = cond(corev1.PodReady, false, reasonPodCompleted, "")
	case len(unready) > 0:
		msg := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
		containersReady = cond(corev1.ContainersReady, false, "ContainersNotReady", msg)
		ready = cond(corev1.PodReady, false, "ContainersNotReady", msg)
	default:
		containersReady = cond(corev1.ContainersReady, true, "", "")
		ready = cond(corev1.PodReady, true, "", "")
		var gates []string
		for _, g := range pod.Spec.ReadinessGates {
			c := findPodCondition(old, g.ConditionType)
			if c == nil {
				gates = append(gates, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
			} else if c.Status != corev1.ConditionTrue {
				gates = append(gates, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, c.Status))
			}
		}
		if len(gates) > 0 {
			ready = cond(corev1.PodReady, false, "ReadinessGatesNotReady", strings.Join(gates, ", "))
		}
	}
	out = append(out, containersReady, ready)
	if sched := findPodCondition(old, corev1.PodScheduled); sched != nil {
		out = append(out, *sched)
	} else {
		out = append(out, cond(corev1.PodScheduled, true, "", ""))
	}

	now := apiTime(in.now)
	for i := range out {
		c := &out[i]
		if !agentConditions[c.Type] {
			continue
		}
		if prev := findPodCondition(old, c.Type); prev != nil && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		} else if c.LastTransitionTime.IsZero() {
			c.LastTransitionTime = now
		}
		c.LastProbeTime = metav1.Time{}
	}
	return out
}

func findPodCondition(list []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range list {
		if list[i].Type == t {
			return &list[i]
		}
	}
	return nil
}

// apiTime is t as the API stores it: whole seconds. Status computed with
// finer times would never compare equal to what was written.
func apiTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t.Truncate(time.Second))
}
