// Command runner runs upstream's conformance suite (e2e.test) against a freshly
// started kubelite, tier by tier, and keeps conformance/RESULTS.md. It is driven
// by conformance/run.sh, report.sh and check-regressions.sh, which build
// e2e.test first and pass its path:
//
//	runner -repo DIR -e2e E2E run [TIER]              (FOCUS=regex narrows or replaces TIER)
//	runner -repo DIR -e2e E2E report [-no-run] [TIER...]
//	runner -repo DIR -e2e E2E check [-no-run] TIER
//
// Each test runs in its own e2e.test process (--ginkgo.focus matching its
// full name exactly, --ginkgo.timeout=TEST_TIMEOUT): a hung test costs at most
// its own timeout, and one test's crash cannot take others with it. Tests
// without [Serial] or [Disruptive] run PROCS at a time, then the others one by
// one. See conformance/README.md for the environment variables.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: runner -repo DIR -e2e E2E_TEST COMMAND
  run [TIER]                  run a tier (T0a T0b T1 T2 T3 T4 T5, T0 or all) or FOCUS=regex
  report [-no-run] [TIER...]  run tiers (default: all) and rewrite conformance/RESULTS.md;
                              -no-run: from the last results of those tiers instead
  check [-no-run] TIER        run TIER; exit 1 listing tests that RESULTS.md says pass but fail now
`)
}

func run() int {
	repo := flag.String("repo", "", "the kubelite repository")
	e2e := flag.String("e2e", "", "the e2e.test binary")
	flag.Usage = usage
	flag.Parse()
	if *repo == "" || flag.NArg() == 0 {
		usage()
		return 2
	}
	cfg, err := configFromEnv(*repo, *e2e)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nreceived %v: stopping the tests and kubelite (again to quit at once)\n", s)
		cancel(fmt.Errorf("received %v", s))
		<-sigs
		os.Exit(130)
	}()

	args := flag.Args()
	switch args[0] {
	case "run":
		return cmdRun(ctx, cfg, args[1:])
	case "report":
		return cmdReport(ctx, cfg, args[1:])
	case "check":
		return cmdCheck(ctx, cfg, args[1:])
	}
	usage()
	return 2
}

func configFromEnv(repo, e2e string) (*Config, error) {
	repo, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	cfg := &Config{
		Repo:        repo,
		E2E:         e2e,
		TiersTSV:    env("TIERS_TSV", filepath.Join(filepath.Dir(repo), "shared", "conformance", "tiers.tsv")),
		Kubelite:    env("KUBELITE_BIN", filepath.Join(repo, "bin", "kubelite")),
		KubeliteArg: strings.Fields(os.Getenv("KUBELITE_FLAGS")),
		External:    os.Getenv("CLUSTER_KUBECONFIG"),
		Cluster:     env("CLUSTER", ClusterKubelite),
		Upstream:    upstreamBinsFromEnv(filepath.Dir(e2e)),
		Kubectl:     env("KUBECTL", "/usr/bin/kubectl"),
		Relax:       env("RELAX", "auto"),
		ExtraFlags:  strings.Fields(os.Getenv("EXTRA_FLAGS")),
		KeepData:    os.Getenv("KEEP_DATA") != "",
	}
	if !filepath.IsAbs(cfg.Kubelite) {
		cfg.Kubelite = filepath.Join(repo, cfg.Kubelite) // relative to the repository, as make passes it
	}
	if cfg.Procs, err = strconv.Atoi(env("PROCS", "2")); err != nil || cfg.Procs < 1 {
		return nil, fmt.Errorf("PROCS=%q: want a positive number", os.Getenv("PROCS"))
	}
	if cfg.TestTimeout, err = time.ParseDuration(env("TEST_TIMEOUT", "10m")); err != nil {
		return nil, fmt.Errorf("TEST_TIMEOUT: %w", err)
	}
	if cfg.Timeout, err = time.ParseDuration(env("TIMEOUT", "4h")); err != nil {
		return nil, fmt.Errorf("TIMEOUT: %w", err)
	}
	switch cfg.Cluster {
	case ClusterKubelite:
	case ClusterUpstream:
		if cfg.External != "" {
			return nil, fmt.Errorf("CLUSTER=upstream starts its own cluster; it cannot go with CLUSTER_KUBECONFIG")
		}
	default:
		return nil, fmt.Errorf("CLUSTER=%q: want kubelite or upstream", cfg.Cluster)
	}
	switch cfg.Relax {
	case "auto", "yes", "no":
	default:
		return nil, fmt.Errorf("RELAX=%q: want auto, yes or no", cfg.Relax)
	}
	return cfg, nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// exitCode: 0 all passed, 1 some failed or were not run, 2 the harness failed.
func exitCode(sum *Summary, err error) int {
	switch {
	case errors.Is(err, errHarness) || err != nil:
		return 2
	case sum.Failed > 0 || sum.Skipped > 0:
		return 1
	}
	return 0
}

func cmdRun(ctx context.Context, cfg *Config, args []string) int {
	if cfg.E2E == "" || len(args) > 1 {
		usage()
		return 2
	}
	spec := RunSpec{}
	if len(args) == 1 && args[0] != "" {
		spec.Tier, spec.Name = args[0], args[0]
		if _, err := tierSet(spec.Tier); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 2
		}
	}
	if f := os.Getenv("FOCUS"); f != "" {
		re, err := regexp.Compile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error: FOCUS:", err)
			return 2
		}
		spec.Focus = re
		if spec.Name == "" {
			spec.Name = "focus"
		} else {
			spec.Name += "-focus"
		}
	}
	if n := os.Getenv("RESULTS_NAME"); n != "" && spec.Name != "" {
		if strings.ContainsAny(n, "/.") {
			fmt.Fprintln(os.Stderr, "error: RESULTS_NAME: want a plain folder name")
			return 2
		}
		spec.Name = n
	}
	if spec.Name == "" {
		fmt.Fprintln(os.Stderr, "error: give a tier (T0a T0b T1 T2 T3 T4 T5, T0 or all) or FOCUS=<regex>")
		return 2
	}
	sum, err := Run(ctx, cfg, spec)
	return exitCode(sum, err)
}

func cmdReport(ctx context.Context, cfg *Config, args []string) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	noRun := fs.Bool("no-run", false, "use the last results instead of running")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tiers := fs.Args()
	if len(tiers) == 0 {
		tiers = Tiers
	}
	for _, t := range tiers {
		if s, err := tierSet(t); err != nil || len(s) != 1 {
			fmt.Fprintf(os.Stderr, "error: report takes single tiers (%s), not %q\n", strings.Join(Tiers, " "), t)
			return 2
		}
	}
	sizes, err := tierSizes(cfg.TiersTSV)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	path := filepath.Join(cfg.Repo, "conformance", "RESULTS.md")
	doc := ResultsDoc{Tiers: map[string]TierRecord{}, Upstream: map[string]TierRecord{}}
	if b, err := os.ReadFile(path); err == nil {
		if doc, err = parseResultsMD(string(b)); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 2
		}
	}
	// Kubelite's rows, or with CLUSTER=upstream upstream's, which sit beside
	// them and leave them (and the passing lists) as they are.
	records, who := doc.Tiers, "kubelite"
	if cfg.Cluster == ClusterUpstream {
		records, who = doc.Upstream, "upstream"
	}
	code := 0
	for _, t := range tiers {
		var sum *Summary
		if *noRun {
			dir := cfg.resultsDir(t)
			sum, err = readSummary(filepath.Join(dir, "summary.json"))
			switch {
			case err != nil:
			case sum.Tier != t || sum.Focus != "":
				err = fmt.Errorf("%s is not a whole run of %s", dir, t)
			case (sum.ClusterKind == ClusterUpstream) != (cfg.Cluster == ClusterUpstream):
				err = fmt.Errorf("%s is a run against %q, not for %s's rows", dir, sum.ClusterKind, who)
			}
		} else {
			if ctx.Err() != nil {
				break
			}
			fmt.Printf("\n=== %s\n", t)
			sum, err = Run(ctx, cfg, RunSpec{Name: t, Tier: t})
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v; its row in RESULTS.md is left as it was\n", t, err)
			code = 2
			continue
		}
		records[t] = recordFromSummary(sum)
	}
	for _, t := range Tiers {
		r := doc.Tiers[t] // kubelite's table lists every tier, run or not
		r.Tier, r.Tests = t, sizes[t]
		doc.Tiers[t] = r
		if r := doc.Upstream[t]; r.Run { // upstream's only the tiers run against it
			r.Tier, r.Tests = t, sizes[t]
			doc.Upstream[t] = r
		}
	}
	if err := writeResultsMD(path, doc, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	fmt.Printf("\nwrote %s (%s):\n", path, who)
	for _, t := range Tiers {
		if r := records[t]; r.Run {
			what := r.Commit
			if cfg.Cluster == ClusterUpstream {
				what = r.Versions
			}
			fmt.Printf("  %-4s %d passed, %d failed, %d skipped (%s, %s)\n", t, r.Passed, r.Failed, r.Skipped, r.Date, what)
		} else {
			fmt.Printf("  %-4s not run yet\n", t)
		}
	}
	return code
}

func cmdCheck(ctx context.Context, cfg *Config, args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	noRun := fs.Bool("no-run", false, "compare the last results of TIER instead of running it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		usage()
		return 2
	}
	if cfg.Cluster == ClusterUpstream {
		fmt.Fprintln(os.Stderr, "error: check compares kubelite with its passing lists in RESULTS.md; it does not take CLUSTER=upstream")
		return 2
	}
	tier := fs.Arg(0)
	tiers, err := tierSet(tier)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	text, from, err := committedResults(cfg.Repo)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: no RESULTS.md to compare with: %v\n", err)
		return 2
	}
	doc, err := parseResultsMD(text)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	records := doc.Tiers // kubelite's lists only, never upstream's
	var baseline []string
	for _, t := range sortedKeys(tiers) {
		if r := records[t]; r.Run {
			baseline = append(baseline, r.Passing...)
		}
	}

	var sum *Summary
	if *noRun {
		sum, err = readSummary(filepath.Join(cfg.resultsDir(tier), "summary.json"))
		if err == nil && (sum.Tier != tier || sum.Focus != "") {
			err = fmt.Errorf("results/%s is not a whole run of %s", tier, tier)
		}
	} else {
		sum, err = Run(ctx, cfg, RunSpec{Name: tier, Tier: tier})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	now := map[string]Result{}
	for _, r := range sum.Results {
		now[r.Name] = r
	}
	var regressed []string
	for _, n := range baseline {
		if now[n].State != Passed {
			regressed = append(regressed, n)
		}
	}
	var gained int
	was := map[string]bool{}
	for _, n := range baseline {
		was[n] = true
	}
	for _, n := range sum.PassedNames() {
		if !was[n] {
			gained++
		}
	}

	// A regression must fail twice: re-run the regressed tests once, on a
	// fresh cluster, so that one flake does not fail CI.
	if len(regressed) > 0 && env("RETRY", "1") != "0" && ctx.Err() == nil {
		fmt.Printf("\n%d test(s) passing in %s did not pass; running them once more on a fresh cluster\n", len(regressed), from)
		again, err := Run(ctx, cfg, RunSpec{Name: tier + "-retry", Only: regressed})
		if err == nil {
			var still []string
			for _, r := range again.Results {
				if r.State == Passed {
					fmt.Printf("flaky (failed, then passed): %s\n", r.Name)
				} else {
					still = append(still, r.Name)
				}
			}
			regressed = still
		}
	}

	fmt.Printf("\nregression check of %s against %s: %d passed before, %d pass now (%d newly)\n",
		tier, from, len(baseline), sum.Passed, gained)
	if gained > 0 {
		fmt.Println("tests pass that RESULTS.md does not list: run `make conformance-report` (or conformance/report.sh -no-run " + tier + ") and commit RESULTS.md")
	}
	if len(regressed) == 0 {
		fmt.Println("no regression")
		return 0
	}
	fmt.Printf("REGRESSION: %d test(s) passed before and fail now:\n", len(regressed))
	for _, n := range regressed {
		if r, ok := now[n]; ok {
			fmt.Printf("  %s\n      %s: %s\n", n, r.State, r.FirstLine())
		} else {
			fmt.Printf("  %s\n      not in this run (no longer in the tier's rows of tiers.tsv?)\n", n)
		}
	}
	return 1
}
