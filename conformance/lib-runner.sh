# Sourced by run.sh, report.sh and check-regressions.sh: builds (or finds in the
# cache) e2e.test and ginkgo (and with CLUSTER=upstream etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler), builds the runner, and runs it
# with the arguments.
set -euo pipefail

conformance=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$conformance")
cache=${KUBELITE_CACHE:-$repo/.cache/bin}

# run_runner COMMAND ARGS...
run_runner() {
	local e2e
	e2e=$("$conformance/tools/build.sh" e2e.test) || { echo "error: cannot build e2e.test" >&2; exit 2; }
	# The ginkgo CLI is built beside it for running e2e.test by hand
	# (ginkgo -p --procs=N e2e.test -- ...); the runner starts e2e.test itself.
	"$conformance/tools/build.sh" ginkgo >/dev/null || { echo "error: cannot build ginkgo" >&2; exit 2; }
	if [ "${CLUSTER:-}" = upstream ]; then
		# Upstream's control plane, which the runner starts instead of kubelite;
		# it finds them beside e2e.test (or ETCD_BIN, KUBE_APISERVER_BIN, ...).
		local t
		for t in etcd kube-apiserver kube-controller-manager kube-scheduler; do
			"$conformance/tools/build.sh" "$t" >/dev/null || { echo "error: cannot build $t" >&2; exit 2; }
		done
	fi
	mkdir -p "$cache"
	# Built beside and renamed into place, so that a run in progress keeps its binary.
	local tmp="$cache/.conformance-runner.$$"
	(cd "$conformance" && go build -o "$tmp" ./runner) || { rm -f "$tmp"; echo "error: cannot build conformance/runner" >&2; exit 2; }
	mv -f "$tmp" "$cache/conformance-runner"
	exec "$cache/conformance-runner" -repo "$repo" -e2e "$e2e" "$@"
}
