#!/usr/bin/env bash
# run.sh TIER | FOCUS=<regex> run.sh [TIER]
#
# Runs upstream's conformance tests of one tier (T0a T0b T1 T2 T3 T4 T5, T0 or
# all, from ../shared/conformance/tiers.tsv) against a freshly started kubelite,
# or, with FOCUS, the tests whose full name matches the regular expression
# (within TIER if given, else within the whole e2e.test suite).
#
# Results go to conformance/results/<TIER>/ (or results/focus/): run.log,
# junit.xml, summary.json, passed.txt, kubelite.log and one e2e.log per test.
# The output lists each failing test with its first failure line and ends with
# "N passed, N failed, N skipped". Exit status: 0 all passed, 1 some failed or
# were not run, 2 the harness itself failed.
#
# Environment (see conformance/README.md): KUBELITE_BIN (default bin/kubelite),
# KUBELITE_FLAGS, CLUSTER_KUBECONFIG, PROCS (2), TEST_TIMEOUT (10m), TIMEOUT (4h),
# RELAX (auto|yes|no), EXTRA_FLAGS, KEEP_DATA, KEEP_REPORTS, KUBECTL.
source "$(dirname "${BASH_SOURCE[0]}")/lib-runner.sh"

if [ $# -gt 1 ] || { [ $# -eq 0 ] && [ -z "${FOCUS:-}" ]; }; then
	echo "usage: $0 TIER   (T0a T0b T1 T2 T3 T4 T5, T0 or all), or FOCUS=<regex> $0 [TIER]" >&2
	exit 2
fi
run_runner run "$@"
