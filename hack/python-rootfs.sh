#!/usr/bin/env bash
# Makes a Debian bookworm root file system with python3, venv, pip, setuptools
# and wheel: the Python base image of the examples and end-to-end tests;
# with the argument "git", the same with git, for git dependencies
# (no container registry is reachable here, Debian's mirror is). Cached
# outside the checkout, keyed by its recipe version; prints its path.
set -euo pipefail
RECIPE=v1
CACHE=${XDOCKERFILE_CACHE:-/var/cache/xdockerfile}
ROOT="$CACHE/python-bookworm-$RECIPE"
EXTRA=
if [ "${1:-}" = git ]; then
	ROOT="$CACHE/python-bookworm-git-$RECIPE"
	EXTRA=,git
fi
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -f "$ROOT.complete" ]; then
	command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
	echo "python-rootfs: debootstrap bookworm into $ROOT" >&2
	rm -rf "$ROOT.tmp" && mkdir -p "$ROOT.tmp"
	debootstrap --variant=minbase \
		--include=python3,python3-venv,python3-pip,python3-setuptools,python3-wheel,ca-certificates$EXTRA \
		bookworm "$ROOT.tmp" "$MIRROR" >"$ROOT.log" 2>&1 ||
		{ tail -20 "$ROOT.log" >&2; exit 1; }
	# Slim it the way the python:slim images are slimmed.
	rm -rf "$ROOT.tmp"/var/cache/apt/archives/*.deb "$ROOT.tmp"/var/lib/apt/lists/* \
		"$ROOT.tmp"/usr/share/doc "$ROOT.tmp"/usr/share/man "$ROOT.tmp"/usr/share/locale
	rm -rf "$ROOT" && mv "$ROOT.tmp" "$ROOT" && touch "$ROOT.complete"
fi
echo "$ROOT"
