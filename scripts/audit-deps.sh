#!/usr/bin/env bash
# Dependency audit: known vulnerabilities, licences, duplicate versions and sources of the Rust
# crates (cargo deny, deny.toml), and known vulnerabilities of the npm packages GAD ships or
# builds with (npm audit, tools/ and end2end/). A known vulnerability fails.
#
# The advisory databases live on the network (RustSec on GitHub, npm's audit endpoint). Where
# one cannot be reached (an offline build machine), that check says so and is skipped; the
# licence, duplicate and source checks need nothing but the lock file and always run.
#   GAD_AUDIT_REQUIRE_ADVISORIES=1   fail instead of skipping (CI with network access)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[audit] %s\n' "$*"; }
require_advisories=${GAD_AUDIT_REQUIRE_ADVISORIES:-0}
unreachable() {
  if [ "$require_advisories" = 1 ]; then
    log "FAILED: $1"
    exit 1
  fi
  log "skipped: $1"
}

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-deny >/dev/null || { echo "cargo-deny missing: run scripts/install-deps.sh --test" >&2; exit 1; }

cargo deny --locked check bans licenses sources
# `cargo deny fetch` clones or updates the RustSec database; offline it fails fast.
if timeout 120 cargo deny --locked fetch db >/dev/null 2>&1; then
  cargo deny --locked check --disable-fetch advisories
else
  unreachable "RustSec advisories: the advisory database (github.com/rustsec/advisory-db) is unreachable"
fi

for dir in tools end2end; do
  if out=$(cd "$dir" && timeout 120 npm audit --audit-level=low 2>&1); then
    log "npm audit ($dir/): no known vulnerabilities"
  elif grep -q "audit endpoint returned an error\|ENOTFOUND\|ECONNREFUSED\|ETIMEDOUT\|EAI_AGAIN" <<<"$out"; then
    unreachable "npm audit ($dir/): the registry's audit endpoint is unreachable"
  else
    printf '%s\n' "$out"
    log "FAILED: npm audit ($dir/) found vulnerabilities"
    exit 1
  fi
done
log "dependency audit passed"
