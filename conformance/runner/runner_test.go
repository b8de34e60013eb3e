package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestExactFocus(t *testing.T) {
	names := []string{
		"[sig-api-machinery] AggregatedDiscovery should support aggregated discovery interface [Conformance]",
		"[sig-api-machinery] AggregatedDiscovery should support aggregated discovery interface for CRDs [Conformance]",
		"[sig-storage] ConfigMap should be immutable if `immutable` field is set [Conformance]",
		"[sig-apps] Daemon set [Serial] should rollback without unnecessary restarts [Conformance]",
		"[sig-node] Pods should support (a+b)? * $1 ^x {2} |y| [Conformance]",
	}
	for _, want := range names {
		re := regexp.MustCompile(exactFocus(want))
		for _, n := range names {
			// ginkgo matches focus against "<suite description> <spec text>"
			got := re.MatchString("Kubernetes e2e suite " + n)
			if got != (n == want) {
				t.Errorf("focus for %q matches %q: %v", want, n, got)
			}
		}
	}
	re := regexp.MustCompile(exactFocus(names[0], names[2]))
	if !re.MatchString("Kubernetes e2e suite "+names[2]) || re.MatchString("Kubernetes e2e suite "+names[1]) {
		t.Errorf("focus of two names: wrong matches")
	}
}

func TestSelectTests(t *testing.T) {
	tsv := "tier\tsig\tfile\ttestname\timages\tnote\tcodename\n" +
		"T0a\tsig-a\tf:1\tA\t\t\t[sig-a] one [Conformance]\n" +
		"T1\tsig-a\tf:2\tB\t\t\t[sig-a] two [Serial] [Conformance]\n" +
		"T0b\tsig-b\tf:3\tC\t\t\t[sig-b] three [Conformance]\n" +
		"T0a\tsig-b\tf:4\tD\t\t\t[sig-b] gone [Conformance]\n"
	path := filepath.Join(t.TempDir(), "tiers.tsv")
	if err := os.WriteFile(path, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := readTiers(path)
	if err != nil || len(rows) != 4 {
		t.Fatalf("readTiers: %v, %d rows", err, len(rows))
	}
	suite := []string{"[sig-a] one [Conformance]", "[sig-a] two [Serial] [Conformance]", "[sig-b] three [Conformance]", "[sig-c] other"}
	sel, err := selectTests(rows, "T0a", nil, suite)
	if err != nil || !reflect.DeepEqual(sel.Tests, []string{"[sig-a] one [Conformance]", "[sig-b] gone [Conformance]"}) ||
		!reflect.DeepEqual(sel.Missing, []string{"[sig-b] gone [Conformance]"}) {
		t.Errorf("T0a: %+v %v", sel, err)
	}
	sel, _ = selectTests(rows, "T0", nil, suite)
	if len(sel.Tests) != 3 {
		t.Errorf("T0: %v", sel.Tests)
	}
	sel, _ = selectTests(rows, "all", regexp.MustCompile(`sig-a`), suite)
	if len(sel.Tests) != 2 || !isSerial(sel.Tests[1]) || isSerial(sel.Tests[0]) {
		t.Errorf("all+focus: %v", sel.Tests)
	}
	sel, _ = selectTests(nil, "", regexp.MustCompile(`other|three`), suite)
	if !reflect.DeepEqual(sel.Tests, []string{"[sig-b] three [Conformance]", "[sig-c] other"}) {
		t.Errorf("focus alone: %v", sel.Tests)
	}
	if _, err := selectTests(rows, "T9", nil, suite); err == nil {
		t.Errorf("T9: no error")
	}
}

func TestFirstLine(t *testing.T) {
	for _, c := range []struct{ msg, want string }{
		{"", "(no failure message)"},
		{"\n  boom  \nmore", "boom"},
		{"Unexpected error:\n    <*fmt.wrapError>:\n    wait for service account \"default\": timed out\n{...}",
			"Unexpected error: <*fmt.wrapError>: wait for service account \"default\": timed out"},
	} {
		if got := (Result{Failure: c.msg}).FirstLine(); got != c.want {
			t.Errorf("FirstLine(%q) = %q, want %q", c.msg, got, c.want)
		}
	}
}

func TestCommonFailures(t *testing.T) {
	rs := []Result{
		{State: Failed, Failure: `namespace "crd-watch-1234" not found`},
		{State: Failed, Failure: `namespace "pods-9876" not found`},
		{State: Failed, Failure: `other | thing`},
		{State: Passed},
	}
	got := commonFailures(rs, 5)
	want := []FailureCount{{`namespace "<name>" not found`, 2}, {"other | thing", 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("commonFailures = %v, want %v", got, want)
	}
}

func TestResultsMDRoundTrip(t *testing.T) {
	records := map[string]TierRecord{}
	for _, tier := range Tiers {
		records[tier] = TierRecord{Tier: tier, Tests: 10}
	}
	records["T0a"] = TierRecord{Tier: "T0a", Tests: 119, Run: true, Passed: 2, Failed: 116, Skipped: 1,
		Date: "2026-11-26 03:00 UTC", Commit: "abc123-dirty", RunTime: "61 min", Relaxing: "--num-nodes=0 --minStartupPods=-1",
		Failures: []FailureCount{{"a | b: timed out", 100}, {"c", 16}},
		Passing:  []string{"[sig-a] x `immutable` [Conformance]", "[sig-b] y *z* [Conformance]"}}
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	now := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	if err := writeResultsMD(path, ResultsDoc{Tiers: records}, now); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got, err := parseResultsMD(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tiers, records) || len(got.Upstream) != 0 {
		t.Errorf("round trip:\n got %+v\nwant %+v\n%s", got, records, b)
	}
	if strings.Contains(string(b), upstreamSection) {
		t.Errorf("an upstream section with no upstream run:\n%s", b)
	}
	kubeliteOnly := string(b)

	// Upstream's rows beside kubelite's: kubelite's records, and so its
	// passing lists, read back unchanged.
	upstream := map[string]TierRecord{
		"T0a": {Tier: "T0a", Tests: 119, Run: true, Passed: 117, Failed: 1, Skipped: 1,
			Date: "2026-11-26 05:00 UTC", RunTime: "40 min", Relaxing: "--allowed-not-ready-nodes=-1 --num-nodes=0",
			Versions: "v1.37.2 (kube-apiserver, kube-controller-manager, kube-scheduler), etcd 3.7.0",
			NotPassing: []TestOutcome{
				{"[sig-network] API Server should have Endpoints | x [Conformance]", Failed, "Expected at least 1 subset | none"},
				{"[sig-z] not run [Conformance]", Skipped, "not run: the run's TIMEOUT of 4h was reached"}}},
		"T0b": {Tier: "T0b", Tests: 34, Run: true, Passed: 34, Date: "2026-11-26 06:00 UTC", RunTime: "12 min", Relaxing: "none",
			Versions: "v1.37.2 (kube-apiserver), v1.37.1 (kube-controller-manager, kube-scheduler), etcd 3.7.0"},
	}
	doc := ResultsDoc{Tiers: records, Upstream: upstream}
	if err := writeResultsMD(path, doc, now); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	got, err = parseResultsMD(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, doc) {
		t.Errorf("round trip with upstream:\n got %+v\nwant %+v\n%s", got, doc, b)
	}
	// The upstream section is added after kubelite's notes; everything of
	// kubelite's stays as it was.
	i := strings.Index(string(b), "\n## "+upstreamSection)
	j := strings.Index(string(b), "\n## Most common failures")
	if i < 0 || j < i || string(b[:i])+string(b[j:]) != kubeliteOnly {
		t.Errorf("upstream section misplaced or kubelite's text changed:\n%s", b)
	}
}

func TestRecordFromSummary(t *testing.T) {
	sum := &Summary{Tier: "T0a", Started: time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC), Seconds: 2400, Commit: "abc",
		ClusterKind: ClusterUpstream, Versions: "v1.37.2 (kube-apiserver), etcd 3.7.0", RelaxingFlags: []string{"--num-nodes=0"},
		Results: []Result{
			{Name: "b", State: Passed},
			{Name: "c", State: Failed, Failure: "boom\nmore"},
			{Name: "a", State: Skipped, Failure: "not run"},
		}}
	sum.count()
	r := recordFromSummary(sum)
	want := TierRecord{Tier: "T0a", Tests: 3, Run: true, Passed: 1, Failed: 1, Skipped: 1, Date: "2026-11-26 05:00 UTC",
		RunTime: "40 min", Relaxing: "--num-nodes=0", Versions: "v1.37.2 (kube-apiserver), etcd 3.7.0",
		NotPassing: []TestOutcome{{"a", Skipped, "not run"}, {"c", Failed, "boom"}}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("upstream record:\n got %+v\nwant %+v", r, want)
	}
	sum.ClusterKind = ClusterKubelite
	if r := recordFromSummary(sum); r.Commit != "abc" || !reflect.DeepEqual(r.Passing, []string{"b"}) || r.NotPassing != nil {
		t.Errorf("kubelite record: %+v", r)
	}
}

// A stand-in for kubelite: prints the ready line, then waits for SIGTERM.
func TestStartKubeliteFake(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kubelite")
	script := "#!/bin/sh\ntrap 'echo bye; exit 0' TERM\necho starting\n" +
		"echo \"kubelite is ready; use it with: export KUBECONFIG=" + dir + "/kc\"\nwhile :; do sleep 0.1; done\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "kubelite.log")
	c, err := startKubelite(context.Background(), bin, log, nil, false, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubeconfig != dir+"/kc" || !c.started() || c.Kind != "kubelite" {
		t.Errorf("cluster: %+v", c)
	}
	if exited, _ := c.Exited(); exited {
		t.Errorf("exited already")
	}
	if err := c.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if exited, _ := c.Exited(); !exited {
		t.Errorf("not exited after Stop")
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "starting\n") || !strings.Contains(string(b), "bye\n") {
		t.Errorf("log: %q", b)
	}
	if _, err := os.Stat(c.dataDir); !os.IsNotExist(err) {
		t.Errorf("data dir left: %v", err)
	}

	// A server that exits before it is ready.
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho oops\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := startKubelite(context.Background(), bin, log, nil, false, 20*time.Second); err == nil ||
		!strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "oops") {
		t.Errorf("early exit: %v", err)
	}
}

// Stopping several processes: a non-zero exit after SIGTERM is news for
// kubelite, not for upstream's components (anyExit).
func TestClusterStopAnyExit(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntrap 'exit 1' TERM\nwhile :; do sleep 0.1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, anyExit := range []bool{false, true} {
		c := &Cluster{anyExit: anyExit}
		for _, name := range []string{"a", "b"} {
			p, _, err := startProc(name, bin, nil, filepath.Join(dir, name+".log"), nil)
			if err != nil {
				t.Fatal(err)
			}
			c.procs = append(c.procs, p)
		}
		time.Sleep(300 * time.Millisecond) // the traps are set
		err := c.Stop()
		if anyExit && err != nil {
			t.Errorf("anyExit: %v", err)
		}
		if !anyExit && (err == nil || !strings.Contains(err.Error(), "a: exit status 1") || !strings.Contains(err.Error(), "b: exit status 1")) {
			t.Errorf("Stop: %v", err)
		}
		if exited, err := c.Exited(); !exited || !strings.Contains(err.Error(), "a: exit status 1") {
			t.Errorf("Exited: %v %v", exited, err)
		}
	}
}
