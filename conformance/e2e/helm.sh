#!/usr/bin/env bash
# End-to-end scenario: real Helm charts installed, upgraded, rolled back and
# uninstalled on the built kubelite binary with unmodified Helm 3 and Helm 4.
#
# Usage: helm.sh path/to/kubelite [helm ...]
#
# Without helm binaries, Helm 3 and Helm 4 are built from Go modules by
# conformance/tools/build.sh (targets helm3, helm4). The charts are those of
# INDEX.md in $HELM_E2E_CHARTS_DIR, by default ../shared/charts beside the
# repository; each chart runs with its default values and with each `--set`
# variant its INDEX.md row names. $HELM_E2E_CHARTS (folder names, space separated)
# limits the run to some charts.
#
# For each chart × variant × helm, in a fresh namespace:
#   helm install --no-hooks   then every object of `helm get manifest` exists
#                             (Helm 4: and was server-side applied)
#   helm upgrade              with a changed value; every field the change touches
#                             holds the new value in the live object
#   helm rollback to 1        revision 3 is revision 1 again, the same fields hold
#                             the old values
#   helm uninstall            none of the release's objects is left but those
#                             annotated helm.sh/resource-policy: keep
#   helm template | kubectl apply --server-side -f -, then kubectl delete -f -
# Hooks need running pods (Jobs): --no-hooks everywhere a release is changed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 path/to/kubelite [helm ...]"; exit 2; }
bin=$(realpath "$1"); shift
helms=("$@")
repo=$(cd "$here/../.." && pwd)
charts=${HELM_E2E_CHARTS_DIR:-$(dirname "$repo")/shared/charts}
[ -f "$charts/INDEX.md" ] || { echo "no $charts/INDEX.md (set HELM_E2E_CHARTS_DIR)"; exit 1; }
if [ ${#helms[@]} = 0 ]; then
	for t in helm3 helm4; do
		h=$("$here/../tools/build.sh" "$t") || { echo "cannot build $t"; exit 1; }
		helms+=("$h")
	done
fi
kubectl=/usr/bin/kubectl
T=60 # seconds: --timeout of every helm call that changes a release

E2E_SKIPPED=0
# skip NAME REASON: a check not run because an earlier one it needs failed.
skip() { E2E_SKIPPED=$((E2E_SKIPPED+1)); echo "skip $1 ($2)"; }

# Never hang: every client call has a hard limit on top of its own timeout.
K() { timeout 90 "$kubectl" --request-timeout=30s "$@"; }
# KN NS ARGS...: kubectl with NS as the kubeconfig context's namespace. Rendered
# objects without a namespace go there, while those that name one (cert-manager's
# Roles in kube-system) keep theirs; `kubectl -n NS -f` would refuse the latter.
KN() {
	local ns=$1; shift
	if [ ! -f "$work/kc/$ns" ]; then
		mkdir -p "$work/kc"; cp "$KUBECONFIG" "$work/kc/$ns"
		KUBECONFIG=$work/kc/$ns "$kubectl" config set-context --current --namespace="$ns" >/dev/null
	fi
	KUBECONFIG=$work/kc/$ns K "$@"
}

start_kubelite "$bin"
work=$(mktemp -d)
trap 'rm -rf "$work"; stop_kubelite' EXIT
# Helm keeps its own state (repositories, cache) out of $HOME.
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data

# hm.py: manifest helpers. Objects are keyed kind/namespace/name; a rendered
# object without a namespace is in the release namespace (argument NS), a live
# cluster-scoped object has none.
cat >"$work/hm.py" <<'PY'
import json, sys, yaml

def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if isinstance(d, dict) and d.get("kind")]

def key(o, ns):
    m = o.get("metadata") or {}
    return (o["kind"], m.get("namespace") or ns, m.get("name"))

def live(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return {}
    items = d.get("items", []) if d.get("kind", "").endswith("List") and "items" in d else [d]
    out = {}
    for o in items:
        m = o.get("metadata") or {}
        out[(o.get("kind"), m.get("namespace") or "", m.get("name"))] = o
    return out

def find(lv, k):
    return lv.get(k) or lv.get((k[0], "", k[2]))

def leaves(v, path=()):
    if isinstance(v, dict) and v:
        for k, x in v.items():
            yield from leaves(x, path + (k,))
    elif isinstance(v, list) and v:
        for i, x in enumerate(v):
            yield from leaves(x, path + (i,))
    else:
        yield path, v

MISSING = object()
def get(o, path):
    for p in path:
        if isinstance(o, dict) and p in o:
            o = o[p]
        elif isinstance(o, list) and isinstance(p, int) and p < len(o):
            o = o[p]
        else:
            return MISSING
    return o

def same(a, b):
    if a is MISSING or a is None or a == {} or a == []:
        return b is MISSING or b is None or b == {} or b == []
    return a == b or (not isinstance(a, (dict, list)) and str(a) == str(b))

def show(path):
    return ".".join(str(p) for p in path)

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "count":            # count MANIFEST: number of objects
    print(len(docs(args[0])))
elif cmd == "keep":           # keep MANIFEST: the objects Helm keeps on uninstall, as YAML
    ks = [o for o in docs(args[0])
          if ((o.get("metadata") or {}).get("annotations") or {}).get("helm.sh/resource-policy") == "keep"]
    print(yaml.safe_dump_all(ks) if ks else "", end="")
elif cmd == "changed":        # changed OLD NEW NS: leaf paths of objects in both that differ, as JSON
    old = {key(o, args[2]): o for o in docs(args[0])}
    out = []
    for o in docs(args[1]):
        k = key(o, args[2])
        if k not in old:
            continue
        a, b = dict(leaves(old[k])), dict(leaves(o))
        for p in sorted(set(a) | set(b), key=show):
            if p and p[0] == "stringData":
                continue  # write-only: never in the live object
            if not same(a.get(p, MISSING), b.get(p, MISSING)):
                out.append([list(k), list(p)])
    json.dump(out, sys.stdout)
elif cmd == "verify":         # verify CHANGED WANT NS LIVE: each changed path holds WANT's value live
    changed = json.load(open(args[0]))
    want = {key(o, args[2]): o for o in docs(args[1])}
    lv = live(args[3])
    if not changed:
        print("the upgrade changed no field of any object"); sys.exit(1)
    bad = 0
    for k, p in changed:
        k, p = tuple(k), tuple(p)
        w = get(want.get(k, {}), p)
        o = find(lv, k)
        if o is None:
            print("%s/%s: not found" % (k[0], k[2])); bad += 1; continue
        g = get(o, p)
        if not same(w, g):
            bad += 1
            print("%s/%s %s: want %s, got %s" % (k[0], k[2], show(p),
                  "<absent>" if w is MISSING else json.dumps(w), "<absent>" if g is MISSING else json.dumps(g)))
    print("%d changed fields checked, %d wrong" % (len(changed), bad))
    sys.exit(1 if bad else 0)
elif cmd == "applied":        # applied MANIFEST NS LIVE: every object has an Apply managedFields entry
    lv = live(args[2])
    bad = 0
    for o in docs(args[0]):
        k = key(o, args[1])
        g = find(lv, k)
        ops = sorted({(m.get("manager"), m.get("operation")) for m in ((g or {}).get("metadata") or {}).get("managedFields") or []})
        if not any(op == "Apply" for _, op in ops):
            bad += 1
            print("%s/%s: managedFields %s" % (k[0], k[2], ops or "none"))
    sys.exit(1 if bad else 0)
PY
hm() { python3 "$work/hm.py" "$@"; }

# rel_state HELM REL NS: "REVISION STATUS DESCRIPTION" of the release's last revision.
rel_state() {
	timeout 60 "$1" status "$2" -n "$3" -o json | jq -r '"\(.version) \(.info.status) \(.info.description)"'
}

# all_exist MANIFEST NS: every object of MANIFEST exists (kubectl get by kind, name,
# namespace); leaves the objects as JSON in MANIFEST.live.
all_exist() {
	local m=$1 ns=$2 n got
	n=$(hm count "$m")
	[ "$n" -gt 0 ] || { echo "manifest has no objects"; return 1; }
	KN "$ns" get -f "$m" -o json --show-managed-fields >"$m.live" 2>"$m.err"; local rc=$?
	got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["items"]) if "items" in d else 1)' "$m.live" 2>/dev/null || echo 0)
	if [ $rc != 0 ] || [ "$got" != "$n" ]; then
		echo "$got of $n objects found"; grep -v '^$' "$m.err" | head -20; return 1
	fi
}

# none_left MANIFEST NS: none of the objects of MANIFEST exists any more, waiting up
# to 30 s for deletions in progress (finalizers).
none_left() {
	local m=$1 ns=$2 left
	for _ in $(seq 1 30); do
		if ! left=$(KN "$ns" get -f "$m" --ignore-not-found -o name 2>"$m.err"); then
			grep -v '^$' "$m.err" | head -20; return 1
		fi
		[ -z "$left" ] && return 0
		sleep 1
	done
	echo "still there:"; echo "$left" | head -20; return 1
}

# release_lifecycle HELM HV CHART IDX VARIANT SETS... : the release checks for one
# chart, variant and helm.
release_lifecycle() {
	local helm=$1 hv=$2 chart=$3 idx=$4 variant=$5; shift 5
	local sets=("$@")
	local ns="e2e-h$hv-$chart-$idx" rel="e2e-$chart-$idx-h$hv" d="$work/h$hv-$chart-$idx"
	local p="helm$hv $chart[$variant]"
	local H=(timeout $((T + 30)) "$helm")
	mkdir -p "$d"
	local upg; upg=$(upgrade_values "$chart")

	check "$p install" "${H[@]}" install "$rel" "$charts/$chart" -n "$ns" --create-namespace --no-hooks --timeout "${T}s" "${sets[@]}"
	if ! "${H[@]}" get manifest "$rel" -n "$ns" >"$d/r1.yaml" 2>"$d/err" || [ "$(hm count "$d/r1.yaml")" = 0 ]; then
		skip "$p upgrade, rollback, uninstall" "no release manifest: $(head -1 "$d/err")"
		cleanup_release "$helm" "$rel" "$ns"; return
	fi
	check "$p installed objects exist" all_exist "$d/r1.yaml" "$ns"
	if [ "$hv" = 4 ]; then
		check "$p objects are server-side applied" hm applied "$d/r1.yaml" "$ns" "$d/r1.yaml.live"
	fi

	# shellcheck disable=SC2086 # upgrade values are words
	check "$p upgrade ($upg)" "${H[@]}" upgrade "$rel" "$charts/$chart" -n "$ns" --no-hooks --timeout "${T}s" "${sets[@]}" $upg
	expect_out "$p revision 2 deployed" '^2 deployed ' rel_state "$helm" "$rel" "$ns"
	"${H[@]}" get manifest "$rel" -n "$ns" --revision 2 >"$d/r2.yaml" 2>/dev/null
	hm changed "$d/r1.yaml" "$d/r2.yaml" "$ns" >"$d/changed.json"
	check "$p upgraded objects exist" all_exist "$d/r2.yaml" "$ns"
	check "$p upgrade landed ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$d/changed.json") fields)" \
		hm verify "$d/changed.json" "$d/r2.yaml" "$ns" "$d/r2.yaml.live"

	check "$p rollback to 1" "${H[@]}" rollback "$rel" 1 -n "$ns" --no-hooks --timeout "${T}s"
	expect_out "$p revision 3 deployed" '^3 deployed Rollback to 1$' rel_state "$helm" "$rel" "$ns"
	"${H[@]}" get manifest "$rel" -n "$ns" --revision 3 >"$d/r3.yaml" 2>/dev/null
	check "$p rolled-back objects exist" all_exist "$d/r3.yaml" "$ns"
	check "$p rollback landed" hm verify "$d/changed.json" "$d/r3.yaml" "$ns" "$d/r3.yaml.live"

	hm keep "$d/r3.yaml" >"$d/keep.yaml"
	python3 -c '
import sys, yaml
keep = {(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(open(sys.argv[1])) if o}
for o in yaml.safe_load_all(open(sys.argv[2])):
    if o and o.get("kind") and (o["kind"], o["metadata"]["name"]) not in keep:
        print("---"); print(yaml.safe_dump(o), end="")' "$d/keep.yaml" "$d/r3.yaml" >"$d/gone.yaml"
	check "$p uninstall" "${H[@]}" uninstall "$rel" -n "$ns" --no-hooks --timeout "${T}s"
	expect_fail "$p release is gone" 'not found' "${H[@]}" status "$rel" -n "$ns"
	check "$p no object left" none_left "$d/gone.yaml" "$ns"
	if [ -s "$d/keep.yaml" ]; then
		check "$p resource-policy keep objects kept" all_exist "$d/keep.yaml" "$ns"
		# They would block the next release of the chart (owned by this one); wait until
		# they are gone (a terminating CRD cannot be applied again).
		KN "$ns" delete -f "$d/keep.yaml" --ignore-not-found --timeout=60s >/dev/null 2>&1
	fi
	cleanup_release "$helm" "$rel" "$ns"
}

# cleanup_release HELM REL NS: best effort, not a check.
cleanup_release() {
	timeout $((T + 30)) "$1" uninstall "$2" -n "$3" --no-hooks --timeout "${T}s" >/dev/null 2>&1
	K delete namespace "$3" --ignore-not-found --wait=false >/dev/null 2>&1
}

# template_apply HELM HV CHART IDX VARIANT SETS...: helm template | kubectl apply
# --server-side, then kubectl delete of the same objects.
template_apply() {
	local helm=$1 hv=$2 chart=$3 idx=$4 variant=$5; shift 5
	local ns="e2e-t$hv-$chart-$idx" rel="e2e-$chart-$idx-t$hv" d="$work/t$hv-$chart-$idx"
	local p="helm$hv $chart[$variant] template |"
	mkdir -p "$d"
	if ! timeout 60 "$helm" template "$rel" "$charts/$chart" -n "$ns" "$@" >"$d/all.yaml" 2>"$d/err"; then
		check "$p render" sh -c 'cat "$1"; exit 1' sh "$d/err"; return
	fi
	check "$p create namespace" K create namespace "$ns"
	# The rendered objects include test-hook Pods, which need the namespace's
	# default service account.
	check "$p default service account" wait_default_sa "$ns" K
	check "$p kubectl apply --server-side" KN "$ns" apply --server-side -f "$d/all.yaml"
	check "$p applied objects exist" all_exist "$d/all.yaml" "$ns"
	check "$p kubectl delete" KN "$ns" delete -f "$d/all.yaml" --ignore-not-found --timeout=60s
	check "$p no object left" none_left "$d/all.yaml" "$ns"
	K delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1
}

# chart_values CHART: values every render of CHART gets, so that renders are
# deterministic (no generated passwords).
chart_values() {
	case $1 in
	redis) echo "--set auth.password=e2e-redis-password" ;;
	postgresql) echo "--set auth.postgresPassword=e2e-postgres-password" ;;
	grafana) echo "--set adminPassword=e2e-grafana-password" ;;
	esac
}

# upgrade_values CHART: the changed value of the upgrade, an extra label on the
# chart's objects where it has a setting for one.
upgrade_values() {
	case $1 in
	podinfo) echo "--set replicaCount=2 --set hpa.maxReplicas=5" ;;
	kube-state-metrics) echo "--set customLabels.e2e-upgrade=two --set replicas=2" ;;
	grafana) echo "--set extraLabels.e2e-upgrade=two --set replicas=2" ;;
	cert-manager) echo "--set global.commonLabels.e2e-upgrade=two --set replicaCount=2" ;;
	*) echo "--set commonLabels.e2e-upgrade=two" ;;
	esac
}

# The charts and their variants, from INDEX.md's table: the folder in the first
# column, each `--set ...` code span of the row a variant besides the defaults.
mapfile -t rows < <(python3 - "$charts/INDEX.md" <<'PY'
import re, sys
table = False
for line in open(sys.argv[1]):
    if re.match(r"\|\s*-{3}", line):   # the separator under the header row
        table = True; continue
    if not line.startswith("|"):
        table = False
    if not table:
        continue
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    variants = re.findall(r"`(--set [^`]*)`", line)
    print("\t".join([cells[0]] + variants))
PY
)
[ ${#rows[@]} -gt 0 ] || { echo "no charts in $charts/INDEX.md"; exit 1; }

# Each helm's version, and the cluster version it renders for offline (`helm
# template`): the build flags of conformance/tools/build.sh make it the
# Kubernetes minor of the client-go Helm is built with.
mkdir -p "$work/kv/templates"
printf 'apiVersion: v2\nname: kv\nversion: 0.1.0\n' >"$work/kv/Chart.yaml"
printf '# {{ .Capabilities.KubeVersion }}\n' >"$work/kv/templates/kv.yaml"
for h in "${helms[@]}"; do
	echo "== $h: $(timeout 30 "$h" version --short 2>&1), renders for $(timeout 30 "$h" template kv "$work/kv" 2>&1 | sed -n 's/^# \(v[0-9]\)/\1/p')"
done

for row in "${rows[@]}"; do
	IFS=$'\t' read -r -a cols <<<"$row"
	chart=${cols[0]}
	if [ -n "${HELM_E2E_CHARTS:-}" ] && ! [[ " $HELM_E2E_CHARTS " == *" $chart "* ]]; then continue; fi
	[ -d "$charts/$chart" ] || { check "$chart folder exists" test -d "$charts/$chart"; continue; }
	variants=("" "${cols[@]:1}")
	for idx in "${!variants[@]}"; do
		v=${variants[$idx]}
		name=${v:-defaults}; name=${name//--set /}; name=${name// /,}
		# shellcheck disable=SC2206 # values are words
		sets=($(chart_values "$chart") $v)
		for h in "${helms[@]}"; do
			hv=$(timeout 30 "$h" version --template '{{ .Version }}' 2>/dev/null); hv=${hv#v}; hv=${hv%%.*}
			echo "== $chart [$name] with helm $hv"
			release_lifecycle "$h" "$hv" "$chart" "$idx" "$name" "${sets[@]}"
			template_apply "$h" "$hv" "$chart" "$idx" "$name" "${sets[@]}"
		done
	done
done

echo "$E2E_SKIPPED skipped"
summary
