#!/usr/bin/env bash
# Reproduces the figures in docs/PERFORMANCE.md against a release build on loopback.
#   scripts/bench.sh            /health throughput (wrk, 64 connections) and server memory
# Needs: `cargo leptos build --release` done (scripts/run.sh does it) and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release/gad
PORT=${BENCH_PORT:-3300}
DURATION=${BENCH_DURATION:-20s}
[ -x "$BIN" ] || { echo "build first: cargo leptos build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" GAD_LISTEN_ADDR="127.0.0.1:$PORT" \
  GAD_ADMIN_PASSWORD=bench-password-123 GAD_DEMO_PASSWORD=bench-password-123 GAD_SEED_DEMO=true \
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
