#!/usr/bin/env bash
# build.sh: build the container images upstream's conformance tests run, as
# OCI archives (one tar per image, named with the upstream reference) in
# $KUBELITE_IMAGES (default <repo>/.cache/images). `make images` runs it.
#
#   1. Debian packages: the packages below and their dependencies are
#      downloaded with apt (`apt-get install --download-only` against an empty
#      dpkg status, so the whole dependency closure is fetched) and extracted
#      with `dpkg-deb -x`, one folder per package, into $KUBELITE_IMAGES/.work/debs.
#      Done once; the package list is the stamp. IMAGES_REFRESH_DEBS=1 fetches
#      them again (new Debian point releases or security updates).
#   2. Go binaries: agnhost, nonewprivs, sample-apiserver, etcd, etcdctl and
#      etcdutl through conformance/tools/build.sh (binary cache $KUBELITE_CACHE,
#      rebuilt only when their pinned version changes); the pause program and
#      the assembler (conformance/images) with `go build`.
#   3. The assembler writes each archive whose content changed (see main.go).
#
# Needs: go, apt-get and dpkg-deb (Debian or a derivative; root, or a user
# allowed to run apt-get update if the package lists are empty), jq, flock.
set -euo pipefail

images=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
conformance=$(dirname "$images")
repo=$(dirname "$conformance")
out=${KUBELITE_IMAGES:-$repo/.cache/images}
work=$out/.work

log() { echo "images/build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# The Debian packages whose files go into images (their dependencies are
# fetched too; only the shared libraries programs need end up in images).
packages=(
	busybox-static                                  # sh and the usual commands in most images
	curl bind9-dnsutils bind9-host netcat-openbsd   # agnhost: curl, dig, nc
	iproute2 bash                                   # agnhost: ip, ss, bash
	nginx nginx-common                              # nginx
	base-files dash coreutils grep sed mawk hostname findutils libc-bin # glibc-dns-testing
)
# Packages fetched alone (`apt-get download`), because they conflict with one
# above; their dependencies must be among the others'. busybox (linked with
# glibc, needing libc6 only) gives agnhost a shell that runs the programs in
# PATH rather than its own applets; it conflicts with busybox-static.
alone=(busybox)

for cmd in go jq flock apt-get dpkg-deb; do
	command -v "$cmd" >/dev/null || die "$cmd not found"
done
[ "$(go env GOOS)/$(go env GOARCH)" = linux/amd64 ] || die "images are linux/amd64 and built on linux/amd64 (busybox --list-full runs here)"

mkdir -p "$work"
exec 9>"$out/.lock"
flock 9
start=$(date +%s)

# 1. Debian packages.
debs=$work/debs
want="${packages[*]} / ${alone[*]}"
if [ -z "${IMAGES_REFRESH_DEBS:-}" ] && [ -f "$debs/.stamp" ] && [ "$(cat "$debs/.stamp")" = "$want" ]; then
	log "Debian packages are extracted in $debs"
else
	log "fetching Debian packages: ${packages[*]} ${alone[*]} and their dependencies"
	if ! apt-cache show "${packages[@]}" "${alone[@]}" >/dev/null 2>&1; then
		log "apt has no list of some packages; running apt-get update"
		apt-get update >&2 || die "apt-get update failed (run as root?)"
	fi
	tmp=$(mktemp -d "$work/.debs.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/archives/partial" "$tmp/cache" "$tmp/root"
	: >"$tmp/status"
	# An empty dpkg status makes apt resolve every dependency down to libc6, as
	# for an empty root filesystem; --download-only installs nothing.
	apt-get install --download-only --yes --no-install-recommends \
		-o Dir::State::status="$tmp/status" -o Dir::Cache="$tmp/cache" \
		-o Dir::Cache::archives="$tmp/archives" -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
		"${packages[@]}" >&2 || die "apt-get could not download the packages"
	(cd "$tmp/archives" && apt-get download -o APT::Sandbox::User=root "${alone[@]}") >&2 ||
		die "apt-get could not download ${alone[*]}"
	for deb in "$tmp"/archives/*.deb; do
		pkg=$(dpkg-deb -f "$deb" Package)
		dpkg-deb -x "$deb" "$tmp/root/$pkg"
		echo "$pkg $(dpkg-deb -f "$deb" Version)" >>"$tmp/root/versions.txt"
	done
	echo "$want" >"$tmp/root/.stamp"
	rm -rf "$debs"
	mv "$tmp/root" "$debs"
	rm -rf "$tmp"
	trap - EXIT
	log "extracted $(wc -l <"$debs/versions.txt") packages into $debs"
fi

# 2. Go binaries.
bin=$work/bin
mkdir -p "$bin"
for target in agnhost nonewprivs sample-apiserver etcd etcdctl etcdutl; do
	path=$("$conformance/tools/build.sh" "$target") || die "building $target failed"
	ln -sf "$path" "$bin/$target"
done
(cd "$conformance" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/pause" ./images/pause) ||
	die "building pause failed"
(cd "$conformance" && go build -o "$work/assembler" ./images) || die "building the assembler failed"
k8s=$(cd "$conformance" && go mod download -json k8s.io/kubernetes | jq -er .Dir) ||
	die "cannot download k8s.io/kubernetes"

# 3. The archives.
"$work/assembler" -debs "$debs" -bin "$bin" -k8s "$k8s" -out "$out" || die "assembling the images failed"
log "images in $out ($(($(date +%s) - start)) s)"
