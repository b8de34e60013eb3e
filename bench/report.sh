#!/usr/bin/env bash
# bench/report.sh [FILE...]
#
# Writes bench/RESULTS.md: kubelite beside upstream v1.37.2, every figure in
# both columns with the ratio, from `go test -bench` output.
#
# Without FILE it first runs the side-by-side benchmarks (under nice, as the
# machine is shared), each into bench/out/<name>.txt with the load average
# before and after in bench/out/<name>.load, and the date, commit and machine
# in bench/out/meta. bin/kubelite and the upstream binaries in .cache/bin
# must be built (`make bench-report` does both). With FILEs it only tabulates
# them (e.g. bench/out/*.txt again, after editing this script).
#
# Environment:
#   KUBELITE_BENCH_ONLY   the benchmarks to run, of: startup controlplane api
#                         apiservers deployment scheduler scheduler-5k
#                         podstartup podstartup-slow (default: all; api
#                         compares the control planes, apiservers the API
#                         servers alone; scheduler-5k plain pods on 5,000
#                         nodes; podstartup the node agent and the kubelet
#                         at 10 pods/s, podstartup-slow at 1 pod/s)
#   KUBELITE_DEPLOY_REPLICAS, KUBELITE_DEPLOY_NODES
#                         BenchmarkDeploymentReady's size (here 1000 and 50)
#   KUBELITE_SCHED_NODES, KUBELITE_SCHED_PODS
#                         BenchmarkScheduler's size (here 500 and 2000; its
#                         5,000-node default takes hours on 2 cores)
#   and each benchmark's own settings (see its doc comment).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
outdir=$repo/bench/out
results=$repo/bench/RESULTS.md

# run NAME [VAR=VALUE...] -- GO-TEST-ARGS...: one benchmark into $outdir/NAME.txt.
run() {
	local name=$1 envs=()
	shift
	while [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	shift
	echo "report.sh: running $name ($*)" >&2
	echo "$(cd "$repo" && git rev-parse --short HEAD)" >"$outdir/$name.commit"
	stamp >"$outdir/$name.load"
	(cd "$repo" && env ${envs[@]+"${envs[@]}"} nice go test -run '^$' -benchtime 1x "$@" 2>&1) |
		tee "$outdir/$name.txt" >&2 || true
	stamp >>"$outdir/$name.load"
}

# stamp: the time and the load average (1, 5, 15 minutes).
stamp() { echo "$(date -u +'%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"; }

wanted() { [ -z "${KUBELITE_BENCH_ONLY:-}" ] || [[ " $KUBELITE_BENCH_ONLY " == *" $1 "* ]]; }

if [ $# -eq 0 ]; then
	mkdir -p "$outdir"
	{
		echo "date: $(date -u +'%Y-%m-%d %H:%M UTC') (each benchmark's own time is beside it)"
		echo "commit: $(cd "$repo" && git rev-parse --short HEAD)$(cd "$repo" && git diff --quiet HEAD -- . ':!bench' || echo ' (with uncommitted changes)')"
		echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, Linux $(uname -r), $(go version | cut -d' ' -f3)"
	} >"$outdir/meta"
	wanted startup && run startup -- -bench '^BenchmarkStartup$' -benchtime 3x -timeout 60m ./cmd/kubelite/
	wanted controlplane && run controlplane -- -bench '^BenchmarkControlPlane$' -timeout 60m ./cmd/kubelite/
	wanted api && run api -- -bench '^BenchmarkAPILatency$' -timeout 60m ./cmd/kubelite/
	wanted apiservers && run apiservers KUBELITE_API_SERVER_ONLY=1 -- -bench '^BenchmarkAPILatency$' -timeout 60m ./cmd/kubelite/
	wanted deployment && run deployment KUBELITE_DEPLOY_REPLICAS="${KUBELITE_DEPLOY_REPLICAS:-1000}" \
		KUBELITE_DEPLOY_NODES="${KUBELITE_DEPLOY_NODES:-50}" -- -bench '^BenchmarkDeploymentReady$' -timeout 60m ./cmd/kubelite/
	wanted scheduler && run scheduler KUBELITE_SCHED_NODES="${KUBELITE_SCHED_NODES:-500}" \
		KUBELITE_SCHED_PODS="${KUBELITE_SCHED_PODS:-2000}" -- -bench '^BenchmarkScheduler$' -timeout 180m ./cmd/kubelite/
	wanted scheduler-5k && run scheduler-5k KUBELITE_SCHED_NODES=5000 KUBELITE_SCHED_PODS=5000 \
		KUBELITE_SCHED_WORKLOADS=plain -- -bench '^BenchmarkScheduler$' -timeout 180m ./cmd/kubelite/
	wanted podstartup && run podstartup -- -bench '^BenchmarkPodStartupLatency$' -timeout 30m ./nodeagent/runtime/containerd/
	wanted podstartup-slow && run podstartup-slow KUBELITE_STARTUP_PODS=30 KUBELITE_STARTUP_INTERVAL_MS=1000 -- \
		-bench '^BenchmarkPodStartupLatency$' -timeout 30m ./nodeagent/runtime/containerd/
	set -- "$outdir"/*.txt
fi

{
	echo "# kubelite beside upstream: benchmark results"
	echo
	echo "Written by \`bench/report.sh\` (\`make bench-report\`) from the \`go test -bench\` output below; do not"
	echo "edit by hand. Each benchmark runs kubelite and upstream v1.37.2 (built from Go modules by"
	echo "\`conformance/tools/build.sh\`) in the same run on the same machine. The ratio is kubelite ÷"
	echo "upstream: below 1 is better for times, latencies and memory, above 1 for rates (…/s)."
	echo "The machine is shared with other work, so figures are noisy: the load average is beside each."
	echo
	if [ -f "$outdir/meta" ]; then sed 's/^/- /' "$outdir/meta"; fi
	echo
	echo "## Headlines"
	echo
	cat "$@" | awk -f "$repo/bench/parse.awk" -f "$repo/bench/headlines.awk"
	for f in "$@"; do
		name=$(basename "$f" .txt)
		echo
		echo "## $name"
		echo
		if [ -f "${f%.txt}.load" ]; then
			echo "Run from $(sed -n 1p "${f%.txt}.load") to $(sed -n 2p "${f%.txt}.load" | sed 's/^[0-9-]* //')$([ -f "${f%.txt}.commit" ] && echo ", at commit $(cat "${f%.txt}.commit")")."
			echo
		fi
		awk -f "$repo/bench/parse.awk" -f "$repo/bench/table.awk" "$f"
	done
	echo
	echo "## Raw output"
	echo
	echo '```'
	grep -h -E '^(Benchmark|goos|goarch|cpu|ok|FAIL|---)' "$@" || true
	echo '```'
} >"$results"
echo "report.sh: wrote $results" >&2
