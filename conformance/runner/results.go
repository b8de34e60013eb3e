package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TierRecord is one tier's entry in RESULTS.md.
type TierRecord struct {
	Tier                    string
	Tests                   int
	Run                     bool // false: "not run yet"
	Passed, Failed, Skipped int
	Date                    string // YYYY-MM-DD HH:MM UTC
	Commit                  string
	RunTime                 string // e.g. "62 min"
	Relaxing                string // the relaxing flags and EXTRA_FLAGS, space-separated, or "none"
	Failures                []FailureCount
	Passing                 []string
	Versions                string        // upstream's control plane only: its binaries' versions
	NotPassing              []TestOutcome // upstream's control plane only: the tests it does not pass
}

// TestOutcome is a test that did not pass, with its first failure line.
type TestOutcome struct {
	Name, State, Line string
}

// ResultsDoc is what RESULTS.md holds: kubelite's record per tier (the
// passing lists check-regressions.sh compares with) and, beside them, the
// records of the same tiers run against upstream's control plane.
type ResultsDoc struct {
	Tiers    map[string]TierRecord // kubelite
	Upstream map[string]TierRecord // CLUSTER=upstream; tiers never run are absent
}

const upstreamSection = "Upstream's control plane on this machine"

func recordFromSummary(s *Summary) TierRecord {
	relax := strings.Join(append(append([]string{}, s.RelaxingFlags...), s.ExtraFlags...), " ")
	if relax == "" {
		relax = "none"
	}
	if len(s.ServerFlags) > 0 {
		relax += "; server: " + strings.Join(s.ServerFlags, " ")
	}
	r := TierRecord{
		Tier: s.Tier, Tests: len(s.Results), Run: true,
		Passed: s.Passed, Failed: s.Failed, Skipped: s.Skipped,
		Date: s.Started.Format("2006-01-02 15:04") + " UTC", Commit: s.Commit,
		RunTime: fmt.Sprintf("%.0f min", s.Seconds/60), Relaxing: relax,
	}
	if s.ClusterKind != ClusterUpstream {
		r.Failures, r.Passing = commonFailures(s.Results, 6), s.PassedNames()
		return r
	}
	// Upstream should pass nearly everything: list what it does not pass.
	r.Commit, r.Versions = "", s.Versions
	for _, t := range s.Results {
		if t.State != Passed {
			r.NotPassing = append(r.NotPassing, TestOutcome{Name: t.Name, State: t.State, Line: t.FirstLine()})
		}
	}
	sort.Slice(r.NotPassing, func(i, j int) bool { return r.NotPassing[i].Name < r.NotPassing[j].Name })
	return r
}

const resultsHeader = `# Upstream conformance results

The upstream conformance suite (` + "`e2e.test`" + ` of k8s.io/kubernetes v1.37.2, 462 tests) run
against a freshly started kubelite, tier by tier (tiers from ` + "`../shared/conformance/tiers.tsv`" + `).
Written by ` + "`make conformance-report`" + ` (` + "`conformance/report.sh`" + `); CI runs
` + "`conformance/check-regressions.sh T0a`" + `, which fails when a test listed below as passing
fails. Commit this file whenever the numbers move.
`

const resultsNotes = `- skipped: in the tier but not run (the run's TIMEOUT was reached, or e2e.test has no
  test of that name), or skipped by the test itself.
- relaxing flags (and any EXTRA_FLAGS the run was given; after "server:", the
  KUBELITE_FLAGS kubelite was started with, e.g. --simulated-nodes 2): start-up checks of the framework that only a node agent can pass,
  relaxed while kubelite has no Ready node (the runner adds them only then):
  ` + "`--allowed-not-ready-nodes=-1`" + ` (no wait for Ready nodes, kube-system pods and
  daemonsets), ` + "`--minStartupPods=-1`" + `, ` + "`--num-nodes=0`" + ` (no auto-detection of
  schedulable nodes, which fails with none). Nothing else is relaxed: each test still
  waits for its namespace's ` + "`default`" + ` ServiceAccount and ` + "`kube-root-ca.crt`" + `.
- commit: the kubelite commit tested, ` + "`-dirty`" + ` when files outside ` + "`conformance/`" + ` differed.
`

const upstreamIntro = `The same tiers, run by the same harness on this machine against upstream's own
control plane instead of kubelite (` + "`CLUSTER=upstream conformance/report.sh TIER`" + `): etcd,
kube-apiserver, kube-controller-manager and kube-scheduler built from the conformance
module, on loopback, with no nodes (so the same relaxing flags apply). A test that
upstream passes here and kubelite fails is a gap against upstream on the same machine.
The regression check never reads this section.
`

// writeResultsMD renders RESULTS.md: kubelite's record per tier, in tier
// order, then upstream's records of the tiers run against it, if any.
func writeResultsMD(path string, doc ResultsDoc, now time.Time) error {
	records := doc.Tiers
	var b strings.Builder
	b.WriteString(resultsHeader)
	fmt.Fprintf(&b, "\nUpdated %s.\n\n", now.UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("| tier | tests | passed | failed | skipped | date | kubelite commit | run time | relaxing flags |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |\n")
	for _, t := range Tiers {
		r := records[t]
		if !r.Run {
			fmt.Fprintf(&b, "| %s | %d | | | | not run yet | | | |\n", t, r.Tests)
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %s | %s |\n", t, r.Tests, r.Passed, r.Failed, r.Skipped,
			r.Date, r.Commit, r.RunTime, r.Relaxing)
	}
	b.WriteString("\n" + resultsNotes)
	writeUpstreamSection(&b, doc.Upstream)

	b.WriteString("\n## Most common failures\n\nFirst failure lines, with names and numbers blanked; the full list is in\n`conformance/results/<tier>/run.log` after a run.\n")
	for _, t := range Tiers {
		r := records[t]
		if !r.Run || len(r.Failures) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n| tests | first failure line |\n| ---: | --- |\n", t)
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "| %d | %s |\n", f.Count, escapeCell(f.Line))
		}
	}

	b.WriteString("\n## Passing tests\n\nOne name per line, as ginkgo spells it; `conformance/check-regressions.sh` reads these lists.\n")
	for _, t := range Tiers {
		r := records[t]
		if !r.Run {
			continue
		}
		fmt.Fprintf(&b, "\n### %s (%d)\n\n```text\n", t, len(r.Passing))
		for _, n := range r.Passing {
			b.WriteString(n + "\n")
		}
		b.WriteString("```\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// writeUpstreamSection renders upstream's rows and, per tier, the tests it
// does not pass; nothing when no tier was run against upstream.
func writeUpstreamSection(b *strings.Builder, records map[string]TierRecord) {
	some := false
	for _, t := range Tiers {
		some = some || records[t].Run
	}
	if !some {
		return
	}
	fmt.Fprintf(b, "\n## %s\n\n%s\n", upstreamSection, upstreamIntro)
	b.WriteString("| tier | tests | passed | failed | skipped | date | upstream versions | run time | relaxing flags |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |\n")
	for _, t := range Tiers {
		if r := records[t]; r.Run {
			fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %s | %s | %s | %s |\n", t, r.Tests, r.Passed, r.Failed, r.Skipped,
				r.Date, escapeCell(r.Versions), r.RunTime, r.Relaxing)
		}
	}
	for _, t := range Tiers {
		r := records[t]
		if !r.Run || len(r.NotPassing) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n### %s (%d not passing upstream)\n\n| test | state | first failure line |\n| --- | --- | --- |\n", t, len(r.NotPassing))
		for _, n := range r.NotPassing {
			fmt.Fprintf(b, "| %s | %s | %s |\n", escapeCell(n.Name), n.State, escapeCell(n.Line))
		}
	}
}

func escapeCell(s string) string   { return strings.ReplaceAll(s, "|", `\|`) }
func unescapeCell(s string) string { return strings.ReplaceAll(s, `\|`, "|") }

// parseResultsMD reads the records back from RESULTS.md's text.
func parseResultsMD(text string) (ResultsDoc, error) {
	doc := ResultsDoc{Tiers: map[string]TierRecord{}, Upstream: map[string]TierRecord{}}
	records, upstream := doc.Tiers, doc.Upstream
	section, tier := "", ""
	inBlock := false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if inBlock {
			if line == "```" {
				inBlock = false
				continue
			}
			r := records[tier]
			r.Passing = append(r.Passing, line)
			records[tier] = r
			continue
		}
		switch {
		case strings.HasPrefix(line, "## "):
			section, tier = strings.TrimPrefix(line, "## "), ""
		case strings.HasPrefix(line, "### "):
			tier = strings.Fields(strings.TrimPrefix(line, "### "))[0]
		case strings.HasPrefix(line, "```") && section == "Passing tests" && tier != "":
			inBlock = true
		case section == "" && strings.HasPrefix(line, "| T"):
			cells := splitRow(line)
			if len(cells) != 9 {
				return doc, fmt.Errorf("RESULTS.md: table row with %d cells: %s", len(cells), line)
			}
			r := TierRecord{Tier: cells[0]}
			r.Tests, _ = strconv.Atoi(cells[1])
			if cells[5] != "not run yet" {
				r.Run = true
				r.Passed, _ = strconv.Atoi(cells[2])
				r.Failed, _ = strconv.Atoi(cells[3])
				r.Skipped, _ = strconv.Atoi(cells[4])
				r.Date, r.Commit, r.RunTime, r.Relaxing = cells[5], cells[6], cells[7], cells[8]
			}
			records[r.Tier] = r
		case section == upstreamSection && tier == "" && strings.HasPrefix(line, "| T"):
			cells := splitRow(line)
			if len(cells) != 9 {
				return doc, fmt.Errorf("RESULTS.md: upstream table row with %d cells: %s", len(cells), line)
			}
			r := TierRecord{Tier: cells[0], Run: true}
			r.Tests, _ = strconv.Atoi(cells[1])
			r.Passed, _ = strconv.Atoi(cells[2])
			r.Failed, _ = strconv.Atoi(cells[3])
			r.Skipped, _ = strconv.Atoi(cells[4])
			r.Date, r.Versions, r.RunTime, r.Relaxing = cells[5], unescapeCell(cells[6]), cells[7], cells[8]
			upstream[r.Tier] = r
		case section == upstreamSection && tier != "" && strings.HasPrefix(line, "| "):
			cells := splitRow(line)
			if len(cells) == 3 && (cells[1] == Failed || cells[1] == Skipped) {
				r := upstream[tier]
				r.NotPassing = append(r.NotPassing, TestOutcome{Name: unescapeCell(cells[0]), State: cells[1], Line: unescapeCell(cells[2])})
				upstream[tier] = r
			}
		case section == "Most common failures" && tier != "" && strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| tests"):
			cells := splitRow(line)
			if n, err := strconv.Atoi(cells[0]); err == nil && len(cells) == 2 {
				r := records[tier]
				r.Failures = append(r.Failures, FailureCount{Line: unescapeCell(cells[1]), Count: n})
				records[tier] = r
			}
		}
	}
	return doc, sc.Err()
}

// splitRow splits a Markdown table row into trimmed cells ("\|" stays in a cell).
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' && i+1 < len(line) && line[i+1] == '|' {
			cur.WriteString(`\|`)
			i++
			continue
		}
		if line[i] == '|' {
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(line[i])
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// committedResults is RESULTS.md as committed at HEAD, or the working copy
// when HEAD has none (before the first commit of the file).
func committedResults(repo string) (text, from string, err error) {
	out, gerr := exec.Command("git", "-C", repo, "show", "HEAD:conformance/RESULTS.md").Output()
	if gerr == nil {
		return string(out), "RESULTS.md at HEAD", nil
	}
	path := filepath.Join(repo, "conformance", "RESULTS.md")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	return string(b), path + " (not committed yet)", nil
}

// tierSizes counts the tests of each tier in tiers.tsv.
func tierSizes(path string) (map[string]int, error) {
	rows, err := readTiers(path)
	if err != nil {
		return nil, err
	}
	sizes := map[string]int{}
	for _, r := range rows {
		sizes[r.Tier]++
	}
	return sizes, nil
}

func sortedKeys(m map[string]bool) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
