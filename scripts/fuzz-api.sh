#!/usr/bin/env bash
# Schema-driven fuzzing of the REST API: schemathesis generates requests from the OpenAPI
# document GAD serves and fails on any 5xx answer. It runs against a built server on a fresh
# SQLite database with the demo data, authenticated as the admin (the widest surface).
#
#   scripts/fuzz-api.sh [target/debug/gad]     (scripts/test.sh runs it after the e2e build)
# Env: FUZZ_MAX_EXAMPLES (default 30 per operation), FUZZ_PORT (default 3200), FUZZ_SEED.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/debug/gad}
PORT=${FUZZ_PORT:-3200}
BASE="http://127.0.0.1:$PORT"
[ -x "$BIN" ] || { echo "build first (cargo leptos build --split): $BIN is missing" >&2; exit 1; }

if [ ! -x tools/.venv/bin/st ] || ! cmp -s tools/requirements-fuzz.txt tools/.venv/requirements-fuzz.txt; then
  echo "[fuzz] installing schemathesis (PyPI) into tools/.venv"
  python3 -m venv tools/.venv
  tools/.venv/bin/pip install -q -r tools/requirements-fuzz.txt
  cp tools/requirements-fuzz.txt tools/.venv/requirements-fuzz.txt
fi

WORK=$(mktemp -d)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

PASSWORD=fuzz-admin-password
DATABASE_URL="sqlite://$WORK/fuzz.db?mode=rwc" GAD_LISTEN_ADDR="127.0.0.1:$PORT" GAD_ADMIN_PASSWORD=$PASSWORD \
  GAD_DEMO_PASSWORD=fuzz-demo-password GAD_SEED_DEMO=true GAD_RATE_LIMIT_PER_MINUTE=1000000 GAD_2FA_REQUIRED_ROLES=none \
  LEPTOS_SITE_ROOT=target/site RUST_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/health" >/dev/null && break; sleep 0.1; done

# A personal token for the admin, made through the API itself.
curl -fs -c "$WORK/jar" -H 'Accept: application/json' --data-urlencode "email=admin@gad.local" \
  --data-urlencode "password=$PASSWORD" "$BASE/api/fn/login" >/dev/null
ADMIN_ID=$(curl -fs -b "$WORK/jar" "$BASE/api/v1/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
TOKEN=$(curl -fs -b "$WORK/jar" -H 'Content-Type: application/json' -d '{"name":"fuzz"}' \
  "$BASE/api/v1/users/$ADMIN_ID/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

set +e
tools/.venv/bin/st run "$BASE/api/v1/openapi.json" --url "$BASE/api/v1" \
  -H "Authorization: Bearer $TOKEN" --checks not_a_server_error \
  --max-examples "${FUZZ_MAX_EXAMPLES:-30}" ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
  --workers 1 --request-timeout 10 --phases examples,coverage,fuzzing --no-color
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "[fuzz] server log (last lines):" >&2
  tail -n 40 "$WORK/server.log" >&2
fi
exit $rc
