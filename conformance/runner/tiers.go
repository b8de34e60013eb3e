package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Tiers are the groups of tiers.tsv, in the order reports list them.
var Tiers = []string{"T0a", "T0b", "T1", "T2", "T3", "T4", "T5"}

// TierTest is one row of tiers.tsv.
type TierTest struct {
	Tier string
	Name string // the full ginkgo name ("codename" column)
}

// readTiers parses tiers.tsv: a header line, then tab-separated rows whose first
// column is the tier and whose last column is the test's full name.
func readTiers(path string) ([]TierTest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var tests []TierTest
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	header := true
	for line := 1; sc.Scan(); line++ {
		if header {
			header = false
			continue
		}
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 {
			return nil, fmt.Errorf("%s:%d: want tab-separated columns, got %q", path, line, sc.Text())
		}
		tests = append(tests, TierTest{Tier: cols[0], Name: strings.TrimSpace(cols[len(cols)-1])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(tests) == 0 {
		return nil, fmt.Errorf("%s: no tests", path)
	}
	return tests, nil
}

// tierSet expands a tier argument: one tier, "T0" (T0a and T0b) or "all".
func tierSet(arg string) (map[string]bool, error) {
	set := map[string]bool{}
	switch arg {
	case "all":
		for _, t := range Tiers {
			set[t] = true
		}
	case "T0":
		set["T0a"], set["T0b"] = true, true
	default:
		for _, t := range Tiers {
			if t == arg {
				set[t] = true
			}
		}
		if len(set) == 0 {
			return nil, fmt.Errorf("unknown tier %q (want one of %s, T0 or all)", arg, strings.Join(Tiers, ", "))
		}
	}
	return set, nil
}

// Selection is what one run executes: the tests wanted, in order, and which of
// them the suite does not contain.
type Selection struct {
	Tests   []string // names, in tiers.tsv order (or sorted, for FOCUS alone)
	Missing []string // wanted names that e2e.test does not list
}

// selectTests picks the tests of a run. With a tier, the tier's rows of
// tiers.tsv (narrowed by focus when focus is set); with only a focus, every spec
// of the suite whose name matches it, as --ginkgo.focus would select them.
func selectTests(rows []TierTest, tier string, focus *regexp.Regexp, suite []string) (Selection, error) {
	inSuite := map[string]bool{}
	for _, n := range suite {
		inSuite[n] = true
	}
	var sel Selection
	if tier == "" {
		for _, n := range suite {
			if focus.MatchString(n) {
				sel.Tests = append(sel.Tests, n)
			}
		}
		sort.Strings(sel.Tests)
		return sel, nil
	}
	tiers, err := tierSet(tier)
	if err != nil {
		return sel, err
	}
	for _, r := range rows {
		if !tiers[r.Tier] || (focus != nil && !focus.MatchString(r.Name)) {
			continue
		}
		sel.Tests = append(sel.Tests, r.Name)
		if suite != nil && !inSuite[r.Name] {
			sel.Missing = append(sel.Missing, r.Name)
		}
	}
	return sel, nil
}

// isSerial: tests the suite marks as not safe to run beside others.
func isSerial(name string) bool {
	return strings.Contains(name, "[Serial]") || strings.Contains(name, "[Disruptive]")
}

// exactFocus is a --ginkgo.focus regular expression that matches the named
// spec and no other. Ginkgo matches focus against "<suite description> <spec
// text>", so the name is anchored at its end and preceded by the space (or the
// start) before it; every metacharacter of the name is escaped.
func exactFocus(names ...string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return `(^| )(` + strings.Join(quoted, "|") + `)$`
}
