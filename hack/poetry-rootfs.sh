#!/usr/bin/env bash
# Makes the Debian trixie (Python 3.13) root file systems of `make bench`
# (no container registry is reachable here, Debian's mirror is):
#
#   <cache>/python-trixie-<recipe>         python3, python3-venv, python3-pip, ca-certificates
#   <cache>/python-trixie-<recipe>-poetry  only what installing python3-poetry and
#                                          python3-poetry-plugin-export adds on top of it
#
# The second is an overlayfs upper directory, so an image can layer it on the
# first and the two layer sizes compare. PyPI is unreachable: Poetry comes
# from Debian. Cached outside the checkout, keyed by the recipe version;
# prints the two paths, one a line.
set -euo pipefail
RECIPE=v1
CACHE=${XDOCKERFILE_CACHE:-/var/cache/xdockerfile}
ROOT="$CACHE/python-trixie-$RECIPE"
POETRY="$ROOT-poetry"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LOG="$CACHE/poetry-rootfs.log"
mkdir -p "$CACHE"

slim() { # the way the python:slim images are slimmed
	rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* \
		"$1"/usr/share/doc "$1"/usr/share/man "$1"/usr/share/locale
}

if [ ! -f "$ROOT.complete" ]; then
	command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
	echo "poetry-rootfs: debootstrap trixie into $ROOT" >&2
	rm -rf "$ROOT.tmp" && mkdir -p "$ROOT.tmp"
	debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
		trixie "$ROOT.tmp" "$MIRROR" >"$LOG" 2>&1 || { tail -20 "$LOG" >&2; exit 1; }
	slim "$ROOT.tmp"
	rm -rf "$ROOT" && mv "$ROOT.tmp" "$ROOT" && touch "$ROOT.complete"
	rm -f "$POETRY.complete"
fi

if [ ! -f "$POETRY.complete" ]; then
	echo "poetry-rootfs: apt-get install python3-poetry python3-poetry-plugin-export over $ROOT" >&2
	work=$(mktemp -d /var/tmp/poetry-rootfs.XXXXXX)
	cleanup() {
		umount "$work/merged/proc" 2>/dev/null || true
		umount "$work/merged" 2>/dev/null || true
		rm -rf "$work"
	}
	trap cleanup EXIT
	rm -rf "$POETRY.tmp" && mkdir -p "$POETRY.tmp" "$work/merged" "$work/overlay-work"
	mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$POETRY.tmp,workdir=$work/overlay-work" "$work/merged"
	mount -t proc proc "$work/merged/proc"
	cp /etc/resolv.conf "$work/merged/etc/resolv.conf" 2>/dev/null || true
	{
		chroot "$work/merged" apt-get update &&
			DEBIAN_FRONTEND=noninteractive chroot "$work/merged" apt-get install -y --no-install-recommends \
				python3-poetry python3-poetry-plugin-export &&
			chroot "$work/merged" poetry --version
	} >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; exit 1; }
	slim "$work/merged"
	umount "$work/merged/proc"
	umount "$work/merged"
	# Whiteouts (character devices) and opaque markers mean "deleted below":
	# nothing an image layer made by COPY needs.
	find "$POETRY.tmp" -type c -delete
	rm -rf "$POETRY.tmp/proc" "$POETRY.tmp/etc/resolv.conf" "$POETRY.tmp/var/lib/apt/lists" \
		"$POETRY.tmp/var/cache/apt" "$POETRY.tmp/var/log"
	rm -rf "$POETRY" && mv "$POETRY.tmp" "$POETRY" && touch "$POETRY.complete"
fi
echo "$ROOT"
echo "$POETRY"
