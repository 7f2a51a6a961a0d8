#!/usr/bin/env bash
# Makes a Debian bookworm root file system with python3, venv, pip, setuptools,
# wheel and git: the Python base image of the examples and end-to-end tests
# (no container registry is reachable here, Debian's mirror is). Cached
# outside the checkout, keyed by its recipe version; prints its path.
set -euo pipefail
RECIPE=v2
CACHE=${XDOCKERFILE_CACHE:-/var/cache/xdockerfile}
ROOT="$CACHE/python-bookworm-$RECIPE"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -f "$ROOT.complete" ]; then
	command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
	echo "python-rootfs: debootstrap bookworm into $ROOT" >&2
	rm -rf "$ROOT.tmp" && mkdir -p "$ROOT.tmp"
	debootstrap --variant=minbase \
		--include=python3,python3-venv,python3-pip,python3-setuptools,python3-wheel,ca-certificates,git \
		bookworm "$ROOT.tmp" "$MIRROR" >"$CACHE/python-rootfs.log" 2>&1 ||
		{ tail -20 "$CACHE/python-rootfs.log" >&2; exit 1; }
	# Slim it the way the python:slim images are slimmed.
	rm -rf "$ROOT.tmp"/var/cache/apt/archives/*.deb "$ROOT.tmp"/var/lib/apt/lists/* \
		"$ROOT.tmp"/usr/share/doc "$ROOT.tmp"/usr/share/man "$ROOT.tmp"/usr/share/locale
	rm -rf "$ROOT" && mv "$ROOT.tmp" "$ROOT" && touch "$ROOT.complete"
fi
echo "$ROOT"
