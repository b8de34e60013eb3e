#!/usr/bin/env bash
# check-regressions.sh [-no-run] TIER
#
# Runs TIER (or, with -no-run, takes the last results of `run.sh TIER`) and
# compares its passing tests with the committed conformance/RESULTS.md. Exits 1
# listing every test that passed there and does not pass now; a test that fails
# is run once more on a fresh kubelite first (RETRY=0: no second chance), so a
# single flake does not count. Exits 0 when nothing regressed, even if other
# tests fail; 2 when the harness itself failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib-runner.sh"
run_runner check "$@"
