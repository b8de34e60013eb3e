#!/usr/bin/env bash
# containerd.sh: make sure containerd and runc are installed (Debian's
# packages, `apt-get install containerd runc`, when either is missing) and
# say which versions. `make containerd` runs it; CI runs it as root on a
# fresh machine.
#
# It starts no daemon: the node agent (and `kubelite images import`, and the
# tests of nodeagent/runtime/containerd) start a containerd of kubelite's
# own with its socket, root and state under <data-dir>/containerd, beside
# any containerd the machine already runs, and stop it when they exit.
set -euo pipefail

log() { echo "containerd.sh: $*" >&2; }

if ! command -v containerd >/dev/null || ! command -v runc >/dev/null; then
	[ "$(id -u)" = 0 ] || { log "containerd or runc is missing; run as root to install them"; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends containerd runc >&2; then
		log "apt-get install failed; updating the package lists first"
		apt-get update >&2
		apt-get install -y --no-install-recommends containerd runc >&2
	fi
fi
log "$(containerd --version)"
log "$(runc --version | head -1)"
