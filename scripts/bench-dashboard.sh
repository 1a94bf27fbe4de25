#!/usr/bin/env bash
# Reproduces the "Dashboard" figures of docs/PERFORMANCE.md against a release build:
#   - WASM bundle size (raw, gzip, brotli when `brotli` is installed);
#   - server-side render time of the task list (/tareas, first page of 50) with 10 000 tasks
#     in the database, wrk -t2 -c64 on loopback, signed in as the admin.
# Needs: `cargo leptos build --release --split`, wrk, python3. Seeding goes through the REST API
# (scripts/seed-tasks.py), so every task is a real one (code, history, audit row).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release/gad
PORT=${BENCH_PORT:-3301}
DURATION=${BENCH_DURATION:-20s}
TASKS=${BENCH_TASKS:-10000}
PASSWORD=bench-password-123
[ -x "$BIN" ] || { echo "build first: cargo leptos build --release --split" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

echo "== WASM bundle (target/site/pkg)"
WASM=$(find target/site/pkg -maxdepth 1 -name 'gad*.wasm' | head -n1)
echo "gad.wasm raw:    $(stat -c %s "$WASM") B"
echo "gad.wasm gzip-9: $(gzip -9 -c "$WASM" | wc -c) B"
if command -v brotli >/dev/null; then
  echo "gad.wasm brotli: $(brotli -c -q 11 "$WASM" | wc -c) B"
else # Node's zlib, quality 11 as well
  node -e "const z=require('zlib');const b=require('fs').readFileSync(process.argv[1]);console.log('gad.wasm brotli: '+z.brotliCompressSync(b,{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length+' B')" "$WASM"
fi
echo

WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" GAD_LISTEN_ADDR="127.0.0.1:$PORT" \
  GAD_ADMIN_PASSWORD=$PASSWORD GAD_DEMO_PASSWORD=$PASSWORD GAD_SEED_DEMO=true \
  GAD_RATE_LIMIT_PER_MINUTE=10000000 GAD_2FA_REQUIRED_ROLES=none LEPTOS_SITE_ROOT=target/site RUST_LOG=warn \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

echo "== seeding $TASKS tasks through REST"
SECONDS=0
COOKIE=$(python3 scripts/seed-tasks.py "http://127.0.0.1:$PORT" admin@gad.local "$PASSWORD" "$TASKS" | tail -1)
echo "seeded in ${SECONDS}s"
curl -fs -o /dev/null -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/tareas" || { echo "the page does not answer" >&2; exit 1; }
echo
echo "== wrk -t2 -c64 -d$DURATION --latency /tareas (SSR, first page of 50 of $((TASKS + 10)) tasks)"
wrk -t2 -c64 -d"$DURATION" --latency -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/tareas"
echo
echo "== the same with a filter (priority=high, text search)"
wrk -t2 -c64 -d"$DURATION" --latency -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/tareas?priority=high&q=carga"
