#!/usr/bin/env bash
# Builds the docker buildx client of the version given (default the one the
# tests run) from the Go module proxy, cached outside the checkout, keyed by
# version; prints the binary's path. Its `remote` driver talks to the test
# buildkitd, so no docker engine is involved.
set -euo pipefail

BUILDX_VERSION=${BUILDX_VERSION:-v0.38.2}
CACHE=${XDOCKERFILE_CACHE:-/var/cache/xdockerfile}
BIN="$CACHE/buildx-$BUILDX_VERSION/bin"

if [ ! -x "$BIN/buildx" ]; then
	echo "deps: building buildx $BUILDX_VERSION (cached in $BIN)" >&2
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cat >"$work/go.mod" <<MOD
module xdockerfile.local/buildx-tools

go 1.26

require github.com/docker/buildx $BUILDX_VERSION
MOD
	cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/docker/buildx/cmd/buildx"
GO
	(cd "$work" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
	 cd "$work" && GOFLAGS=-mod=mod go get github.com/docker/buildx@"$BUILDX_VERSION" >/dev/null
	 mkdir -p "$BIN.tmp"
	 cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o "$BIN.tmp/" github.com/docker/buildx/cmd/buildx)
	rm -rf "$BIN" && mkdir -p "$(dirname "$BIN")" && mv "$BIN.tmp" "$BIN"
fi
echo "$BIN/buildx"
