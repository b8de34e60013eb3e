package simulated

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

//go:embed stages.yaml
var defaultStageFile []byte

// defaultStages compiles defaultStageFile once; the result is never changed.
var defaultStages = sync.OnceValues(func() (*Stages, error) { return ParseStages(defaultStageFile) })

// DefaultStageFile returns a copy of the stage file runtimes use when
// Config.Stages is nil: a starting point for users' own.
func DefaultStageFile() []byte { return slices.Clone(defaultStageFile) }

// Stages is a compiled stage file. It is never changed after ParseStages,
// so one value serves any number of runtimes.
type Stages struct {
	list []*stage
}

// LoadStages reads and compiles the stage file at path.
func LoadStages(path string) (*Stages, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stages: %w", err)
	}
	s, err := ParseStages(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// StageFile is the document a stage file holds.
type StageFile struct {
	// Stages are tried in order; the first whose Match selects a container
	// decides its life. A container no stage selects runs until stopped and
	// passes every probe.
	Stages []Stage `json:"stages"`
}

// Stage is one rule: which containers it selects and how they live.
type Stage struct {
	// Name identifies the stage in errors and logs.
	Name string `json:"name"`
	// Match selects containers; its zero value selects all.
	Match Match `json:"match,omitempty"`
	// StartDelay is the time from StartContainer to Running. Zero: Running
	// when StartContainer returns.
	StartDelay metav1.Duration `json:"startDelay,omitempty"`
	// Exit, when set, makes the container exit by itself. Nil: it runs until
	// stopped.
	Exit *Exit `json:"exit,omitempty"`
	// Stop says how the container answers SIGTERM. Zero: it exits at once
	// with code 0.
	Stop Stop `json:"stop,omitempty"`
	// Readiness, Liveness and Startup give probe results. Nil: success.
	Readiness *ProbeStage `json:"readiness,omitempty"`
	Liveness  *ProbeStage `json:"liveness,omitempty"`
	Startup   *ProbeStage `json:"startup,omitempty"`
}

// Match selects containers. Every non-empty field must match; within a list
// field, any entry may.
type Match struct {
	// Labels and Annotations must all be on the pod with these values.
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// OwnerKinds lists kinds of the pod's controller owner ("Job").
	OwnerKinds []string `json:"ownerKinds,omitempty"`
	// RestartPolicies lists pod restart policies.
	RestartPolicies []corev1.RestartPolicy `json:"restartPolicies,omitempty"`
	// ContainerTypes lists "Init" (an init container that runs to
	// completion), "Sidecar" (a restartable init container) and "Regular".
	ContainerTypes []ContainerType `json:"containerTypes,omitempty"`
	// Names lists container names.
	Names []string `json:"names,omitempty"`
	// Images lists image patterns (path.Match syntax: "*/busybox:*").
	Images []string `json:"images,omitempty"`
	// Command is a regular expression (RE2) that must match the whole of
	// the container's command and args joined by single spaces. Its
	// submatches can feed Exit.CodeFrom and Exit.AfterFrom.
	Command string `json:"command,omitempty"`
}

// ContainerType is the role of a container in its pod.
type ContainerType string

const (
	// ContainerInit is an init container that runs to completion.
	ContainerInit ContainerType = "Init"
	// ContainerSidecar is an init container with restartPolicy Always.
	ContainerSidecar ContainerType = "Sidecar"
	// ContainerRegular is an entry of spec.containers.
	ContainerRegular ContainerType = "Regular"
)

// Exit says when and how a container exits by itself.
type Exit struct {
	// After is the time from Running to the exit. Zero: at once.
	After metav1.Duration `json:"after,omitempty"`
	// Code is the exit code.
	Code int32 `json:"code,omitempty"`
	// Reason defaults to "Completed" for code 0 and "Error" otherwise.
	Reason string `json:"reason,omitempty"`
	// Message is reported with the exit.
	Message string `json:"message,omitempty"`
	// CodeFrom and AfterFrom, when not 0, name a submatch of Match.Command
	// holding the exit code, or the seconds until the exit.
	CodeFrom  int `json:"codeFrom,omitempty"`
	AfterFrom int `json:"afterFrom,omitempty"`
}

// Stop says how a container answers SIGTERM.
type Stop struct {
	// Delay is how long it takes to exit. Past the grace period it is killed
	// with code 137 instead.
	Delay metav1.Duration `json:"delay,omitempty"`
	// Code is the exit code when it exits within the grace period.
	Code int32 `json:"code,omitempty"`
}

// ProbeStage gives a probe's result over the container's life.
type ProbeStage struct {
	// Result is "Success" or "Failure".
	Result string `json:"result"`
	// After is the time from the container's start at which Result begins;
	// before, the probe gives the opposite result. Zero: always Result.
	After metav1.Duration `json:"after,omitempty"`
}

// Probe kinds, indexes into behaviour.probes.
const (
	probeReadiness = iota
	probeLiveness
	probeStartup
	probeKinds
)

// behaviour is a container's life, compiled from a stage and overrides.
type behaviour struct {
	stage      string // the stage's name, "" for none
	startDelay time.Duration
	exits      bool
	exitAfter  time.Duration
	exitCode   int32
	reason     string
	message    string
	stopDelay  time.Duration
	stopCode   int32
	pullFails  bool
	probes     [probeKinds]probeBehaviour
}

// probeBehaviour is a compiled ProbeStage; its zero value always succeeds.
type probeBehaviour struct {
	fails bool
	after time.Duration
}

// result is the probe's result at the given time since start.
func (p probeBehaviour) result(sinceStart time.Duration) runtime.ProbeResult {
	fails := p.fails
	if sinceStart < p.after {
		fails = !fails
	}
	if fails {
		return runtime.ProbeFailure
	}
	return runtime.ProbeSuccess
}

// stage is a compiled Stage.
type stage struct {
	name    string
	match   Match
	command *regexp.Regexp
	// codeFrom and afterFrom are copied from Exit; b is the rest.
	codeFrom, afterFrom int
	b                   behaviour
}

// ParseStages reads and compiles a stage file (YAML or JSON, a StageFile).
func ParseStages(data []byte) (*Stages, error) {
	var f StageFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("parse stages: %w", err)
	}
	stages := make([]*stage, 0, len(f.Stages))
	var errs []error
	for i, s := range f.Stages {
		st, err := compileStage(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("stage %d (%q): %w", i, s.Name, err))
			continue
		}
		stages = append(stages, st)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Stages{list: stages}, nil
}

func compileStage(s Stage) (*stage, error) {
	st := &stage{name: s.Name, match: s.Match}
	if s.Name == "" {
		return nil, errors.New("name is empty")
	}
	if s.Match.Command != "" {
		re, err := regexp.Compile(`^(?:` + s.Match.Command + `)$`)
		if err != nil {
			return nil, fmt.Errorf("match.command: %w", err)
		}
		st.command = re
	}
	for _, p := range s.Match.Images {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("match.images %q: %w", p, err)
		}
	}
	for _, t := range s.Match.ContainerTypes {
		if t != ContainerInit && t != ContainerSidecar && t != ContainerRegular {
			return nil, fmt.Errorf("match.containerTypes: unknown type %q", t)
		}
	}
	st.b.stage = s.Name
	st.b.startDelay = s.StartDelay.Duration
	if e := s.Exit; e != nil {
		subs := 0
		if st.command != nil {
			subs = st.command.NumSubexp()
		}
		if e.CodeFrom < 0 || e.CodeFrom > subs || e.AfterFrom < 0 || e.AfterFrom > subs {
			return nil, fmt.Errorf("exit: codeFrom/afterFrom must name one of the %d submatches of match.command", subs)
		}
		st.b.exits = true
		st.b.exitAfter = e.After.Duration
		st.b.exitCode = e.Code
		st.b.reason = e.Reason
		st.b.message = e.Message
		st.codeFrom, st.afterFrom = e.CodeFrom, e.AfterFrom
	}
	st.b.stopDelay, st.b.stopCode = s.Stop.Delay.Duration, s.Stop.Code
	for kind, p := range [probeKinds]*ProbeStage{s.Readiness, s.Liveness, s.Startup} {
		if p == nil {
			continue
		}
		r, err := parseProbeResult(p.Result)
		if err != nil {
			return nil, err
		}
		st.b.probes[kind] = probeBehaviour{fails: r == runtime.ProbeFailure, after: p.After.Duration}
	}
	if err := checkDurations(st.b); err != nil {
		return nil, err
	}
	return st, nil
}

func parseProbeResult(s string) (runtime.ProbeResult, error) {
	switch strings.ToLower(s) {
	case "success":
		return runtime.ProbeSuccess, nil
	case "failure":
		return runtime.ProbeFailure, nil
	}
	return 0, fmt.Errorf("probe result %q is neither Success nor Failure", s)
}

func checkDurations(b behaviour) error {
	if b.startDelay < 0 || b.exitAfter < 0 || b.stopDelay < 0 {
		return errors.New("durations must not be negative")
	}
	return nil
}
