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
#   hack/deps.sh buildx   builds the docker buildx client and prints its path
set -euo pipefail

PINNED=v0.34.2
# The BuildKit of Docker Engine 25, 26 and 28 and of current CI runners.
COMPAT_VERSIONS="v0.12.5 v0.13.2 v0.20.2"
BUILDKIT_VERSION=${BUILDKIT_VERSION:-$PINNED}
BUILDX_VERSION=${BUILDX_VERSION:-v0.38.2}
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

# go_build MODULE VERSION BIN PACKAGE...: static binaries of MODULE's
# PACKAGEs at VERSION, built once from the Go module proxy into BIN. The
# build goes through a go.mod of our own that requires the module, since
# `go install pkg@version` refuses modules with exclude directives.
go_build() {
	local module=$1 version=$2 bin=$3 work pkg
	shift 3
	for pkg in "$@" ""; do
		[ -z "$pkg" ] && return
		[ -x "$bin/${pkg##*/}" ] || break
	done
	echo "deps: building ${*##*/} $version (cached in $bin)" >&2
	work=$(mktemp -d)
	printf 'module xdockerfile.local/tools\n\ngo 1.26\n\nrequire %s %s\n' "$module" "$version" >"$work/go.mod"
	printf '//go:build tools\n\npackage tools\n\n' >"$work/tools.go"
	for pkg in "$@"; do printf 'import _ "%s"\n' "$pkg" >>"$work/tools.go"; done
	rm -rf "$bin.tmp"
	# (a condition: set -e does not apply inside, hence the &&)
	if ! (cd "$work" && { GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true; } &&
		GOFLAGS=-mod=mod go get "$module@$version" >/dev/null &&
		mkdir -p "$bin.tmp" &&
		CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o "$bin.tmp/" "$@"); then
		rm -rf "$work" "$bin.tmp"
		echo "deps: building $module $version failed" >&2
		return 1
	fi
	rm -rf "$work" "$bin" && mkdir -p "$(dirname "$bin")" && mv "$bin.tmp" "$bin"
}

# build_buildkit VERSION: buildkitd and buildctl of VERSION into
# $CACHE/buildkit-VERSION/bin (a few minutes each).
build_buildkit() {
	go_build github.com/moby/buildkit "$1" "$CACHE/buildkit-$1/bin" \
		github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl
}

case "${1:-}" in
buildx)
	# The docker buildx client the tests run: its `remote` driver talks
	# to the test buildkitd, so no docker engine is involved.
	go_build github.com/docker/buildx "$BUILDX_VERSION" "$CACHE/buildx-$BUILDX_VERSION/bin" \
		github.com/docker/buildx/cmd/buildx
	echo "$CACHE/buildx-$BUILDX_VERSION/bin/buildx"
	exit 0
	;;
esac

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
