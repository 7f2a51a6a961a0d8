#!/usr/bin/env bash
# Installs what the end-to-end tests and `make demo` need on a Debian/Ubuntu
# machine: an OCI runtime, a registry, image tools, Debian's docker engine and
# a buildkitd/buildctl of the pinned BuildKit version, built from the Go
# module proxy and cached outside the checkout, keyed by version.
set -euo pipefail

BUILDKIT_VERSION=${BUILDKIT_VERSION:-v0.34.2}
CACHE=${XDOCKERFILE_CACHE:-/var/cache/xdockerfile}
BIN="$CACHE/buildkit-$BUILDKIT_VERSION/bin"

need_apt=()
for pkg in runc docker-registry skopeo umoci busybox-static debootstrap docker.io curl iptables openssh-client python3-setuptools-whl python3-wheel-whl git; do
	[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
	echo "deps: apt-get install ${need_apt[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
	# Debian's packages start their services; the tests run their own.
	systemctl stop docker-registry docker containerd 2>/dev/null || true
	pkill -x docker-registry 2>/dev/null || true
fi

if [ ! -x "$BIN/buildkitd" ] || [ ! -x "$BIN/buildctl" ]; then
	echo "deps: building buildkitd and buildctl $BUILDKIT_VERSION (cached in $BIN)" >&2
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cat >"$work/go.mod" <<MOD
module xdockerfile.local/buildkit-tools

go 1.26

require github.com/moby/buildkit $BUILDKIT_VERSION
MOD
	cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
GO
	(cd "$work" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
	 cd "$work" && GOFLAGS=-mod=mod go get github.com/moby/buildkit@"$BUILDKIT_VERSION" >/dev/null
	 mkdir -p "$BIN.tmp"
	 cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o "$BIN.tmp/" \
		github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
	rm -rf "$BIN" && mkdir -p "$(dirname "$BIN")" && mv "$BIN.tmp" "$BIN"
fi
echo "$BIN"
