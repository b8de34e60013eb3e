package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config is what every subcommand needs, from flags and the environment.
type Config struct {
	Repo        string // the kubelite repository
	E2E         string // e2e.test
	TiersTSV    string
	Kubelite    string // KUBELITE_BIN
	KubeliteArg []string
	External    string // CLUSTER_KUBECONFIG: test this cluster instead of starting kubelite
	Cluster     string // CLUSTER: kubelite (default) or upstream, the cluster to start
	Upstream    UpstreamBins
	Kubectl     string
	Procs       int
	TestTimeout time.Duration
	Timeout     time.Duration // of a whole run (0: none)
	Relax       string        // auto, yes or no
	ExtraFlags  []string
	KeepData    bool
}

// Cluster kinds a run can start (CLUSTER).
const (
	ClusterKubelite = "kubelite"
	ClusterUpstream = "upstream"
)

// resultsDir is results/<name>, or results/upstream-<name> for runs against
// upstream's control plane, so that those never replace kubelite's results.
func (c *Config) resultsDir(name string) string {
	if c.Cluster == ClusterUpstream {
		name = "upstream-" + name
	}
	return filepath.Join(c.Repo, "conformance", "results", name)
}

// clusterKind is what the summary records as the kind of cluster tested.
func (c *Config) clusterKind() string {
	if c.External != "" {
		return "external"
	}
	return c.Cluster
}

// Summary is a run's outcome; results/<name>/summary.json holds it.
type Summary struct {
	Name          string    `json:"name"`            // the results folder
	Tier          string    `json:"tier,omitempty"`  // T0a ... T5, T0, all
	Focus         string    `json:"focus,omitempty"` // FOCUS
	Started       time.Time `json:"started"`
	Seconds       float64   `json:"seconds"`
	Commit        string    `json:"commit"`
	Cluster       string    `json:"cluster"`
	ClusterKind   string    `json:"clusterKind,omitempty"` // kubelite, upstream or external
	Versions      string    `json:"versions,omitempty"`    // of the upstream binaries (CLUSTER=upstream)
	ServerEnd     string    `json:"serverEnd,omitempty"`   // how the cluster ended, when that is news
	RelaxingFlags []string  `json:"relaxingFlags"`
	ExtraFlags    []string  `json:"extraFlags,omitempty"`  // EXTRA_FLAGS
	ServerFlags   []string  `json:"serverFlags,omitempty"` // KUBELITE_FLAGS
	Flags         []string  `json:"flags"`                 // every flag given to each e2e.test (but the focus)
	Procs         int       `json:"procs"`
	TestTimeout   string    `json:"testTimeout"`
	Passed        int       `json:"passed"`
	Failed        int       `json:"failed"`
	Skipped       int       `json:"skipped"`
	Results       []Result  `json:"results"`
}

// count sets the totals from the results.
func (s *Summary) count() {
	s.Passed, s.Failed, s.Skipped = 0, 0, 0
	for _, r := range s.Results {
		switch r.State {
		case Passed:
			s.Passed++
		case Failed:
			s.Failed++
		default:
			s.Skipped++
		}
	}
}

// PassedNames lists the passing tests, sorted.
func (s *Summary) PassedNames() []string {
	var names []string
	for _, r := range s.Results {
		if r.State == Passed {
			names = append(names, r.Name)
		}
	}
	sort.Strings(names)
	return names
}

func (s *Summary) Line() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", s.Passed, s.Failed, s.Skipped)
}

func readSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// RunSpec says what one run executes.
type RunSpec struct {
	Name  string         // results folder
	Tier  string         // "" with a focus alone
	Focus *regexp.Regexp // nil: the whole tier
	Only  []string       // exact names, overriding tier and focus (re-runs)
}

// errHarness marks failures of the harness itself, as opposed to test failures.
var errHarness = errors.New("harness error")

// Run starts a fresh cluster, runs the selected tests against it and writes
// results/<name>/: run.log (this output), kubelite.log (or one log per upstream
// component), tests/NNN/e2e.log,
// junit.xml, summary.json and passed.txt. It ends its output with
// "N passed, N failed, N skipped".
func Run(ctx context.Context, cfg *Config, spec RunSpec) (*Summary, error) {
	dir := cfg.resultsDir(spec.Name)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "tests"), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	out := &lockedWriter{w: io.MultiWriter(os.Stdout, logFile)}
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	sum := &Summary{Name: spec.Name, Tier: spec.Tier, Started: time.Now().UTC(), Commit: gitCommit(cfg.Repo),
		Procs: cfg.Procs, TestTimeout: cfg.TestTimeout.String(), RelaxingFlags: []string{}}
	if spec.Focus != nil {
		sum.Focus = spec.Focus.String()
	}
	fail := func(err error) (*Summary, error) {
		say("error: %v", err)
		return nil, fmt.Errorf("%w: %v", errHarness, err)
	}

	// What to run.
	var sel Selection
	if spec.Only != nil {
		sel.Tests = spec.Only
	} else {
		suite, err := listSuite(ctx, cfg.E2E)
		if err != nil {
			return fail(err)
		}
		var rows []TierTest
		if spec.Tier != "" {
			if rows, err = readTiers(cfg.TiersTSV); err != nil {
				return fail(err)
			}
		}
		if sel, err = selectTests(rows, spec.Tier, spec.Focus, suite); err != nil {
			return fail(err)
		}
	}
	if len(sel.Tests) == 0 {
		return fail(fmt.Errorf("no test selected (tier %q, focus %q)", spec.Tier, sum.Focus))
	}
	missing := map[string]bool{}
	for _, n := range sel.Missing {
		missing[n] = true
		say("warning: not in e2e.test, will count as skipped: %s", n)
	}

	// The cluster.
	srv := &server{cfg: cfg, dir: dir, say: say}
	switch {
	case cfg.External != "":
	case cfg.Cluster == ClusterUpstream:
		say("starting upstream's etcd, kube-apiserver, kube-controller-manager and kube-scheduler (%s)", filepath.Dir(cfg.Upstream.APIServer))
	default:
		say("starting %s", cfg.Kubelite)
	}
	if err := srv.start(ctx); err != nil {
		return fail(err)
	}
	sum.Cluster, sum.ClusterKind, sum.Versions = srv.cur.Describe, cfg.clusterKind(), srv.cur.Versions
	defer srv.stop()
	say("cluster: %s; KUBECONFIG=%s", srv.cur.Describe, srv.cur.Kubeconfig)

	// Start-up checks the framework makes that only a node agent can pass.
	relax, err := relaxingFlags(ctx, cfg, srv.cur.Kubeconfig, say)
	if err != nil {
		return fail(err)
	}
	sum.RelaxingFlags = relax
	sum.ExtraFlags = cfg.ExtraFlags
	if cfg.clusterKind() == ClusterKubelite {
		sum.ServerFlags = cfg.KubeliteArg
	}
	suite := &Suite{E2E: cfg.E2E, Kubectl: cfg.Kubectl,
		Flags: append(append([]string{}, relax...), cfg.ExtraFlags...), TestTimeout: cfg.TestTimeout, Grace: 30 * time.Second}
	sum.Flags = suite.args("", "<test dir>", "<kubeconfig>")[1:]

	// The parallel pass, then the serial one.
	results := make([]Result, len(sel.Tests))
	var parallel, serial []int
	for i, n := range sel.Tests {
		switch {
		case missing[n]:
			results[i] = Result{Name: n, State: Skipped, Failure: "not run: e2e.test has no test of this name"}
		case isSerial(n):
			serial = append(serial, i)
		default:
			parallel = append(parallel, i)
		}
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if cfg.Timeout > 0 {
		var cancelT context.CancelFunc
		runCtx, cancelT = context.WithTimeoutCause(runCtx, cfg.Timeout, fmt.Errorf("the run's TIMEOUT of %s was reached", cfg.Timeout))
		defer cancelT()
	}
	say("running %d tests: %d in parallel (%d at a time), then %d serial; each at most %s",
		len(sel.Tests)-len(missing), len(parallel), cfg.Procs, len(serial), cfg.TestTimeout)
	done := 0
	var doneMu sync.Mutex
	report := func(i int, r Result) {
		doneMu.Lock()
		defer doneMu.Unlock()
		done++
		results[i] = r
		tag := map[string]string{Passed: "PASS", Failed: "FAIL", Skipped: "SKIP"}[r.State]
		say("[%3d/%d] %s %5.0fs  %s", done, len(sel.Tests)-len(missing), tag, r.Seconds, r.Name)
		if r.State != Passed {
			say("              %s", r.FirstLine())
		}
	}
	runPass := func(indexes []int, procs int) {
		work := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < procs; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					testDir := filepath.Join(dir, "tests", fmt.Sprintf("%03d", i+1))
					kubeconfig, err := srv.kubeconfig(runCtx)
					if err != nil {
						report(i, Result{Name: sel.Tests[i], State: Failed, Failure: "not run: " + err.Error()})
						continue
					}
					r := suite.Run(runCtx, sel.Tests[i], testDir, kubeconfig)
					r.Log = filepath.Join("tests", fmt.Sprintf("%03d", i+1), "e2e.log")
					report(i, r)
				}
			}()
		}
		for _, i := range indexes {
			if runCtx.Err() != nil {
				results[i] = Result{Name: sel.Tests[i], State: Skipped, Failure: "not run: " + context.Cause(runCtx).Error()}
				continue
			}
			select {
			case work <- i:
			case <-runCtx.Done():
				results[i] = Result{Name: sel.Tests[i], State: Skipped, Failure: "not run: " + context.Cause(runCtx).Error()}
			}
		}
		close(work)
		wg.Wait()
	}
	start := time.Now()
	runPass(parallel, cfg.Procs)
	runPass(serial, 1)
	sum.Seconds = time.Since(start).Round(time.Second).Seconds()
	srv.stop()
	sum.ServerEnd = strings.Join(srv.notes, "; ")

	sum.Results = results
	sum.count()
	if err := writeResults(dir, sum); err != nil {
		return fail(err)
	}

	// The failures, then the summary line, last.
	if sum.Failed > 0 {
		say("\nFailed tests (first failure line; logs under %s/tests/):", dir)
		for _, r := range sum.Results {
			if r.State == Failed {
				say("  %s\n      %s", r.Name, r.FirstLine())
			}
		}
		say("\nMost common failures:")
		for _, c := range commonFailures(sum.Results, 8) {
			say("  %4d  %s", c.Count, c.Line)
		}
	}
	if sum.ServerEnd != "" {
		say("\nWARNING: %s", sum.ServerEnd)
	}
	if len(sum.RelaxingFlags) > 0 {
		say("\nRelaxing flags used (no Ready node): %s", strings.Join(sum.RelaxingFlags, " "))
	}
	if len(sum.ExtraFlags) > 0 {
		say("EXTRA_FLAGS used: %s", strings.Join(sum.ExtraFlags, " "))
	}
	say("Results: %s (junit.xml, summary.json, run.log, %s, tests/NNN/e2e.log); %s for the tests", dir, srv.logs(), (time.Duration(sum.Seconds) * time.Second).String())
	say("%s", sum.Line())
	return sum, nil
}

// server is the cluster of a run. A kubelite (or upstream control plane) that
// exits during the run is noted and replaced by a fresh one (at most
// maxRestarts times), so that one crash (or a stray signal) fails the tests it
// was serving, not the rest of the tier; the report says so.
type server struct {
	cfg      *Config
	dir      string
	say      func(string, ...any)
	mu       sync.Mutex
	cur      *Cluster
	restarts int
	gone     error // set when the cluster is down for good
	notes    []string
}

const maxRestarts = 3

// kind names the cluster in messages.
func (s *server) kind() string {
	if s.cfg.Cluster == ClusterUpstream {
		return "upstream control plane"
	}
	return "kubelite"
}

// logs names the log file(s) of the current cluster: kubelite.log, or one per
// upstream component; restarted clusters log to kubelite-2.log, etcd-2.log, ...
func (s *server) logSuffix() string {
	if s.restarts > 0 {
		return fmt.Sprintf("-%d", s.restarts+1)
	}
	return ""
}

func (s *server) logs() string {
	if s.cfg.Cluster == ClusterUpstream {
		return fmt.Sprintf("{etcd,kube-apiserver,kube-controller-manager,kube-scheduler}%s.log", s.logSuffix())
	}
	return "kubelite" + s.logSuffix() + ".log"
}

func (s *server) start(ctx context.Context) error {
	if s.cfg.External != "" {
		s.cur = &Cluster{Kind: "existing cluster", Kubeconfig: s.cfg.External,
			Describe: "an existing cluster (CLUSTER_KUBECONFIG=" + s.cfg.External + ")"}
		return nil
	}
	var c *Cluster
	var err error
	if s.cfg.Cluster == ClusterUpstream {
		c, err = startUpstream(ctx, s.cfg.Upstream, s.dir, s.logSuffix(), s.cfg.KeepData, 3*time.Minute)
	} else {
		c, err = startKubelite(ctx, s.cfg.Kubelite, filepath.Join(s.dir, s.logs()), s.cfg.KubeliteArg, s.cfg.KeepData, 2*time.Minute)
	}
	if err != nil {
		return err
	}
	s.cur = c
	return nil
}

// kubeconfig is the running cluster's kubeconfig, after restarting the
// cluster if (any process of) it has exited.
func (s *server) kubeconfig(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != nil {
		return "", s.gone
	}
	exited, werr := s.cur.Exited()
	if !exited && s.cur.started() && !reachable(s.cur.Kubeconfig) {
		// Shutting down, or wedged: give it 30 s to exit or answer again.
		for i := 0; i < 60 && !exited && !reachable(s.cur.Kubeconfig); i++ {
			time.Sleep(500 * time.Millisecond)
			exited, werr = s.cur.Exited()
		}
	}
	if !exited {
		return s.cur.Kubeconfig, nil
	}
	kind := s.kind()
	note := fmt.Sprintf("%s exited during the run (%v; see %s)", kind, exitText(werr), s.logs())
	s.say("WARNING: %s", note)
	s.cur.Stop() // the other processes of an upstream control plane
	if s.restarts >= maxRestarts {
		s.gone = fmt.Errorf("%s exited %d times", kind, s.restarts+1)
		s.notes = append(s.notes, note+"; not restarted again")
		return "", s.gone
	}
	s.restarts++
	if err := s.start(ctx); err != nil {
		s.gone = fmt.Errorf("%s exited and did not restart: %v", kind, err)
		s.notes = append(s.notes, note+"; restart failed")
		return "", s.gone
	}
	s.notes = append(s.notes, note+"; the rest ran on a fresh "+kind)
	s.say("started a fresh %s; KUBECONFIG=%s", kind, s.cur.Kubeconfig)
	return s.cur.Kubeconfig, nil
}

// stop stops the running cluster, noting how it ended if that is news.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || !s.cur.started() || s.cur.stopped {
		return
	}
	if exited, werr := s.cur.Exited(); exited {
		s.notes = append(s.notes, fmt.Sprintf("%s exited during the run (%v)", s.kind(), exitText(werr)))
		s.cur.Stop()
	} else if werr := s.cur.Stop(); werr != nil {
		s.notes = append(s.notes, fmt.Sprintf("%s, stopped with SIGTERM, ended with: %v", s.kind(), werr))
	}
	s.cur.stopped = true
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// relaxingFlags returns the flags that let the framework start with no Ready
// node: while kubelite has no node agent, and only then (RELAX=auto), or
// always (RELAX=yes), or never (RELAX=no).
func relaxingFlags(ctx context.Context, cfg *Config, kubeconfig string, say func(string, ...any)) ([]string, error) {
	flags := []string{"--allowed-not-ready-nodes=-1", "--minStartupPods=-1", "--num-nodes=0"}
	switch cfg.Relax {
	case "yes":
		return flags, nil
	case "no":
		return []string{}, nil
	}
	n, err := readyNodes(ctx, cfg.Kubectl, kubeconfig)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		say("%d Ready node(s): running without relaxing flags", n)
		return []string{}, nil
	}
	say("no Ready node: the framework's node and kube-system checks are relaxed with %s", strings.Join(flags, " "))
	return flags, nil
}

// FailureCount is one group of failures with the same normalised first line.
type FailureCount struct {
	Line  string
	Count int
}

var (
	namespaceName = regexp.MustCompile(`\b[a-z0-9]+(-[a-z0-9]+)*-[0-9]{3,5}\b`)
	address       = regexp.MustCompile(`\b[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(:[0-9]+)?\b`)
	longNumber    = regexp.MustCompile(`\b[0-9]{3,}\b`)
	uidLike       = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
)

// commonFailures groups the failures by their first line with names, uids and
// numbers blanked, most frequent first.
func commonFailures(results []Result, max int) []FailureCount {
	counts := map[string]int{}
	for _, r := range results {
		if r.State != Failed {
			continue
		}
		l := uidLike.ReplaceAllString(r.FirstLine(), "<uid>")
		l = address.ReplaceAllString(l, "<address>")
		l = namespaceName.ReplaceAllString(l, "<name>")
		l = longNumber.ReplaceAllString(l, "<n>")
		counts[l]++
	}
	var out []FailureCount
	for l, n := range counts {
		out = append(out, FailureCount{l, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Line < out[j].Line
	})
	if len(out) > max {
		out = out[:max]
	}
	return out
}

func writeResults(dir string, sum *Summary) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	passed := strings.Join(sum.PassedNames(), "\n")
	if passed != "" {
		passed += "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "passed.txt"), []byte(passed), 0o644); err != nil {
		return err
	}
	return writeJUnit(filepath.Join(dir, "junit.xml"), sum)
}

// gitCommit is the repository's HEAD, with "-dirty" when files outside
// conformance/ differ from it (the server under test is then not HEAD's).
func gitCommit(repo string) string {
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!conformance").Output()
	if err == nil && len(strings.TrimSpace(string(st))) > 0 {
		commit += "-dirty"
	}
	return commit
}

func isSignalExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && !ee.Exited() // ended by SIGTERM, as asked
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
