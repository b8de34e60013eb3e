package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Outcome states of one test, as the summary counts them.
const (
	Passed  = "passed"
	Failed  = "failed"
	Skipped = "skipped" // in the selection but not run (or the test skipped itself)
)

// Result is what one test did.
type Result struct {
	Name     string  `json:"name"`
	State    string  `json:"state"`             // passed, failed or skipped
	Ginkgo   string  `json:"ginkgo,omitempty"`  // ginkgo's state: failed, timedout, panicked, interrupted, ...
	Seconds  float64 `json:"seconds,omitempty"` // wall time of the e2e.test process
	Failure  string  `json:"failure,omitempty"` // the failure (or skip) message, in full
	Location string  `json:"location,omitempty"`
	Log      string  `json:"log,omitempty"` // relative to the results folder
}

// FirstLine is the failure's first informative line: gomega's "Unexpected
// error:" and similar headers are joined with the line that says what failed.
func (r Result) FirstLine() string {
	var lines []string
	for _, l := range strings.Split(r.Failure, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "(no failure message)"
	}
	first := lines[0]
	for i := 1; i < len(lines) && i < 4 && strings.HasSuffix(first, ":"); i++ {
		first += " " + lines[i]
	}
	const max = 300
	if len(first) > max {
		first = first[:max] + "..."
	}
	return first
}

// Suite runs single tests of e2e.test against one cluster.
type Suite struct {
	E2E         string        // the e2e.test binary
	Kubectl     string        // --kubectl-path
	Flags       []string      // further flags for every test (relaxing flags, EXTRA_FLAGS)
	TestTimeout time.Duration // --ginkgo.timeout of one test's process
	Grace       time.Duration // --ginkgo.grace-period
}

// listSuite lists the full names of every spec e2e.test holds.
func listSuite(ctx context.Context, e2e string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, e2e, "--list-tests").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-tests: %w", e2e, err)
	}
	line := regexp.MustCompile(`^\s+\S+:\d+: (.+)$`)
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			names = append(names, m[1])
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s --list-tests listed no tests", e2e)
	}
	return names, nil
}

// args is the command line of one test's e2e.test process.
func (s *Suite) args(name, dir, kubeconfig string) []string {
	args := []string{
		"--ginkgo.focus=" + exactFocus(name),
		"--ginkgo.timeout=" + s.TestTimeout.String(),
		"--ginkgo.grace-period=" + s.Grace.String(),
		"--ginkgo.no-color",
		"--ginkgo.v",
		"--ginkgo.json-report=" + filepath.Join(dir, "ginkgo.json"),
		"--provider=skeleton",
		"--kubeconfig=" + kubeconfig,
		"--kubectl-path=" + s.Kubectl,
		"--report-dir=" + dir,
		"--e2e-output-dir=" + dir,
		"--dump-logs-on-failure=false",
		"--disable-log-dump", // no cluster/log-dump/log-dump.sh to gather node logs with
	}
	return append(args, s.Flags...)
}

// Run runs one test in its own e2e.test process, in dir, against the cluster
// of kubeconfig. Its ginkgo timeout
// bounds it; should the process outlive that by the grace period and a minute,
// or ctx end, its process group is interrupted and then killed.
func (s *Suite) Run(ctx context.Context, name, dir, kubeconfig string) Result {
	res := Result{Name: name, State: Failed}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Failure = err.Error()
		return res
	}
	logPath := filepath.Join(dir, "e2e.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		res.Failure = err.Error()
		return res
	}
	defer logFile.Close()
	args := s.args(name, dir, kubeconfig)
	fmt.Fprintf(logFile, "# %s %s\n", s.E2E, strings.Join(quoteArgs(args), " "))

	cmd := exec.Command(s.E2E, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // kubectl and other children die with it
	start := time.Now()
	if err := cmd.Start(); err != nil {
		res.Failure = err.Error()
		return res
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	hardLimit := time.NewTimer(s.TestTimeout + s.Grace + time.Minute)
	defer hardLimit.Stop()
	var waitErr error
	var killed string
	select {
	case waitErr = <-exited:
	case <-hardLimit.C:
		killed = fmt.Sprintf("e2e.test did not end within %s of its %s timeout; killed by the runner", s.Grace+time.Minute, s.TestTimeout)
		waitErr = stopGroup(cmd, exited, s.Grace)
	case <-ctx.Done():
		killed = "interrupted by the runner: " + context.Cause(ctx).Error()
		waitErr = stopGroup(cmd, exited, s.Grace)
	}
	res.Seconds = time.Since(start).Round(100 * time.Millisecond).Seconds()

	spec, setup, found, perr := readGinkgoReport(filepath.Join(dir, "ginkgo.json"), name)
	switch {
	case perr == nil && found:
		res.Ginkgo = spec.State
		res.Location = spec.Failure.Location.String()
		res.Failure = spec.Failure.Message
		switch spec.State {
		case "passed":
			res.State = Passed
		case "skipped", "pending":
			res.State = Skipped
			if res.Failure == "" && setup.State != "" {
				// The spec never started: suite setup failed before it.
				res.State, res.Ginkgo = Failed, setup.State
				res.Failure = "[" + setup.Text + "] " + setup.Failure.Message
				res.Location = setup.Failure.Location.String()
			} else if res.Failure == "" {
				res.Failure = "skipped by ginkgo"
			}
		default:
			res.State = Failed
			if spec.Failure.ForwardedPanic != "" && !strings.Contains(res.Failure, spec.Failure.ForwardedPanic) {
				res.Failure = "panic: " + spec.Failure.ForwardedPanic + "\n" + res.Failure
			}
		}
	case perr == nil && setup.State != "":
		// The spec never started: suite setup (or teardown) failed around it.
		res.Ginkgo = setup.State
		res.Failure = "[" + setup.Text + "] " + setup.Failure.Message
		res.Location = setup.Failure.Location.String()
	case perr == nil && !found:
		res.Failure = "e2e.test ran no spec of this name (does the focus match it?)"
	default:
		res.Failure = fmt.Sprintf("e2e.test wrote no usable report (%v; exit: %v); last lines of its log:\n%s", perr, waitErr, tail(logPath, 15))
	}
	if killed != "" {
		if strings.HasPrefix(killed, "interrupted") && res.State != Passed {
			res.State = Skipped // the run was stopped, not the test failed
		} else if res.State == Passed {
			res.State = Failed
		}
		res.Failure = killed + "\n" + res.Failure
	}
	if os.Getenv("KEEP_REPORTS") == "" {
		// Both hold every one of the suite's ~7000 specs (all but one skipped).
		os.Remove(filepath.Join(dir, "ginkgo.json"))
		os.Remove(filepath.Join(dir, "junit_01.xml"))
	}
	return res
}

// stopGroup interrupts a test's process group as ginkgo's own timeout would,
// lets it clean up for the grace period, then kills it.
func stopGroup(cmd *exec.Cmd, exited chan error, grace time.Duration) error {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-exited:
		return err
	case <-time.After(grace + 10*time.Second):
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return <-exited
}

// ginkgoSpec is the part of ginkgo's JSON SpecReport the runner reads.
type ginkgoSpec struct {
	ContainerHierarchyTexts []string
	LeafNodeType            string
	LeafNodeText            string
	State                   string
	Failure                 struct {
		Message        string
		ForwardedPanic string
		Location       codeLocation
	}
}

type codeLocation struct {
	FileName   string
	LineNumber int
}

func (s ginkgoSpec) FullText() string {
	var texts []string
	for _, t := range append(append([]string{}, s.ContainerHierarchyTexts...), s.LeafNodeText) {
		if t != "" {
			texts = append(texts, t)
		}
	}
	return strings.Join(texts, " ")
}

func (l codeLocation) String() string {
	if l.FileName == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", trimModPath(l.FileName), l.LineNumber)
}

// trimModPath shortens a source path to its path inside k8s.io/kubernetes.
func trimModPath(p string) string {
	if i := strings.Index(p, "/test/e2e/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// setupSpec names the suite-level node that failed, if any.
type setupSpec struct {
	Text  string
	State string
	ginkgoSpec
}

// readGinkgoReport finds the named It in ginkgo's JSON report, and the first
// failed suite-level node (BeforeSuite and the like), if one failed.
func readGinkgoReport(path, name string) (spec ginkgoSpec, setup setupSpec, found bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return spec, setup, false, err
	}
	var reports []struct{ SpecReports []ginkgoSpec }
	if err := json.Unmarshal(b, &reports); err != nil {
		return spec, setup, false, fmt.Errorf("%s: %w", path, err)
	}
	if len(reports) == 0 {
		return spec, setup, false, errors.New(path + ": empty report")
	}
	for _, s := range reports[0].SpecReports {
		switch {
		case s.LeafNodeType == "It" && s.FullText() == name:
			spec, found = s, true
		case s.LeafNodeType != "It" && s.State != "passed" && s.State != "skipped" && setup.State == "":
			setup = setupSpec{Text: s.LeafNodeType, State: s.State, ginkgoSpec: s}
		}
	}
	return spec, setup, found, nil
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " '\"$\\|()[]*?") {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			out[i] = a
		}
	}
	return out
}
