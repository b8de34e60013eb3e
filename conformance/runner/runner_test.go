package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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
	if err := writeResultsMD(path, records, time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got, err := parseResultsMD(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, records) {
		t.Errorf("round trip:\n got %+v\nwant %+v\n%s", got, records, b)
	}
}
