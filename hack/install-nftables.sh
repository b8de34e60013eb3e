#!/usr/bin/env bash
# install-nftables.sh: make sure the nft binary (Debian's nftables package)
# is installed, and say which version. The NetworkPolicy enforcer
# (nodeagent/netpol) and its tests drive nft through sigs.k8s.io/knftables.
# Idempotent; `make containerd` runs it, so `make unit` and CI have it.
set -euo pipefail

log() { echo "install-nftables.sh: $*" >&2; }

if ! command -v nft >/dev/null; then
	[ "$(id -u)" = 0 ] || { log "nft is missing; run as root to install nftables"; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends nftables >&2; then
		log "apt-get install failed; updating the package lists first"
		apt-get update >&2
		apt-get install -y --no-install-recommends nftables >&2
	fi
fi
log "$(nft --version)"
