#!/usr/bin/env bash
# cni.sh: build the CNI reference plugins the containerd node agent uses
# (bridge, host-local, portmap; loopback, which containerd's CRI plugin runs for
# the upstream kubelet of the pod startup benchmark) from their Go module into
# ${CNI_BIN_DIR:-.cache/cni/bin}, and nft (hack/install-nftables.sh), which
# portmap's nftables backend and kubelite's own masquerade rules use.
# `make cni` runs it; it is idempotent and quick when the plugins are built.
set -euo pipefail

CNI_PLUGINS_VERSION=${CNI_PLUGINS_VERSION:-v1.10.0}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${CNI_BIN_DIR:-$root/.cache/cni/bin}
log() { echo "cni.sh: $*" >&2; }

"$root/hack/install-nftables.sh"

mkdir -p "$dir"
stamp="$dir/.version"
plugins=(main/bridge ipam/host-local meta/portmap main/loopback)
built() {
	[ "$(cat "$stamp" 2>/dev/null)" = "$CNI_PLUGINS_VERSION" ] || return 1
	for p in "${plugins[@]}"; do [ -x "$dir/${p#*/}" ] || return 1; done
}
if built; then
	log "plugins $CNI_PLUGINS_VERSION in $dir"
	exit 0
fi
pkgs=()
for p in "${plugins[@]}"; do pkgs+=("github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"); done
# Built outside the project's module, so that its go.mod stays as it is.
(cd "$dir" && GOBIN="$dir" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath "${pkgs[@]}")
echo "$CNI_PLUGINS_VERSION" >"$stamp"
log "built plugins $CNI_PLUGINS_VERSION into $dir"
