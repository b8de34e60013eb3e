package simulated

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// AnnotationPrefix starts the pod annotation that overrides the stage of one
// container: "container.sim.kubelite.io/<container name>". Its value is a
// comma-separated list of key=value:
//
//	start=<duration>      time from StartContainer to Running
//	exit=<code>|never     exit code, or run until stopped
//	after=<duration>      time from Running to the exit
//	reason=<reason>       reason reported with the exit ("OOMKilled")
//	stop=<duration>       time to exit after SIGTERM
//	stopCode=<code>       exit code after SIGTERM
//	readiness=<result>[@<duration>]   "Failure", "Success@5s" (see ProbeStage)
//	liveness=<result>[@<duration>]
//	startup=<result>[@<duration>]
//	pull=fail             PullImage fails
//
// Setting exit or after makes the container exit; the other of the two keeps
// the stage's value, or 0.
const AnnotationPrefix = "container.sim.kubelite.io/"

// applyOverrides returns b changed by the pod's annotation for t's
// container, or b itself when there is none.
func applyOverrides(b *behaviour, t *target) (*behaviour, error) {
	v, ok := t.pod.Annotations[AnnotationPrefix+t.c.Name]
	if !ok {
		return b, nil
	}
	own := behaviour{}
	if b != nil {
		own = *b
	}
	if err := own.override(v); err != nil {
		return nil, fmt.Errorf("annotation %s%s: %w", AnnotationPrefix, t.c.Name, err)
	}
	return &own, nil
}

// override applies one annotation value to b.
func (b *behaviour) override(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("%q is not key=value", item)
		}
		if err := b.set(strings.TrimSpace(key), strings.TrimSpace(val)); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return checkDurations(*b)
}

func (b *behaviour) set(key, val string) error {
	var err error
	switch key {
	case "start":
		b.startDelay, err = time.ParseDuration(val)
	case "exit":
		if val == "never" {
			b.exits = false
			return nil
		}
		b.exits = true
		b.exitCode, err = parseCode(val)
	case "after":
		b.exits = true
		b.exitAfter, err = time.ParseDuration(val)
	case "reason":
		b.reason = val
	case "stop":
		b.stopDelay, err = time.ParseDuration(val)
	case "stopCode":
		b.stopCode, err = parseCode(val)
	case "readiness":
		b.probes[probeReadiness], err = parseProbe(val)
	case "liveness":
		b.probes[probeLiveness], err = parseProbe(val)
	case "startup":
		b.probes[probeStartup], err = parseProbe(val)
	case "pull":
		if val != "fail" {
			return fmt.Errorf("%q is not \"fail\"", val)
		}
		b.pullFails = true
	default:
		return fmt.Errorf("unknown key")
	}
	return err
}

func parseCode(s string) (int32, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("%q is not an exit code (0-255)", s)
	}
	return int32(n), nil
}

func parseProbe(s string) (probeBehaviour, error) {
	res, after, hasAfter := strings.Cut(s, "@")
	r, err := parseProbeResult(res)
	if err != nil {
		return probeBehaviour{}, err
	}
	p := probeBehaviour{fails: r == runtime.ProbeFailure}
	if hasAfter {
		if p.after, err = time.ParseDuration(after); err != nil {
			return probeBehaviour{}, err
		}
		if p.after < 0 {
			return probeBehaviour{}, fmt.Errorf("%q is negative", after)
		}
	}
	return p, nil
}
