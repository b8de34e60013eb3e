#!/usr/bin/env bash
# build.sh kubectl-1.27|kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy|kubelet|etcd|etcdctl|etcdutl|e2e.test|ginkgo|helm3|helm4|agnhost|nonewprivs|sample-apiserver
#
# Builds one upstream binary from Go modules into the binary cache, unless the
# cache already holds it at the wanted version, and prints its path on stdout.
# Progress goes to stderr; the exit status is non-zero when the build fails.
#
#   kubectl-1.27    upstream kubectl 1.27 (k8s.io/kubectl release pinned in
#                   tools/kubectl-1.27/go.mod), installed as kubectl.1.27
#   kube-apiserver  k8s.io/kubernetes/cmd/kube-apiserver at the k8s.io/kubernetes
#                   version pinned in conformance/go.mod
#   kube-controller-manager, kube-scheduler
#                   k8s.io/kubernetes/cmd/kube-controller-manager and
#                   .../cmd/kube-scheduler at the same version, stamped like
#                   kube-apiserver (the upstream control plane CLUSTER=upstream runs)
#   kube-proxy      k8s.io/kubernetes/cmd/kube-proxy at the same version, stamped
#                   like kube-apiserver (the upstream side of BenchmarkProxySync)
#   kubelet         k8s.io/kubernetes/cmd/kubelet at the same version, stamped
#                   like kube-apiserver (the upstream side of the pod startup
#                   benchmark, on the same containerd as kubelite's node agent)
#   etcd            the etcd server (package main of go.etcd.io/etcd/server/v3)
#                   at the version pinned in conformance/go.mod
#   etcdctl,        etcd's command-line client and offline utility
#   etcdutl         (go.etcd.io/etcd/etcdctl/v3, go.etcd.io/etcd/etcdutl/v3) at
#                   the versions pinned in conformance/go.mod
#   e2e.test        upstream's conformance/e2e suite (go test -c of
#                   k8s.io/kubernetes/test/e2e) at the k8s.io/kubernetes version
#                   pinned in conformance/go.mod
#   ginkgo          the ginkgo v2 CLI (github.com/onsi/ginkgo/v2/ginkgo) at the
#                   version conformance/go.mod resolves, i.e. the one
#                   k8s.io/kubernetes requires; it runs e2e.test in parallel
#   helm3, helm4    Helm 3 and Helm 4 as released (`go install` of
#                   helm.sh/helm/v3/cmd/helm and helm.sh/helm/v4/cmd/helm at the
#                   versions pinned below, with Helm's own go.mod as the build list),
#                   installed as helm3 and helm4
#   agnhost,        test programs of upstream's e2e images
#   nonewprivs      (k8s.io/kubernetes/test/images/{agnhost,nonewprivs}) at the
#                   k8s.io/kubernetes version pinned in conformance/go.mod;
#                   agnhost reports the version of test/images/agnhost/VERSION
#   sample-apiserver  k8s.io/sample-apiserver at the version conformance/go.mod
#                   replaces it with (the staging release of k8s.io/kubernetes)
#
# The cache folder is $KUBELITE_CACHE if set, else <repo>/.cache/bin. Beside each
# binary a stamp file .<binary>.stamp records the version it was built from; the
# binary is rebuilt when the stamp does not match the pinned version. To change a
# version, change the go.mod that pins it (for Helm: the pins below).
set -euo pipefail

# Helm releases for the Helm end-to-end tests (conformance/e2e/helm.sh).
helm3_version=v3.22.0
helm4_version=v4.3.1

tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
conformance=$(dirname "$tools")
repo=$(dirname "$conformance")
cache=${KUBELITE_CACHE:-$repo/.cache/bin}

log() { echo "build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	echo "usage: $0 kubectl-1.27|kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy|kubelet|etcd|etcdctl|etcdutl|e2e.test|ginkgo|helm3|helm4|agnhost|nonewprivs|sample-apiserver" >&2
	exit 2
}

# module_field DIR MODULE FIELD: a field (Version, Time, Dir) of a module in the
# build list of the module in DIR, as `go list -m -json` reports it. Dir is
# only known once the module's source is in the module cache, which on a fresh
# machine it is not: `go mod download` fetches it and reports Dir.
module_field() {
	local cmd=(go list -m -json "$2")
	[ "$3" = Dir ] && cmd=(go mod download -json "$2")
	(cd "$1" && "${cmd[@]}") | jq -er ".$3" ||
		die "cannot resolve $2 in $1/go.mod"
}

# version_ldflags VERSION BUILDDATE: -X flags that make client-go's and
# component-base's version packages report VERSION (v1.MINOR.PATCH), as
# upstream's release build does.
version_ldflags() {
	local version=$1 date=$2 minor flags="" pkg
	minor=${version#v1.}
	minor=${minor%%.*}
	for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
		flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date -X $pkg.gitCommit="
	done
	echo "$flags"
}

# rfc3339 TIME: the module's release time in upstream's buildDate format.
rfc3339() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

[ $# -eq 1 ] || usage
target=$1
testbinary= # set for targets linked by `go test -c`
install=    # set for targets installed by `go install MODULE/PKG@VERSION`

case $target in
kubectl-1.27)
	moddir=$tools/kubectl-1.27
	binary=kubectl.1.27
	pkg=github.com/kubelite/kubelite/conformance/tools/kubectl-1.27
	modversion=$(module_field "$moddir" k8s.io/kubectl Version) # v0.27.N
	version=v1.${modversion#v0.}
	case $version in v1.27.*) ;; *) die "tools/kubectl-1.27/go.mod pins k8s.io/kubectl $modversion, not a 1.27 release" ;; esac
	date=$(rfc3339 "$(module_field "$moddir" k8s.io/kubectl Time)")
	ldflags="-s -w $(version_ldflags "$version" "$date")"
	;;
kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy | kubelet)
	moddir=$conformance
	binary=$target
	pkg=k8s.io/kubernetes/cmd/$target
	version=$(module_field "$moddir" k8s.io/kubernetes Version)
	date=$(rfc3339 "$(module_field "$moddir" k8s.io/kubernetes Time)")
	ldflags="-s -w $(version_ldflags "$version" "$date")"
	;;
etcd)
	moddir=$conformance
	binary=etcd
	pkg=go.etcd.io/etcd/server/v3
	version=$(module_field "$moddir" go.etcd.io/etcd/server/v3 Version)
	# etcd's own version is a constant in go.etcd.io/etcd/api/v3/version; only
	# the git SHA is set at link time upstream, and a module has none.
	ldflags="-s -w"
	;;
etcdctl | etcdutl)
	moddir=$conformance
	binary=$target
	pkg=go.etcd.io/etcd/$target/v3
	version=$(module_field "$moddir" "$pkg" Version)
	ldflags="-s -w"
	;;
agnhost | nonewprivs)
	# As test/images/image-util.sh builds them (CGO_ENABLED=0); agnhost's
	# Makefile sets main.Version to the image version.
	moddir=$conformance
	binary=$target
	pkg=k8s.io/kubernetes/test/images/$target
	version=$(module_field "$moddir" k8s.io/kubernetes Version)
	ldflags="-s -w"
	if [ "$target" = agnhost ]; then
		k8sdir=$(module_field "$moddir" k8s.io/kubernetes Dir)
		imageversion=$(cat "$k8sdir/test/images/agnhost/VERSION") || die "no test/images/agnhost/VERSION in $k8sdir"
		ldflags+=" -X main.Version=$imageversion"
		version+=" $imageversion"
	fi
	;;
sample-apiserver)
	moddir=$conformance
	binary=$target
	pkg=k8s.io/sample-apiserver
	version=$(module_field "$moddir" k8s.io/sample-apiserver Replace.Version)
	ldflags="-s -w"
	;;
e2e.test)
	moddir=$conformance
	binary=e2e.test
	pkg=k8s.io/kubernetes/test/e2e
	version=$(module_field "$moddir" k8s.io/kubernetes Version)
	date=$(rfc3339 "$(module_field "$moddir" k8s.io/kubernetes Time)")
	# The suite reports the server's version, and its own through the same
	# packages (framework.TestContext logs it); make it say v1.37.2.
	ldflags="-s -w $(version_ldflags "$version" "$date")"
	testbinary=1
	;;
ginkgo)
	moddir=$conformance
	binary=ginkgo
	pkg=github.com/onsi/ginkgo/v2/ginkgo
	version=$(module_field "$moddir" github.com/onsi/ginkgo/v2 Version)
	ldflags="-s -w"
	;;
helm3 | helm4)
	# `go install helm.sh/helm/vN/cmd/helm@VERSION`: Helm's go.mod is the main
	# module, so the dependencies are exactly those of the release (no go.mod
	# here pins Helm; it must never enter the root module). The -X flags are those
	# of Helm's Makefile for a tagged build (`make build-cross VERSION=vX.Y.Z`, as
	# its release workflow runs): version, empty metadata (no "+unreleased"),
	# gitTreeState clean; gitCommit stays empty as a module has no commit.
	binary=$target
	if [ "$target" = helm3 ]; then version=$helm3_version; else version=$helm4_version; fi
	module=helm.sh/helm/${version%%.*}
	pkg=$module/cmd/helm@$version
	install=1
	ldflags="-w -s -X $module/internal/version.version=$version -X $module/internal/version.metadata="
	ldflags+=" -X $module/internal/version.gitCommit= -X $module/internal/version.gitTreeState=clean"
	if [ "$target" = helm3 ]; then
		# Helm 3's Makefile stamps the default .Capabilities.KubeVersion (used by
		# `helm template` and lint) from the k8s.io/client-go in its go.mod:
		# v0.M.N gives 1.M. Helm 4 computes the same at run time from the
		# binary's build info, so it needs no flag.
		gomod=$(cd / && go mod download -json "$module@$version" | jq -er .GoMod) ||
			die "cannot download $module@$version"
		clientgo=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
		[[ $clientgo =~ ^v0\.([0-9]+)\. ]] || die "no k8s.io/client-go v0.M.N in $gomod"
		for p in $module/pkg/lint/rules $module/pkg/chartutil; do
			ldflags+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=${BASH_REMATCH[1]}"
		done
	fi
	;;
*)
	usage
	;;
esac

out=$cache/$binary
stamp=$cache/.$binary.stamp
want="$binary $version"

mkdir -p "$cache"
# One build of a binary at a time; a second caller waits and then finds it fresh.
exec 9>"$cache/.$binary.lock"
flock 9

if [ -x "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	log "$binary $version is up to date"
	echo "$out"
	exit 0
fi

log "building $binary $version ($pkg) into $cache; a cold build can take many minutes"
start=$(date +%s)
tmpdir=$(mktemp -d "$cache/.build-$binary.XXXXXX")
trap 'rm -rf "$tmpdir"' EXIT
tmp=$tmpdir/$binary
# Static binaries like upstream's release builds; -trimpath keeps paths out of them.
# A test binary (e2e.test) is linked by `go test -c` from the package's tests.
if [ -n "${install:-}" ]; then
	# `go install PKG@VERSION` outside any module; it has no -o, so GOBIN is the
	# temporary folder and the binary is renamed.
	if ! (cd "$tmpdir" && GOBIN=$tmpdir CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "$pkg") >&2; then
		die "go install of $pkg failed"
	fi
	mv -f "$tmpdir/$(basename "${pkg%@*}")" "$tmp"
else
	if [ -n "${testbinary:-}" ]; then
		gocmd=(go test -c)
	else
		gocmd=(go build)
	fi
	if ! (cd "$moddir" && CGO_ENABLED=0 "${gocmd[@]}" -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg") >&2; then
		die "${gocmd[*]} of $pkg failed"
	fi
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
echo "$want" >"$stamp"
log "built $binary $version in $(($(date +%s) - start)) s"
echo "$out"
