package simulated

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// restoreLocked rebuilds, for a pod the runtime does not know, the
// containers that the pod's status says this runtime ran: a simulated
// container has no process to outlive its runtime, so after a restart of
// the process the pod's status is all that is left of it. Containers come
// back in the state the status reports, with their IDs, attempts and times,
// and those whose stage makes them exit get their exit timer from their
// original start. Addresses the status reports are taken back from the
// pools. It returns the timers to set.
func (r *Runtime) restoreLocked(sp *pod, p *corev1.Pod, now time.Time) timerWork {
	var work timerWork
	for _, ip := range p.Status.PodIPs {
		for _, pl := range r.pools {
			if pl.Take(ip.IP) {
				sp.ips = append(sp.ips, ip.IP)
				break
			}
		}
	}
	restore := func(statuses []corev1.ContainerStatus) {
		for _, cs := range statuses {
			spec := specContainer(p, cs.Name)
			if spec == nil {
				continue
			}
			if t := cs.LastTerminationState.Terminated; t != nil && cs.RestartCount > 0 {
				r.restoreContainer(sp, spec, t.ContainerID, cs.RestartCount-1, cs.LastTerminationState, now, &work, p)
			}
			r.restoreContainer(sp, spec, cs.ContainerID, cs.RestartCount, cs.State, now, &work, p)
		}
	}
	restore(p.Status.InitContainerStatuses)
	restore(p.Status.ContainerStatuses)
	return work
}

// restoreContainer adds one attempt as state describes it, if id is one of
// this runtime's and the state is running or terminated.
func (r *Runtime) restoreContainer(sp *pod, spec *corev1.Container, id string, attempt int32, state corev1.ContainerState, now time.Time, work *timerWork, p *corev1.Pod) {
	id, ok := strings.CutPrefix(id, Type+"://")
	if !ok || id == "" || r.containers[id] != nil {
		return
	}
	ct := &container{id: id, pod: sp, name: spec.Name, image: spec.Image, attempt: attempt}
	switch {
	case state.Running != nil:
		b, err := r.stages.behaviourFor(newTarget(p, spec))
		if err != nil {
			return
		}
		ct.b = b
		started := state.Running.StartedAt.Time
		ct.state, ct.created, ct.started = running, stampOf(started), stampOf(started)
		if b != nil && b.exits {
			work.add(ct, timerExit, now, max(started.Add(b.exitAfter).Sub(now), 0), b.exitCode)
		}
	case state.Terminated != nil:
		t := state.Terminated
		ct.state, ct.exitCode, ct.reason = exited, t.ExitCode, t.Reason
		ct.created, ct.started, ct.finished = stampOf(t.StartedAt.Time), stampOf(t.StartedAt.Time), stampOf(t.FinishedAt.Time)
	default:
		return
	}
	r.imageRefLocked(spec.Image)
	r.containers[id] = ct
	sp.containers = append(sp.containers, ct)
}
