package nodeagent

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// containerState is what the agent remembers of one container of a pod
// between syncs: its probes' results for the current attempt and its restart
// back-off.
type containerState struct {
	probes
	// exitedID is the exited attempt the current back-off is for.
	exitedID string
	// backoff is the current restart delay, counted from backoffAt (the last
	// restart); restartAt is when the next attempt may start.
	backoff              time.Duration
	backoffAt, restartAt time.Time
	// retryDelay and retryAt pace retries of a start that failed (image
	// pull, create).
	retryDelay time.Duration
	retryAt    time.Time
	// waitReason and waitMessage, when set, are the Waiting state the agent
	// reports (CrashLoopBackOff, an image or create error).
	waitReason, waitMessage string
}

// probes are the probe results of one attempt of a container.
type probes struct {
	// id is the attempt these results belong to.
	id              string
	started, ready  bool
	startupFailures int
	readySuccesses  int
	readyFailures   int
	liveFailures    int
	nextStartup     time.Time
	nextReadiness   time.Time
	nextLiveness    time.Time
}

// Probe defaults, as the API server fills them in.
const (
	defaultPeriod    = 10 * time.Second
	defaultTimeout   = time.Second
	defaultThreshold = 3
)

func probePeriod(p *corev1.Probe) time.Duration {
	if p.PeriodSeconds > 0 {
		return time.Duration(p.PeriodSeconds) * time.Second
	}
	return defaultPeriod
}

func probeTimeout(p *corev1.Probe) time.Duration {
	if p.TimeoutSeconds > 0 {
		return time.Duration(p.TimeoutSeconds) * time.Second
	}
	return defaultTimeout
}

func failureThreshold(p *corev1.Probe) int {
	if p.FailureThreshold > 0 {
		return int(p.FailureThreshold)
	}
	return defaultThreshold
}

func successThreshold(p *corev1.Probe) int {
	if p.SuccessThreshold > 0 {
		return int(p.SuccessThreshold)
	}
	return 1
}

// prober runs a container's probes that are due.
type prober struct {
	rt  runtime.Runtime
	pod *corev1.Pod
	now time.Time
	// event records an event about pod (Unhealthy); nil records none.
	event func(pod *corev1.Pod, eventType, reason, message string)
}

// probe brings cs up to date with container c's running attempt: it resets
// the results when the attempt changed, runs the startup probe until it
// passes, then readiness and liveness. It returns a non-empty kill message
// when the container must be restarted (startup or liveness failed), and
// the time the next probe is due (zero if none).
func (p prober) probe(ctx context.Context, c *corev1.Container, attempt runtime.Container, cs *containerState) (kill string, next time.Time) {
	if cs.id != attempt.ID {
		cs.probes = probes{id: attempt.ID}
		cs.started = c.StartupProbe == nil
		cs.ready = c.ReadinessProbe == nil
		start := attempt.StartedAt
		if c.StartupProbe != nil {
			cs.nextStartup = start.Add(time.Duration(c.StartupProbe.InitialDelaySeconds) * time.Second)
		}
		if c.ReadinessProbe != nil {
			cs.nextReadiness = start.Add(time.Duration(c.ReadinessProbe.InitialDelaySeconds) * time.Second)
		}
		if c.LivenessProbe != nil {
			cs.nextLiveness = start.Add(time.Duration(c.LivenessProbe.InitialDelaySeconds) * time.Second)
		}
	}
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !cs.started {
		if !p.now.Before(cs.nextStartup) {
			ok := p.run(ctx, attempt.ID, "Startup", c.StartupProbe)
			cs.nextStartup = p.now.Add(probePeriod(c.StartupProbe))
			switch {
			case ok == runtime.ProbeSuccess:
				cs.started = true
			case ok == runtime.ProbeFailure:
				cs.startupFailures++
				if cs.startupFailures >= failureThreshold(c.StartupProbe) {
					return "Container " + c.Name + " failed startup probe, will be restarted", time.Time{}
				}
			}
		}
		if !cs.started {
			earliest(cs.nextStartup)
			return "", next
		}
	}
	if c.ReadinessProbe != nil {
		if !p.now.Before(cs.nextReadiness) {
			ok := p.run(ctx, attempt.ID, "Readiness", c.ReadinessProbe)
			cs.nextReadiness = p.now.Add(probePeriod(c.ReadinessProbe))
			switch ok {
			case runtime.ProbeSuccess:
				cs.readyFailures = 0
				cs.readySuccesses++
				if cs.readySuccesses >= successThreshold(c.ReadinessProbe) {
					cs.ready = true
				}
			case runtime.ProbeFailure:
				cs.readySuccesses = 0
				cs.readyFailures++
				if cs.readyFailures >= failureThreshold(c.ReadinessProbe) || !cs.ready {
					cs.ready = false
				}
			}
		}
		earliest(cs.nextReadiness)
	}
	if c.LivenessProbe != nil {
		if !p.now.Before(cs.nextLiveness) {
			ok := p.run(ctx, attempt.ID, "Liveness", c.LivenessProbe)
			cs.nextLiveness = p.now.Add(probePeriod(c.LivenessProbe))
			switch ok {
			case runtime.ProbeSuccess:
				cs.liveFailures = 0
			case runtime.ProbeFailure:
				cs.liveFailures++
				if cs.liveFailures >= failureThreshold(c.LivenessProbe) {
					return "Container " + c.Name + " failed liveness probe, will be restarted", time.Time{}
				}
			}
		}
		earliest(cs.nextLiveness)
	}
	return "", next
}

// run runs one probe of kind (Startup, Readiness, Liveness) and, as
// upstream's kubelet, records a failure or an error as an Unhealthy event.
// An error's result is Unknown: it counts neither way.
func (p prober) run(ctx context.Context, id, kind string, probe *corev1.Probe) runtime.ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout(probe))
	defer cancel()
	res, msg, err := p.rt.Probe(ctx, p.pod, id, probe)
	switch {
	case err != nil:
		p.record(corev1.EventTypeWarning, "Unhealthy", kind+" probe errored and resulted in unknown state: "+err.Error())
		return runtime.ProbeUnknown
	case res == runtime.ProbeFailure:
		p.record(corev1.EventTypeWarning, "Unhealthy", kind+" probe failed: "+msg)
	}
	return res
}

func (p prober) record(eventType, reason, message string) {
	if p.event != nil {
		p.event(p.pod, eventType, reason, message)
	}
}
