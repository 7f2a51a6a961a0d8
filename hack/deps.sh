#!/usr/bin/env bash
# Installs what the end-to-end tests and `make demo` need on a Debian/Ubuntu
# machine: an OCI runtime, a registry, image tools, Debian's docker engine and
# a buildkitd/buildctl of the pinned BuildKit version, built from the Go
# module proxy and cached outside the checkout, keyed by version.
#
#   hack/deps.sh          prints the pinned version's bin directory
#   hack/deps.sh compat   builds the older versions users run too and prints
#                         XDOCKERFILE_BUILDKIT_COMPAT: v0.12.5=DIR,...
#                         (the pinned one included), for e2e/compat_test.go
set -euo pipefail

PINNED=v0.34.2
# The BuildKit of Docker Engine 25, 26 and 28 and of current CI runners.
COMPAT_VERSIONS="v0.12.5 v0.13.2 v0.20.2"
BUILDKIT_VERSION=${BUILDKIT_VERSION:-$PINNED}
CACHE=${XDOCKERFILE_CACHE:-/var/cache/xdockerfile}

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

# build_buildkit VERSION: buildkitd and buildctl of VERSION, once, into
# $CACHE/buildkit-VERSION/bin (a few minutes each).
build_buildkit() {
	local version=$1 bin="$CACHE/buildkit-$1/bin" work
	if [ -x "$bin/buildkitd" ] && [ -x "$bin/buildctl" ]; then
		return
	fi
	echo "deps: building buildkitd and buildctl $version (cached in $bin)" >&2
	work=$(mktemp -d)
	cat >"$work/go.mod" <<MOD
module xdockerfile.local/buildkit-tools

go 1.26

require github.com/moby/buildkit $version
MOD
	cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
GO
	rm -rf "$bin.tmp"
	# (a condition: set -e does not apply inside, hence the &&)
	if ! (cd "$work" && { GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true; } &&
		GOFLAGS=-mod=mod go get github.com/moby/buildkit@"$version" >/dev/null &&
		mkdir -p "$bin.tmp" &&
		CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o "$bin.tmp/" \
			github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl); then
		rm -rf "$work" "$bin.tmp"
		echo "deps: building BuildKit $version failed" >&2
		return 1
	fi
	rm -rf "$work" "$bin" && mkdir -p "$(dirname "$bin")" && mv "$bin.tmp" "$bin"
}

if [ "${1:-}" = compat ]; then
	list=""
	for version in $COMPAT_VERSIONS $PINNED; do
		build_buildkit "$version"
		list="${list:+$list,}$version=$CACHE/buildkit-$version/bin"
	done
	echo "$list"
	exit 0
fi

build_buildkit "$BUILDKIT_VERSION"
echo "$CACHE/buildkit-$BUILDKIT_VERSION/bin"
