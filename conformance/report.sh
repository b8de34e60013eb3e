#!/usr/bin/env bash
# report.sh [-no-run] [TIER...]
#
# Runs each tier (default: all seven, each on a fresh kubelite) and rewrites
# conformance/RESULTS.md: the tier x passed/failed/skipped table, dated, with
# the kubelite commit and the relaxing flags used, the most common failures,
# and the names of the passing tests per tier (which check-regressions.sh
# compares with). Tiers not named keep their rows as they were.
# With -no-run, the rows come from the last results (conformance/results/<TIER>/)
# of `run.sh TIER` instead of new runs.
source "$(dirname "${BASH_SOURCE[0]}")/lib-runner.sh"
run_runner report "$@"
