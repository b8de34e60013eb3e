#!/usr/bin/env bash
# build.sh kubectl-1.27|kube-apiserver|etcd
#
# Builds one upstream binary from Go modules into the binary cache, unless the
# cache already holds it at the wanted version, and prints its path on stdout.
# Progress goes to stderr; the exit status is non-zero when the build fails.
#
#   kubectl-1.27    upstream kubectl 1.27 (k8s.io/kubectl release pinned in
#                   tools/kubectl-1.27/go.mod), installed as kubectl.1.27
#   kube-apiserver  k8s.io/kubernetes/cmd/kube-apiserver at the k8s.io/kubernetes
#                   version pinned in conformance/go.mod
#   etcd            the etcd server (package main of go.etcd.io/etcd/server/v3)
#                   at the version pinned in conformance/go.mod
#
# The cache folder is $KUBELITE_CACHE if set, else <repo>/.cache/bin. Beside each
# binary a stamp file .<binary>.stamp records the version it was built from; the
# binary is rebuilt when the stamp does not match the pinned version. To change a
# version, change the go.mod that pins it.
set -euo pipefail

tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
conformance=$(dirname "$tools")
repo=$(dirname "$conformance")
cache=${KUBELITE_CACHE:-$repo/.cache/bin}

log() { echo "build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	echo "usage: $0 kubectl-1.27|kube-apiserver|etcd" >&2
	exit 2
}

# module_field DIR MODULE FIELD: a field (Version, Time) of a module in the build
# list of the module in DIR, as `go list -m -json` reports it.
module_field() {
	(cd "$1" && go list -m -json "$2") | jq -er ".$3" ||
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
kube-apiserver)
	moddir=$conformance
	binary=kube-apiserver
	pkg=k8s.io/kubernetes/cmd/kube-apiserver
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
if ! (cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg") >&2; then
	die "go build of $pkg failed"
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
echo "$want" >"$stamp"
log "built $binary $version in $(($(date +%s) - start)) s"
echo "$out"
