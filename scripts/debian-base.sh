#!/usr/bin/env bash
# Prints the path of a minimal Debian 12 root file system as a tar file, made once with
# debootstrap from Debian's mirror and cached (~/.cache/gad-smoke): the base of the compose
# smoke test's images and of the throwaway server scripts/check-setup-server.sh prepares.
set -euo pipefail
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/gad-smoke
BASE_TAR=$CACHE/debian-bookworm-minbase.tar
if [ ! -s "$BASE_TAR" ]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  mkdir -p "$CACHE"
  work=$(mktemp -d "${TMPDIR:-/tmp}/gad-debootstrap.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "debootstrap: a minimal Debian 12 (once; cached in $BASE_TAR)" >&2
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb
  tar -C "$work/rootfs" -cf "$BASE_TAR.tmp" .
  mv "$BASE_TAR.tmp" "$BASE_TAR"
fi
echo "$BASE_TAR"
