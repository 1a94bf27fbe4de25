#!/usr/bin/env bash
# The dynamic compliance audit: brings GAD up on loopback (gad serve on a fresh PostgreSQL+PostGIS
# database with the demo data, and Redis), calls every public endpoint and every OpenAPI
# operation, checks the database directly, and writes docs/COMPLIANCE_REPORT.md from that run.
#
#   scripts/compliance-audit.sh [path/to/gad]     (default: builds and uses target/debug/gad)
#
# Services: GAD_TEST_PG_URL (a superuser URL; default postgres://postgres@127.0.0.1:5432/postgres)
# and GAD_TEST_REDIS_URL (default redis://127.0.0.1:6379), as scripts/test.sh provides them.
# AUDIT_REPORT overrides the output file. Exit status 1 when any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${GAD_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${GAD_TEST_REDIS_URL:-redis://127.0.0.1:6379}
REPORT=${AUDIT_REPORT:-$PWD/docs/COMPLIANCE_REPORT.md}
log() { printf '[audit] %s\n' "$*"; }

if [ $# -ge 1 ]; then
  BIN=$1
else
  cargo build -q -p server --bin gad
  BIN=target/debug/gad
fi
[ -x "$BIN" ] || { echo "no gad binary at $BIN" >&2; exit 1; }
psql "$PG_URL" -X -q -c 'SELECT 1' >/dev/null \
  || { echo "PostgreSQL is not reachable at GAD_TEST_PG_URL ($PG_URL)" >&2; exit 1; }
[ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" = "PONG" ] \
  || { echo "Redis is not reachable at GAD_TEST_REDIS_URL ($REDIS_URL)" >&2; exit 1; }

# A throwaway database (the gad_t_ prefix is one scripts/test.sh cleans up after a crash).
DB=gad_t_audit_$(date +%s)_$$
DB_URL="${PG_URL%/*}/$DB"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
WORK=$(mktemp -d)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  psql "$PG_URL" -X -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql "$PG_URL" -X -q -c "CREATE DATABASE $DB" >/dev/null
log "gad serve on 127.0.0.1:$PORT, database $DB"
DATABASE_URL=$DB_URL REDIS_URL=$REDIS_URL GAD_LISTEN_ADDR=127.0.0.1:$PORT GAD_ADMIN_PASSWORD=$PASSWORD \
  GAD_DEMO_PASSWORD="$PASSWORD-demo" GAD_SEED_DEMO=true GAD_RATE_LIMIT_PER_MINUTE=100000 GAD_2FA_REQUIRED_ROLES=none \
  LEPTOS_SITE_ROOT=target/site LOG_FORMAT=json RUST_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done

set +e
AUDIT_BASE="http://127.0.0.1:$PORT" AUDIT_DATABASE_URL=$DB_URL AUDIT_ADMIN_PASSWORD=$PASSWORD \
  AUDIT_GAD_BIN=$BIN AUDIT_REPORT=$REPORT AUDIT_REDIS_URL=$REDIS_URL python3 scripts/compliance_audit.py
rc=$?
set -e
if grep -q '"level":"ERROR"' "$WORK/server.log"; then
  log "server errors during the audit:"
  grep '"level":"ERROR"' "$WORK/server.log" | tail -n 20 >&2
fi
exit $rc
