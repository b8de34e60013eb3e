package nodeagent

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// probeRuntime answers probes with a fixed result; the rest of the
// runtime is not used by the prober.
type probeRuntime struct {
	runtime.Runtime
	res runtime.ProbeResult
	msg string
	err error
}

func (r probeRuntime) Probe(context.Context, *corev1.Pod, string, *corev1.Probe) (runtime.ProbeResult, string, error) {
	return r.res, r.msg, r.err
}

// TestProbeEvents: as upstream's kubelet, a failed probe is an Unhealthy
// warning naming the probe and what it said; an errored one says it
// resulted in an unknown state and counts neither way; a passing one
// records nothing.
func TestProbeEvents(t *testing.T) {
	exec := corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}}
	for _, tc := range []struct {
		name      string
		rt        probeRuntime
		container corev1.Container
		want      []string
		failures  int
	}{
		{"liveness fails", probeRuntime{res: runtime.ProbeFailure, msg: "HTTP probe failed with statuscode: 500"},
			corev1.Container{Name: "c", LivenessProbe: &corev1.Probe{ProbeHandler: exec, FailureThreshold: 3}},
			[]string{"Warning Unhealthy Liveness probe failed: HTTP probe failed with statuscode: 500"}, 1},
		{"readiness fails", probeRuntime{res: runtime.ProbeFailure, msg: "no"},
			corev1.Container{Name: "c", ReadinessProbe: &corev1.Probe{ProbeHandler: exec}},
			[]string{"Warning Unhealthy Readiness probe failed: no"}, 0},
		{"startup errors", probeRuntime{res: runtime.ProbeUnknown, err: errors.New("dial: refused")},
			corev1.Container{Name: "c", StartupProbe: &corev1.Probe{ProbeHandler: exec}},
			[]string{"Warning Unhealthy Startup probe errored and resulted in unknown state: dial: refused"}, 0},
		{"liveness passes", probeRuntime{res: runtime.ProbeSuccess},
			corev1.Container{Name: "c", LivenessProbe: &corev1.Probe{ProbeHandler: exec}}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			p := prober{rt: tc.rt, pod: &corev1.Pod{}, now: podT0.Add(time.Minute), event: func(_ *corev1.Pod, typ, reason, msg string) {
				got = append(got, typ+" "+reason+" "+msg)
			}}
			cs := &containerState{}
			p.probe(t.Context(), &tc.container, running("c", 0), cs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("events %q, want %q", got, tc.want)
			}
			if cs.liveFailures != tc.failures {
				t.Errorf("liveness failures %d, want %d", cs.liveFailures, tc.failures)
			}
		})
	}
}
