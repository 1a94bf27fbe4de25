#!/usr/bin/env bash
# Runs every test of GAD: the Rust tests (against real PostgreSQL+PostGIS and Redis) and the
# Playwright browser tests (with and without JavaScript) against a debug build of the server.
#
#   scripts/test.sh              everything (what CI runs)
#   scripts/test.sh --rust-only  cargo test only (with the database services)
#   scripts/test.sh --e2e-only   cargo leptos build + Playwright only (SQLite; no services)
#   (every mode ends with scripts/audit-deps.sh, the dependency audit, and scripts/check-ops.sh:
#   deployment and monitoring configuration; with the browser tests, scripts/smoke-compose.sh
#   starts the compose stack in a private Docker engine and deploys to it)
#   scripts/test.sh --private-services   never use the machine's PostgreSQL/Redis
#   scripts/test.sh --coverage   also measure line coverage of the Rust tests (cargo llvm-cov,
#                                scripts/coverage.sh) and fail below scripts/coverage-floor.txt
#                                (CI runs with it)
#   Extra arguments after `--` go to `cargo test` (e.g. `--rust-only -- tasks::`).
#
# Services: a PostgreSQL on 127.0.0.1:5432 that accepts `postgres` without a password and can
# create PostGIS is used as is (tests create their own databases there); otherwise a private
# throwaway cluster is started. The same for a Redis answering on 127.0.0.1:6379. Set
# GAD_TEST_PG_URL / GAD_TEST_REDIS_URL yourself to skip the detection. Private services are
# stopped and deleted on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

run_rust=true
run_e2e=true
coverage=false
shared_services=true
cargo_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rust-only) run_e2e=false ;;
    --e2e-only) run_rust=false ;;
    --private-services) shared_services=false ;;
    --coverage) coverage=true ;;
    --) shift; cargo_args=("$@"); break ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if ! $run_rust && ! $run_e2e; then
  echo "--rust-only and --e2e-only exclude each other" >&2
  exit 2
fi

export PATH="$ROOT/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

if [ -t 1 ]; then
  log() { printf '\033[1;34m[test]\033[0m %s\n' "$*"; }
else
  log() { printf '[test] %s\n' "$*"; }
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gad-test.XXXXXX")

# ---------------------------------------------------------------------------------------------
# Phases, their timings, the test counts, and the cleanup that runs on every exit.

SCRIPT_START=$SECONDS
PHASE=""
PHASE_START=0
PHASE_LINES=()
PASSED=0
FAILED=0
SKIPPED=0
COUNTED=false

phase_begin() {
  PHASE=$1
  PHASE_START=$SECONDS
  log "── $PHASE"
}

phase_end() {
  local secs=$((SECONDS - PHASE_START))
  PHASE_LINES+=("$(printf '  %-28s %6ss  ok' "$PHASE" "$secs")")
  log "── $PHASE done in ${secs}s"
  PHASE=""
}

PG_DIR=""
PG_BIN=""
PG_AS=()
REDIS_DIR=""
REDIS_PORT=""

# Tests create databases named gad_t_*, gad_tpl_*, gad_mig_* and gad_ent_*; on a shared server, drop them.
drop_test_databases() {
  local url=$1 db
  for db in $(psql "$url" -X -At -c "SELECT datname FROM pg_database WHERE datname ~ '^gad_(t|tpl|mig|ent)_'" 2>/dev/null); do
    psql "$url" -X -q -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
}

SHARED_PG_URL=""

cleanup_services() {
  if [ -n "$SHARED_PG_URL" ]; then
    drop_test_databases "$SHARED_PG_URL"
    SHARED_PG_URL=""
  fi
  if [ -n "$REDIS_DIR" ]; then
    if [ -f "$REDIS_DIR/redis.pid" ]; then
      kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true
    fi
    rm -rf "$REDIS_DIR"
    REDIS_DIR=""
  fi
  if [ -n "$PG_DIR" ]; then
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
      "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
    PG_DIR=""
  fi
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$PHASE" ]; then
    PHASE_LINES+=("$(printf '  %-28s %6ss  FAILED' "$PHASE" "$((SECONDS - PHASE_START))")")
  fi
  cleanup_services
  rm -rf "$WORK"
  echo
  log "summary"
  local line
  for line in ${PHASE_LINES[@]+"${PHASE_LINES[@]}"}; do echo "$line"; done
  printf '  %-28s %6ss  %s\n' "total" "$((SECONDS - SCRIPT_START))" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")"
  if $COUNTED; then
    if [ "$SKIPPED" -gt 0 ]; then
      echo "tests: $PASSED passed, $FAILED failed, $SKIPPED skipped"
    else
      echo "tests: $PASSED passed, $FAILED failed"
    fi
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Adds the counts of a cargo test log ("test result: ok. 3 passed; 0 failed; 1 ignored; …").
count_cargo() {
  local p f s
  read -r p f s < <(sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
    /^test result: / {
      for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^passed/) p += $i
        if ($(i+1) ~ /^failed/) f += $i
        if ($(i+1) ~ /^ignored/) s += $i
      }
    }
    END { print p+0, f+0, s+0 }')
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s)); COUNTED=true
}

# Adds the counts of Playwright's closing summary ("  10 passed (21.3s)", "  1 failed", …).
count_playwright() {
  local p f s
  read -r p f s < <(sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
    /^ +[0-9]+ (passed|flaky)/ { p += $1 }
    /^ +[0-9]+ (failed|interrupted)/ { f += $1 }
    /^ +[0-9]+ (skipped|did not run)/ { s += $1 }
    END { print p+0, f+0, s+0 }')
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s)); COUNTED=true
}

# ---------------------------------------------------------------------------------------------
# Services

port_in_use() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

free_port() {
  local port=$1
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port"
}

# True when URL reaches a superuser session on a server that can create PostGIS (the extension
# package for that server's major version is installed). Leaves nothing behind.
pg_usable() {
  PGCONNECT_TIMEOUT=5 psql "$1" -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
BEGIN;
DO $$ BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'not a superuser';
  END IF;
END $$;
CREATE EXTENSION IF NOT EXISTS postgis;
SELECT postgis_full_version();
ROLLBACK;
SQL
}

# The newest installed PostgreSQL that has PostGIS.
pg_version_with_postgis() {
  local dir ver best=""
  for dir in /usr/lib/postgresql/*/bin; do
    ver=$(basename "$(dirname "$dir")")
    if [ -x "$dir/initdb" ] && [ -f "/usr/share/postgresql/$ver/extension/postgis.control" ]; then
      if [ -z "$best" ] || [ "$ver" -gt "$best" ]; then best=$ver; fi
    fi
  done
  [ -n "$best" ] && echo "$best"
}

# A throwaway cluster in a temp dir: trust auth on 127.0.0.1 only, no durability (tests only).
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
start_private_pg() {
  local ver port
  if ! ver=$(pg_version_with_postgis); then
    echo "no PostgreSQL with PostGIS installed (run scripts/install-deps.sh --test)" >&2
    return 1
  fi
  PG_BIN=/usr/lib/postgresql/$ver/bin
  port=$(free_port 55432)
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gad-pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  log "starting a private PostgreSQL $ver on 127.0.0.1:$port ($PG_DIR)"
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  GAD_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  pg_usable "$GAD_TEST_PG_URL" || { echo "the private PostgreSQL cannot create PostGIS" >&2; return 1; }
}

redis_usable() { [ "$(timeout 5 redis-cli -u "$1" ping 2>/dev/null)" = "PONG" ]; }

start_private_redis() {
  REDIS_PORT=$(free_port 56379)
  REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gad-redis.XXXXXX")
  log "starting a private Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" \
    --logfile "$REDIS_DIR/redis.log"
  GAD_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  for _ in $(seq 1 50); do
    redis_usable "$GAD_TEST_REDIS_URL" && return 0
    sleep 0.1
  done
  cat "$REDIS_DIR/redis.log" >&2
  return 1
}

services() {
  if [ -n "${GAD_TEST_PG_URL:-}" ]; then
    log "PostgreSQL: GAD_TEST_PG_URL from the environment"
  elif $shared_services && pg_isready -q -h 127.0.0.1 -p 5432 -t 3 \
    && pg_usable "postgres://postgres@127.0.0.1:5432/postgres"; then
    GAD_TEST_PG_URL="postgres://postgres@127.0.0.1:5432/postgres"
    SHARED_PG_URL=$GAD_TEST_PG_URL
    log "PostgreSQL: using the server on 127.0.0.1:5432"
  else
    start_private_pg
  fi
  if [ -n "${GAD_TEST_REDIS_URL:-}" ]; then
    log "Redis: GAD_TEST_REDIS_URL from the environment"
  elif $shared_services && redis_usable "redis://127.0.0.1:6379"; then
    GAD_TEST_REDIS_URL="redis://127.0.0.1:6379"
    log "Redis: using the server on 127.0.0.1:6379"
  else
    start_private_redis
  fi
  export GAD_TEST_PG_URL GAD_TEST_REDIS_URL
}

# ---------------------------------------------------------------------------------------------
# Phases

phase_begin "dependencies"
scripts/install-deps.sh --test
phase_end

# After a failed `cargo test`: why, and each failed test once more, alone (FLAKY if it passes).
# shellcheck source=scripts/retry-failed-tests.sh
source scripts/retry-failed-tests.sh

# After a failed browser run: runs the failed tests once more (`--last-failed`) against a fresh
# server and database. Passes only when all of them pass; each is then named as FLAKY, loudly,
# as above. A run that failed without naming a failed test (a build or server error) is never
# retried.
retry_failed_browser_tests() {
  local log=$1 names n
  names=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
    /^ +[0-9]+ (failed|interrupted)$/ { listing = 1; next }
    listing && /^ +\[/ { sub(/^ +/, ""); print; next }
    { listing = 0 }')
  [ -n "$names" ] || return 1
  n=$(wc -l <<< "$names")
  echo "[test] running the $n failed browser test(s) once more, on a fresh server:"
  echo "$names"
  if ! (cd end2end && npx playwright test --last-failed) > "$WORK/playwright-retry.log" 2>&1; then
    tail -80 "$WORK/playwright-retry.log"
    echo "[test] the browser tests failed again" >&2
    return 1
  fi
  while read -r name; do
    echo "[test] FLAKY: $name failed once and passed on a fresh server; fix it" >&2
  done <<< "$names"
  FAILED=$((FAILED - n)); PASSED=$((PASSED + n))
}

if $run_rust; then
  phase_begin "services"
  services
  phase_end

  # Plain `cargo test` builds the workspace's default-members: `frontend` (hydrate) stays out,
  # so `app` is never compiled with `ssr` and `hydrate` together.
  phase_begin "cargo test"
  locked=()
  [ -f Cargo.lock ] && locked=(--locked)
  set +e
  # With the flag cargo-leptos gives every build (type-erased views, as the server ships), and
  # spelled as it spells it (appended to RUSTFLAGS), so the browser-test build after this one
  # reuses every compiled dependency instead of compiling them all a second time.
  RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components" \
    cargo test --no-fail-fast ${locked[@]+"${locked[@]}"} ${cargo_args[@]+"${cargo_args[@]}"} 2>&1 | tee "$WORK/cargo-test.log"
  rc=${PIPESTATUS[0]}
  set -e
  count_cargo "$WORK/cargo-test.log"
  if [ "$rc" -ne 0 ]; then
    RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components" \
      retry_failed_tests "$WORK/cargo-test.log" "$WORK" cargo test ${locked[@]+"${locked[@]}"} || exit "$rc"
    FAILED=$((FAILED - FLAKY_COUNT)); PASSED=$((PASSED + FLAKY_COUNT))
  fi
  phase_end

  # The same tests again, instrumented: line coverage of the services, the bot and the whole
  # workspace, against the floors (a separate build, in target/llvm-cov-target).
  if $coverage; then
    phase_begin "coverage (cargo llvm-cov)"
    scripts/coverage.sh ${cargo_args[@]+"${cargo_args[@]}"}
    phase_end
  fi

  # The dynamic audit (every public endpoint, the OpenAPI contract, the database) on the
  # binary cargo test built; the committed docs/COMPLIANCE_REPORT.md comes from the same script.
  phase_begin "compliance audit"
  AUDIT_REPORT="$WORK/COMPLIANCE_REPORT.md" scripts/compliance-audit.sh target/debug/gad
  # The committed report must list what a fresh run checks, with the same outcomes; when it
  # does not, the fresh one is written over it (commit it) and the phase fails.
  if ! scripts/compliance_compare.py docs/COMPLIANCE_REPORT.md "$WORK/COMPLIANCE_REPORT.md"; then
    cp "$WORK/COMPLIANCE_REPORT.md" docs/COMPLIANCE_REPORT.md
    echo "docs/COMPLIANCE_REPORT.md was stale; the fresh run's report is now in its place: commit it" >&2
    false
  fi
  phase_end
fi

if $run_e2e; then
  phase_begin "cargo leptos build (debug)"
  cargo leptos build --split
  phase_end

  phase_begin "playwright (js + nojs)"
  set +e
  (cd end2end && npx playwright test) 2>&1 | tee "$WORK/playwright.log"
  rc=${PIPESTATUS[0]}
  set -e
  count_playwright "$WORK/playwright.log"
  if [ "$rc" -ne 0 ]; then
    retry_failed_browser_tests "$WORK/playwright.log" || exit "$rc"
  fi
  phase_end

  # Schema-driven fuzzing of the REST API against the same build: any 5xx fails.
  phase_begin "api fuzz (schemathesis)"
  scripts/fuzz-api.sh target/debug/gad
  phase_end

  # The whole stack of docker-compose.yml in a private Docker engine (images of this build),
  # and deploy/deploy.sh's deploys and rollback against it. Root only (a private dockerd).
  phase_begin "compose stack and deploys (smoke)"
  if [ "$(id -u)" -eq 0 ]; then
    # A failed smoke runs once more from the start (its own engine and stack); passing then is
    # named FLAKY, loudly, as for the tests above.
    scripts/smoke-compose.sh || {
      echo "[test] the compose smoke failed; running it once more from the start"
      scripts/smoke-compose.sh && echo "[test] FLAKY: the compose smoke failed once and passed on a second run; fix it" >&2
    }
  else
    echo "[test] skipped: the compose smoke test needs root (a private dockerd)"
  fi
  phase_end
fi

# Known vulnerabilities, licences, duplicate versions and sources of every dependency.
phase_begin "dependency audit"
scripts/audit-deps.sh
phase_end

# Deployment and monitoring configuration, checked by the real tools (promtool, amtool, Compose,
# Caddy, shellcheck, actionlint) and against a real scrape of the built `gad`.
phase_begin "ops checks"
scripts/check-ops.sh
phase_end
