#!/usr/bin/env bash
# The production backend under load (scripts/bench.sh --postgres): a private PostgreSQL
# (PostGIS, pg_stat_statements) and Redis, BENCH_OFFICERS officers (100 000) and, in turn,
# each of BENCH_SIZES tasks (10 000 100 000 1 000000), against two release servers on the same
# database: one with its view cache, one without (GAD_VIEW_CACHE=false). For each endpoint:
# wrk's req/s, p50 and p99, the SQL statements per request (pg_stat_statements) and, beside
# it, pgbench's TPS for the bare SQL of the same query, measured in the same sitting.
# Then the mixed load of an operations room (64 dashboard readers, 200 officers reporting
# every 10 s, 5 task writes a second) with p50/p99 per route, and the server's memory.
#   BENCH_SIZES="10000" BENCH_DURATION=10s scripts/bench.sh --postgres
#   BENCH_OVERVIEW_ONLY=1: per size only the statistics and overview rows, then the mixed load.
#   BENCH_MIXED_ONLY=1: per size only the seed, then the mixed load.
#   BENCH_WRITES_ONLY=1: per size only the create and transition rows (then the mixed load).
#   BENCH_MIXED_VARIANTS="BIN:LIMIT …": the mixed load once per binary and read admission limit
#     (GAD_MAX_CONCURRENT_READS), one after the other in this sitting: an A/B of two builds.
# Needs: a release build (`cargo build --release -p server --bin gad`), wrk, PostgreSQL 15
# with PostGIS, pgbench (scripts/install-deps.sh --bench), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${GAD_BENCH_BIN:-target/release/gad}
DURATION=${BENCH_DURATION:-10s}
SIZES=${BENCH_SIZES:-"10000 100000 1000000"}
OFFICERS=${BENCH_OFFICERS:-100000}
MIXED_SECONDS=${BENCH_MIXED_SECONDS:-30}
PASSWORD=bench-password-123
[ -x "$BIN" ] || { echo "build first: cargo build --release -p server --bin gad" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
PG_BIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)

WORK=$(mktemp -d /tmp/gad-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
AS=()
[ "$(id -u)" -eq 0 ] && AS=(runuser -u postgres --)
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true
  if [ -f "$WORK/redis.pid" ]; then kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- services: a durable PostgreSQL (fsync on, as in production) with pg_stat_statements.
PG_PORT=$(free_port)
mkdir -p "$WORK/pg"
[ ${#AS[@]} -gt 0 ] && chown postgres:postgres "$WORK/pg"
"${AS[@]}" "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -t 60 -o "-p $PG_PORT -k $WORK/pg \
  -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=1GB -c work_mem=16MB \
  -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all \
  -c random_page_cost=1.1" start >/dev/null
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --dir "$WORK" --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
PG="postgres://postgres@127.0.0.1:$PG_PORT/gad"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -c "CREATE DATABASE gad"
psql "$PG" -c "CREATE EXTENSION pg_stat_statements"

export DATABASE_URL=$PG REDIS_URL="redis://127.0.0.1:$REDIS_PORT" GAD_ADMIN_PASSWORD=$PASSWORD \
  GAD_DEMO_PASSWORD=$PASSWORD LEPTOS_SITE_ROOT=target/site RUST_LOG=warn \
  GAD_RATE_LIMIT_PER_MINUTE=100000000 GAD_2FA_REQUIRED_ROLES=none
"$BIN" migrate >/dev/null
"$BIN" create-admin >/dev/null
"$BIN" seed-demo >/dev/null
echo "seeding $OFFICERS officers"
psql "$PG" -v from=1 -v to=0 -v officers="$OFFICERS" -f scripts/bench-seed.sql >/dev/null

# The seed's own VACUUM has been seen to leave the visibility map empty (it cannot mark rows
# visible to all while an older snapshot is open — most likely an autovacuum begun during the
# seed's long transaction; not established): index-only scans then read the table, as in no
# settled production database. Vacuum until the visibility map covers the tables.
settle() {
  for _ in $(seq 1 30); do
    psql "$PG" -c "VACUUM tasks" -c "VACUUM officers" -c "VACUUM task_assignments" >/dev/null
    [ "$(psql "$PG" -Atc "SELECT bool_and(relallvisible * 10 >= relpages * 9) FROM pg_class
      WHERE relname IN ('tasks', 'officers', 'task_assignments')")" = t ] && return 0
    sleep 2
  done
  echo "warning: the visibility map stayed incomplete: index-only scans will read the table" >&2
}
settle

# --- helpers
cat >"$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("WRK %.0f %.1f %.1f %d %d\n", summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad, summary.requests))
end
LUA
# wrk.format replaces wrk's headers (-H) with the ones it is given: keep the cookie.
cat >>"$WORK/report.lua" <<'LUA'
json_headers = function()
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["Content-Type"] = "application/json"
  return h
end
LUA
cat "$WORK/report.lua" - >"$WORK/create.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"title":"Bench %d-%d","task_type":"patrol","priority":"medium",' ..
    '"lat":-34.60,"lon":-58.40,"description":"Alta desde wrk"}', math.random(1, 1e9), n)
  return wrk.format("POST", "/api/v1/tasks", json_headers(), body)
end
LUA
# Transitions: each thread pauses, then resumes, its own slice of in-progress tasks.
cat "$WORK/report.lua" - >"$WORK/transition.lua" <<'LUA'
local ids, n = {}, 0
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("slice", threads) end
init = function(args)
  local file = io.open(os.getenv("BENCH_IDS"))
  local all = {}
  for line in file:lines() do all[#all + 1] = line end
  file:close()
  for i = slice, #all, 2 do ids[#ids + 1] = all[i] end
end
request = function()
  local id = ids[n % #ids + 1]
  local to = (math.floor(n / #ids) % 2 == 0) and "paused" or "in_progress"
  n = n + 1
  return wrk.format("POST", "/api/v1/tasks/" .. id .. "/transitions", json_headers(), '{"to":"' .. to .. '"}')
end
LUA

# Starts `gad serve` on a free port with the environment given; sets PORT_<name> and PID_<name>.
PORT_warm='' PORT_cold='' PORT_mixed='' PID_warm='' PID_cold='' PID_mixed=''
start_server() {
  local name=$1 port; shift
  port=$(free_port)
  env GAD_LISTEN_ADDR="127.0.0.1:$port" "$@" "${SERVER_BIN:-$BIN}" serve >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  printf -v "PID_$name" '%s' "$!"
  printf -v "PORT_$name" '%s' "$port"
  for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && return 0; sleep 0.1; done
  echo "$name did not start" >&2; cat "$WORK/$name.log" >&2; exit 1
}
stop_servers() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; PIDS=(); }
login() {
  curl -fs -c "$WORK/cookies" -o /dev/null -d "email=admin@gad.local&password=$PASSWORD" "http://127.0.0.1:$1/api/fn/login"
  awk '$6 == "gad_session" { print $7 }' "$WORK/cookies"
}
rss() { awk '/^VmRSS/ { printf "%.0f MB", $2 / 1024 }' "/proc/$1/status"; }
stat_reset() { psql "$PG" -Atc "SELECT pg_stat_statements_reset()" >/dev/null; }
# BENCH_STATEMENTS=1: after each row, the statements it ran (calls per request) on stderr.
top_statements() {
  [ -n "${BENCH_STATEMENTS:-}" ] || return 0
  echo "statements of: $1" >&2
  # (max: a row none of whose requests completed has nothing to divide by)
  psql "$PG" -At -F ' | ' -c "SELECT round(calls::numeric / $(( $2 > 0 ? $2 : 1 )), 2), round((mean_exec_time + mean_plan_time)::numeric, 3) AS ms,
      left(regexp_replace(query, '\s+', ' ', 'g'), 150)
    FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC LIMIT 30" >&2
}
stat_calls() { psql "$PG" -Atc "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'"; }

# bench LABEL PORT COOKIE PATH [CONNECTIONS [SCRIPT]] → a table row (req/s, p50, p99,
# statements per request).
bench() {
  local label=$1 port=$2 cookie=$3 path=$4 conns=${5:-64} script=${6:-$WORK/report.lua} out calls
  stat_reset
  out=$(wrk -t2 -c"$conns" -d"$DURATION" --timeout 10s -s "$script" -H "Cookie: gad_session=$cookie" \
    -H "Accept: application/json" "http://127.0.0.1:$port$path" | grep '^WRK')
  calls=$(stat_calls)
  read -r _ rps p50 p99 bad total <<<"$out"
  top_statements "$label" "$total"
  printf "| %s | %s | %s ms | %s ms | %s | %s |\n" "$label" "$rps" "$p50" "$p99" "$bad" \
    "$(awk -v c="$calls" -v t="$total" 'BEGIN { printf "%.1f", t ? c / t : 0 }')"
}

# pgbench LABEL FILE [CONNECTIONS [MODE]]: the bare query's TPS (2 threads, as GAD's pool; JIT
# off, as on GAD's connections; MODE prepared — generic plans after a connection's fifth
# call — or simple: a custom plan every call, as a connection's first calls get).
bare() {
  local tps
  tps=$(PGOPTIONS='-c jit=off' "$PG_BIN/pgbench" -n -M "${4:-prepared}" -c "${3:-16}" -j 2 -T "${DURATION%s}" -f "$2" "$PG" 2>/dev/null \
    | awk '/^tps/ { printf "%.0f", $3 }')
  printf "| %s (bare SQL, pgbench) | %s TPS | | | | |\n" "$1" "$tps"
}

# The four queries of 14 days' statistics as `services::stats::PeriodQueries` writes them on
# PostgreSQL (the admin's scope: every task), one script.
cat >"$WORK/stats.sql" <<'SQL'
SELECT status, task_type, priority, supervisor_id, COUNT(*) FROM tasks WHERE deleted_at IS NULL
  AND COALESCE(scheduled_start, actual_start, created_at) >= (date_trunc('day', now()) - interval '13 days') AND COALESCE(scheduled_start, actual_start, created_at) < (date_trunc('day', now()) + interval '1 day')
  GROUP BY status, task_type, priority, supervisor_id;
SELECT FLOOR(date_part('epoch', COALESCE(scheduled_start, actual_start, created_at)) / 900)::bigint, COUNT(*) FROM tasks
  WHERE deleted_at IS NULL AND COALESCE(scheduled_start, actual_start, created_at) >= (date_trunc('day', now()) - interval '13 days')
  AND COALESCE(scheduled_start, actual_start, created_at) < (date_trunc('day', now()) + interval '1 day') GROUP BY 1;
SELECT supervisor_id, FLOOR(date_part('epoch', actual_end) / 900)::bigint, COUNT(*) FROM tasks
  WHERE deleted_at IS NULL AND status = 'completed' AND actual_end >= (date_trunc('day', now()) - interval '13 days') AND actual_end < (date_trunc('day', now()) + interval '1 day') GROUP BY 1, 2;
SELECT GREATEST(TRUNC(date_part('epoch', actual_end - actual_start))::bigint - paused_seconds, 0), COUNT(*) FROM tasks
  WHERE deleted_at IS NULL AND status = 'completed' AND actual_end >= (date_trunc('day', now()) - interval '13 days') AND actual_end < (date_trunc('day', now()) + interval '1 day')
  AND actual_start IS NOT NULL GROUP BY 1 ORDER BY 1;
SQL
# GAD's list page as `services::tasks::page_query` writes it: the summary's columns and each
# task's officers in one statement.
cat >"$WORK/list.sql" <<'SQL'
SELECT "tasks"."id", "tasks"."code", "tasks"."title", "tasks"."task_type", "tasks"."priority", "tasks"."status",
  "tasks"."scheduled_start", "tasks"."scheduled_end", "tasks"."supervisor_id", "tasks"."lat", "tasks"."lon",
  "tasks"."location_text", "tasks"."sla_due_at", "tasks"."created_at",
  (SELECT json_agg(json_build_array(o.id, o.first_name || ' ' || o.last_name) ORDER BY a.id)::text
   FROM task_assignments a JOIN officers o ON o.id = a.officer_id
   WHERE a.task_id = "tasks"."id" AND o.deleted_at IS NULL) AS "officers"
FROM "tasks" WHERE "tasks"."deleted_at" IS NULL
ORDER BY "tasks"."scheduled_start" IS NULL ASC, "tasks"."scheduled_start" ASC, "tasks"."id" ASC LIMIT 51;
SQL
# The bare query of the runs before the officers joined it (whole rows, officers read apart).
cat >"$WORK/list-rows.sql" <<'SQL'
SELECT * FROM tasks WHERE deleted_at IS NULL ORDER BY (scheduled_start IS NULL), scheduled_start, id LIMIT 51;
SQL
# GAD's search of a common text as `services::tasks::search_window_query` writes it: the
# list's first 1 000 rows in order, the text looked for among them, each match's officers.
cat >"$WORK/search.sql" <<'SQL'
SELECT "tasks".*, (SELECT json_agg(json_build_array(o.id, o.first_name || ' ' || o.last_name) ORDER BY a.id)::text
   FROM task_assignments a JOIN officers o ON o.id = a.officer_id
   WHERE a.task_id = "tasks"."id" AND o.deleted_at IS NULL) AS "officers"
FROM (SELECT "tasks"."id", "tasks"."code", "tasks"."title", "tasks"."task_type", "tasks"."priority", "tasks"."status",
  "tasks"."scheduled_start", "tasks"."scheduled_end", "tasks"."supervisor_id", "tasks"."lat", "tasks"."lon",
  "tasks"."location_text", "tasks"."sla_due_at", "tasks"."created_at", "tasks"."search_text"
  FROM "tasks" WHERE "tasks"."deleted_at" IS NULL
  ORDER BY "tasks"."scheduled_start" IS NULL ASC, "tasks"."scheduled_start" ASC, "tasks"."id" ASC LIMIT 1000) AS "tasks"
WHERE strpos("tasks"."search_text", 'corrientes') > 0 LIMIT 51;
SQL
# GAD's nearest-officers query as `services::geo` writes it (the duty by `roster::pg_duty_sql`,
# once per officer read, in a lateral subquery the filter and the answer share; the radius
# applied to the KNN scan's result), and the plain PostGIS KNN query with the same filters.
# The search point is one expression (`q.p`), as GAD binds it once ($1, $2) for all its uses:
# pgbench binds every use of a variable as a parameter of its own, and the generic plan of
# the query written with three separate points sorted the inner limit's 60 rows in full
# (its ORDER BY no longer the same expression as the `knn` column), six times GAD's work:
# the 1.6-1.8x of the earlier runs.
cat >"$WORK/nearest.sql" <<'SQL'
\set dlat random(0, 2000)
\set dlon random(0, 2000)
SELECT nearest.* FROM (SELECT o.id, ST_Distance(o.last_geog, q.p, false) AS d, o.last_geog <-> q.p AS knn, dt.duty
  FROM (SELECT ST_SetSRID(ST_MakePoint(-58.53 + :dlon / 10000.0, -34.70 + :dlat / 10000.0), 4326)::geography AS p) q
  CROSS JOIN officers o CROSS JOIN LATERAL (SELECT (CASE WHEN (SELECT count(*) FROM leaves l WHERE l.officer_id = o.id AND l.status = 'approved'
    AND l.starts_at <= now() AND l.ends_at > now()) > 0 THEN 'on_leave'
  ELSE (SELECT CASE WHEN bool_or(s.starts_at <= now() AND s.ends_at > now()) THEN 'on_shift' WHEN count(*) > 0 THEN 'off_shift'
    ELSE 'no_roster' END FROM shifts s WHERE s.officer_id = o.id AND s.ends_at >= now() - interval '7 days') END) AS duty OFFSET 0) dt
  WHERE o.deleted_at IS NULL AND o.last_geog IS NOT NULL AND o.last_position_at IS NOT NULL
  AND o.status = 'available' AND o.last_position_at >= now() - interval '60 minutes' AND dt.duty IN ('no_roster', 'on_shift')
  ORDER BY o.last_geog <-> q.p LIMIT 60) nearest
  WHERE d <= 5000 ORDER BY knn, id LIMIT 10;
SQL
cat >"$WORK/knn.sql" <<'SQL'
\set dlat random(0, 2000)
\set dlon random(0, 2000)
SELECT o.id, ST_Distance(o.last_geog, q.p, false) AS d
  FROM (SELECT ST_SetSRID(ST_MakePoint(-58.53 + :dlon / 10000.0, -34.70 + :dlat / 10000.0), 4326)::geography AS p) q
  CROSS JOIN officers o WHERE o.deleted_at IS NULL AND o.last_geog IS NOT NULL AND o.last_position_at IS NOT NULL
  AND o.status = 'available' AND o.last_position_at >= now() - interval '60 minutes'
  AND (CASE WHEN (SELECT count(*) FROM leaves l WHERE l.officer_id = o.id AND l.status = 'approved'
    AND l.starts_at <= now() AND l.ends_at > now()) > 0 THEN 'on_leave'
  ELSE (SELECT CASE WHEN bool_or(s.starts_at <= now() AND s.ends_at > now()) THEN 'on_shift' WHEN count(*) > 0 THEN 'off_shift'
    ELSE 'no_roster' END FROM shifts s WHERE s.officer_id = o.id AND s.ends_at >= now() - interval '7 days') END) IN ('no_roster', 'on_shift')
  ORDER BY o.last_geog <-> q.p LIMIT 10;
SQL

# The write rows: creations, then pauses and resumes of 4 000 tasks in progress. The first
# seconds of creates are a row of their own, a warm-up: with BENCH_WRITES_ONLY they are the
# server's first requests, while its pool opens connections and each new PostgreSQL backend
# fills its caches and plans its statements (creates' p99 106-162 ms over the first 10 s in the
# nineteenth run, 34-49 ms over the next 10 s).
writes() {
  DURATION=3s bench "POST /api/v1/tasks (create), 16 connections, first 3 s (warm-up)" "$PORT_cold" "$COLD" \
    "/api/v1/tasks" 16 "$WORK/create.lua"
  bench "POST /api/v1/tasks (create), 16 connections" "$PORT_cold" "$COLD" "/api/v1/tasks" 16 "$WORK/create.lua"
  psql "$PG" -Atc "SELECT id FROM tasks WHERE status = 'in_progress' AND deleted_at IS NULL ORDER BY id DESC LIMIT 4000" \
    >"$WORK/ids"
  BENCH_IDS="$WORK/ids" bench "POST …/transitions (pause, resume), 16 connections" "$PORT_cold" "$COLD" \
    "/api/v1/tasks/0/transitions" 16 "$WORK/transition.lua"
}

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); \
$("$PG_BIN/postgres" --version); $(redis-server --version | cut -d' ' -f1-3); wrk $DURATION per row"
seeded=0
for size in $SIZES; do
  echo
  echo "## $size tasks, $OFFICERS officers"
  echo "seeding tasks $((seeded + 1))..$size" >&2
  psql "$PG" -v from=$((seeded + 1)) -v to="$size" -v officers=0 -f scripts/bench-seed.sql >/dev/null
  settle
  seeded=$size
  [ -n "${BENCH_MIXED_ONLY:-}" ] && continue
  start_server warm
  start_server cold GAD_VIEW_CACHE=false
  WARM=$(login "$PORT_warm")
  COLD=$(login "$PORT_cold")
  echo "| what | req/s | p50 | p99 | errors | SQL statements per request |"
  echo "|---|---|---|---|---|---|"
  if [ -n "${BENCH_WRITES_ONLY:-}" ]; then
    writes
    stop_servers
    continue
  fi
  # The statistics behind the overview (its last 14 days) and the whole overview, uncached.
  bench "GET /api/v1/statistics (14 days), cache bypassed" "$PORT_cold" "$COLD" \
    "/api/v1/statistics?from=$(date -d '13 days ago' +%F)&to=$(date +%F)"
  bare "its four queries" "$WORK/stats.sql"
  bench "SSR overview /, cache bypassed" "$PORT_cold" "$COLD" "/"
  if [ -n "${BENCH_OVERVIEW_ONLY:-}" ]; then
    echo "resident memory: cache bypassed $(rss "$PID_cold")"
    stop_servers
    continue
  fi
  bench "GET /api/v1/tasks?limit=50, cache warm" "$PORT_warm" "$WARM" "/api/v1/tasks?limit=50"
  bench "the same, cache bypassed" "$PORT_cold" "$COLD" "/api/v1/tasks?limit=50"
  bare "its list query" "$WORK/list.sql"
  bare "its rows alone, as the earlier runs' bare query" "$WORK/list-rows.sql"
  bench "search q=corrientes, cache bypassed" "$PORT_cold" "$COLD" "/api/v1/tasks?limit=50&q=corrientes"
  bare "its search query" "$WORK/search.sql"
  bench "search q=zzqq (no task: planned; its window, short, is skipped after the first), cache bypassed" "$PORT_cold" "$COLD" \
    "/api/v1/tasks?limit=50&q=zzqq"
  bench "SSR /tareas, cache warm" "$PORT_warm" "$WARM" "/tareas"
  bench "SSR /tareas, cache bypassed" "$PORT_cold" "$COLD" "/tareas"
  bench "nearest 10 available officers" "$PORT_cold" "$COLD" \
    "/api/v1/geo/nearest-officers?lat=-34.61&lon=-58.43&limit=10&fresh_minutes=60"
  bare "GAD's nearest query" "$WORK/nearest.sql"
  bare "GAD's nearest query, a custom plan every call" "$WORK/nearest.sql" 16 simple
  bare "plain PostGIS KNN, same filters" "$WORK/knn.sql"
  bare "plain PostGIS KNN, same filters, a custom plan every call" "$WORK/knn.sql" 16 simple
  writes
  echo
  echo "resident memory: cache warm $(rss "$PID_warm"), cache bypassed $(rss "$PID_cold")"
  stop_servers
done

# --- the mixed load of an operations room, on the last size, against one server with its cache.
# mixed [ENV…]: one run, against a server started with the environment given.
mixed() {
  start_server mixed "$@"
  COOKIE=$(login "$PORT_mixed")
  sleep 2
  echo "idle RSS: $(rss "$PID_mixed")"
  psql "$PG" -Atc "SELECT id FROM officers WHERE code LIKE 'BE-%' ORDER BY id LIMIT 200" >"$WORK/officers"
  psql "$PG" -Atc "SELECT id FROM tasks WHERE status = 'in_progress' AND deleted_at IS NULL ORDER BY id LIMIT 2000" >"$WORK/ids"
  python3 scripts/bench-writers.py "http://127.0.0.1:$PORT_mixed" "$COOKIE" "$WORK/officers" "$WORK/ids" "$MIXED_SECONDS" \
    >"$WORK/writers.out" 2>"$WORK/writers.err" &
  WRITERS=$!
  (
    while kill -0 "$WRITERS" 2>/dev/null; do
      awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$PID_mixed/status"; sleep 1
    done
  ) >"$WORK/rss" &
  echo "| route (closed loop, 16 connections each) | req/s | p50 | p99 | errors |"
  echo "|---|---|---|---|---|"
  READERS=()
  rm -f "$WORK"/wrk.*
  for path in / /tareas "/api/v1/tasks?limit=50" "/api/v1/geo/officers-in-bbox?min_lat=-34.70&min_lon=-58.53&max_lat=-34.50&max_lon=-58.33"; do
    wrk -t1 -c16 -d"${MIXED_SECONDS}s" --timeout 10s -s "$WORK/report.lua" -H "Cookie: gad_session=$COOKIE" \
      -H "Accept: application/json" "http://127.0.0.1:$PORT_mixed$path" | grep '^WRK' \
      | awk -v p="$path" '{ print p, $0 }' >"$WORK/wrk.$(echo "$path" | md5sum | cut -c1-8)" &
    READERS+=($!)
  done
  wait "$WRITERS" || { echo "the writers failed:" >&2; cat "$WORK/writers.err" >&2; }
  # Not a bare `wait`: it would wait for the servers too.
  wait "${READERS[@]}"
  for f in "$WORK"/wrk.*; do
    read -r path _ rps p50 p99 bad _ <"$f"
    echo "| GET ${path%%\?*} | $rps | $p50 ms | $p99 ms | $bad |"
  done
  cat "$WORK/writers.out"
  echo
  echo "resident memory: peak $(sort -n "$WORK/rss" | tail -1) MB under the mixed load; $(rss "$PID_mixed") at its end"
}

echo
echo "## Mixed load ($seeded tasks): 64 dashboard readers, 200 officers every 10 s, 5 task writes/s, ${MIXED_SECONDS}s"
if [ -n "${BENCH_MIXED_VARIANTS:-}" ]; then
  for variant in $BENCH_MIXED_VARIANTS; do
    echo
    echo "### ${variant%:*}, GAD_MAX_CONCURRENT_READS=${variant##*:}"
    SERVER_BIN=${variant%:*} mixed GAD_MAX_CONCURRENT_READS="${variant##*:}"
    stop_servers
  done
  exit 0
fi
mixed
sleep 30
echo "after 30 s idle: $(rss "$PID_mixed")"
