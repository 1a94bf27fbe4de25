#!/usr/bin/env bash
# Reproduces the figures in docs/PERFORMANCE.md against a release build on loopback.
#   scripts/bench.sh            /health throughput (wrk, 64 connections) and server memory
#   scripts/bench.sh --dashboard   server-side render of the overview (`/`) and the task list
#                               (`/tareas`, plain and filtered) with 10 000 tasks (wrk, 64
#                               connections, signed in; then one connection on `/tareas`), then
#                               REST change → visible in a browser (Playwright, 50 changes)
#   scripts/bench.sh --instructions [PATH…]   CPU instructions per render of the same pages (or
#                               of the paths given), counted by valgrind's callgrind (repeatable
#                               whatever else the machine does; BENCH_PROFILE_DIR=dir keeps
#                               each page's profile)
#   scripts/bench.sh --postgres   the production backend (PostgreSQL + PostGIS + Redis) at 10 k,
#                               100 k and 1 M tasks, cache warm and bypassed, beside the bare
#                               SQL of each query, then a mixed load (scripts/bench-postgres.sh)
# Needs: `cargo leptos build --release --split` done (scripts/run.sh does it), wrk and, for
# --instructions, valgrind (scripts/install-deps.sh --bench installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=health
[ "${1:-}" = "--postgres" ] && exec scripts/bench-postgres.sh
[ "${1:-}" = "--dashboard" ] && MODE=dashboard
[ "${1:-}" = "--instructions" ] && MODE=instructions

BIN=target/release/gad
PORT=${BENCH_PORT:-3300}
DURATION=${BENCH_DURATION:-20s}
[ -x "$BIN" ] || { echo "build first: cargo leptos build --release --split" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

WORK=$(mktemp -d)
PID=""
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Seeds the demo data and BENCH_TASKS tasks, starts the server (under the command given, if
# any) and signs in as the admin: sets PID and COOKIE.
start_seeded() {
  TASKS=${BENCH_TASKS:-10000}
  export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" GAD_ADMIN_PASSWORD=bench-password-123 \
    GAD_DEMO_PASSWORD=bench-password-123 LEPTOS_SITE_ROOT=target/site RUST_LOG=warn \
    GAD_RATE_LIMIT_PER_MINUTE=10000000 GAD_2FA_REQUIRED_ROLES=none
  echo "seeding the demo data and $TASKS tasks"
  "$BIN" seed-demo --tasks "$TASKS"
  GAD_LISTEN_ADDR="127.0.0.1:$PORT" "$@" "$BIN" serve >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
  curl -fs -c "$WORK/cookies" -o /dev/null -d "email=admin@gad.local&password=bench-password-123" \
    "http://127.0.0.1:$PORT/api/fn/login"
  COOKIE=$(awk '$6 == "gad_session" { print $7 }' "$WORK/cookies")
  [ -n "$COOKIE" ] || { echo "login failed" >&2; exit 1; }
}

if [ "$MODE" = instructions ]; then
  command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
  start_seeded valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out"
  N=20
  shift
  [ $# -gt 0 ] || set -- / /tareas "/tareas?priority=high&q=carga"
  for path in "$@"; do
    get() { curl -fs -o /dev/null -H "Cookie: gad_session=$COOKIE" "http://127.0.0.1:$PORT$path"; }
    for _ in $(seq 1 10); do get; done # warm: caches filled, first-use allocations done
    callgrind_control --zero "$PID" >/dev/null 2>&1
    for _ in $(seq 1 $N); do get; done
    rm -f "$WORK"/callgrind.out.*
    callgrind_control --dump "$PID" >/dev/null 2>&1
    total=$(awk '/^(summary|totals):/ { print $2; exit }' "$WORK"/callgrind.out.*)
    echo "$path: $((total / N)) instructions per request (mean of $N, whole server process)"
    # BENCH_PROFILE_DIR=dir keeps each profile for callgrind_annotate --inclusive=yes.
    if [ -n "${BENCH_PROFILE_DIR:-}" ]; then
      cp "$WORK"/callgrind.out.* "$BENCH_PROFILE_DIR/callgrind.$(echo "$path" | tr -c 'a-zA-Z0-9' _)"
    fi
  done
  exit 0
fi

if [ "$MODE" = dashboard ]; then
  start_seeded
  echo "machine: $(nproc) cores, $(uname -r)"
  echo "overview page size: $(curl -fs -H "Cookie: gad_session=$COOKIE" "http://127.0.0.1:$PORT/" | wc -c) bytes"
  echo
  echo "== wrk -t2 -c64 -d$DURATION --latency / (overview, signed in as admin)"
  wrk -t2 -c64 -d"$DURATION" --timeout 30s --latency -H "Cookie: gad_session=$COOKIE" "http://127.0.0.1:$PORT/"
  echo "task list page size: $(curl -fs -H "Cookie: gad_session=$COOKIE" "http://127.0.0.1:$PORT/tareas" | wc -c) bytes"
  for path in /tareas "/tareas?priority=high&q=carga"; do
    echo
    echo "== wrk -t2 -c64 -d$DURATION --latency $path (task list, first page of 50, signed in as admin)"
    wrk -t2 -c64 -d"$DURATION" --timeout 30s --latency -H "Cookie: gad_session=$COOKIE" "http://127.0.0.1:$PORT$path"
  done
  echo
  echo "== wrk -t1 -c1 -d10s --latency /tareas (one connection: the cost of one render)"
  wrk -t1 -c1 -d10s --latency -H "Cookie: gad_session=$COOKIE" "http://127.0.0.1:$PORT/tareas"
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  echo
  echo "== Playwright: REST status change → visible on the overview (release server)"
  export PATH="$PWD/tools/node_modules/.bin:$PATH"
  (cd end2end && GAD_BENCH=1 GAD_E2E_BIN=../$BIN GAD_E2E_PORT=$PORT npx playwright test tests/live-latency.spec.ts \
    --project=js --reporter=list) 2>&1 | grep -E "REST change|passed|failed"
  exit 0
fi

DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" GAD_LISTEN_ADDR="127.0.0.1:$PORT" \
  GAD_ADMIN_PASSWORD=bench-password-123 GAD_DEMO_PASSWORD=bench-password-123 GAD_SEED_DEMO=true GAD_2FA_REQUIRED_ROLES=none \
  LEPTOS_SITE_ROOT=target/site RUST_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

rss() { awk '/^VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$PID/status"; }
sleep 2
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "idle RSS after start: $(rss)"
echo
echo "== wrk -t2 -c64 -d$DURATION --latency /health"
wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$PORT/health"
echo
echo "RSS after the /health load: $(rss)"
sleep 5
echo "RSS 5 s later (idle): $(rss)"
