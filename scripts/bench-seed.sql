-- Bulk data for the PostgreSQL benchmarks (scripts/bench.sh --postgres), on top of
-- `gad seed-demo`: :officers officers around Buenos Aires with recent positions and tasks
-- number :from to :to, over four years (95 % completed or cancelled, the rest open), each assigned to one
-- officer. Row by row through the service would take hours at 1 M tasks; this takes seconds.
-- Run as a superuser (`session_replication_role = replica` skips the triggers, which check
-- what this script already guarantees: open tasks never share an officer).
--   psql -v from=1 -v to=1000000 -v officers=100000 -f scripts/bench-seed.sql
\set ON_ERROR_STOP on
SET session_replication_role = replica;
SET maintenance_work_mem = '512MB';
SET synchronous_commit = off;

BEGIN;
INSERT INTO officers (code, first_name, last_name, rank, unit, status, status_changed_at,
                      last_lat, last_lon, last_position_at, last_position_source)
SELECT 'BE-' || lpad(i::text, 6, '0'),
       (ARRAY['Ana','Bruno','Carla','Diego','Elena','Facundo','Gabriela','Hernán'])[1 + i % 8],
       'Carga ' || i,
       'Agente', 'Unidad ' || (i % 40),
       (ARRAY['available','available','on_task','off_duty','unavailable'])[1 + i % 5],
       now() - interval '1 hour',
       -34.70 + random() * 0.20, -58.53 + random() * 0.20,
       now() - (random() * interval '20 minutes'), 'api'
FROM generate_series(1, :officers) AS i;

-- A roster for half of them, as a force that plans shifts has: 12 hours on, 36 off (12×36)
-- from a week ago to a week ahead, each in one of four phases, so a quarter of the rostered
-- are on shift at any time; and one in a hundred on approved leave today.
INSERT INTO shifts (officer_id, starts_at, ends_at, series)
SELECT o.id, s.starts, s.starts + interval '12 hours', 'bench-' || o.id
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM officers
      WHERE code LIKE 'BE-%' AND id > coalesce((SELECT max(officer_id) FROM shifts), 0)) o,
LATERAL (SELECT date_trunc('hour', now()) - interval '7 days' + (o.n % 4) * interval '12 hours'
                + k * interval '48 hours' AS starts FROM generate_series(0, 7) AS k) s
WHERE o.n % 2 = 0;
INSERT INTO leaves (officer_id, kind, starts_at, ends_at, status)
SELECT id, 'vacation', date_trunc('day', now()) - interval '2 days', date_trunc('day', now()) + interval '5 days', 'approved'
FROM officers WHERE code LIKE 'BE-%' AND id % 100 = 7
  AND NOT EXISTS (SELECT 1 FROM leaves l WHERE l.officer_id = officers.id);

INSERT INTO tasks (code, title, description, task_type, priority, status,
                   scheduled_start, scheduled_end, actual_start, actual_end,
                   supervisor_id, created_by, lat, lon, location_text, created_at, updated_at)
SELECT upper(t.kind) || '-2019-' || lpad(i::text, 7, '0'),
       'Tarea de carga ' || lpad(i::text, 7, '0'),
       'Recorrida por ' || (ARRAY['Corrientes','Rivadavia','Santa Fe','Cabildo','Callao','Belgrano',
                                  'Independencia','San Juan','Entre Ríos','Pueyrredón'])[1 + i % 10]
         || ' y alrededores, caso ' || md5(i::text),
       t.kind,
       (ARRAY['low','medium','high','urgent'])[1 + i % 4],
       t.status,
       t.start, t.start + interval '2 hours',
       CASE WHEN t.status = 'completed' THEN t.start END,
       CASE WHEN t.status = 'completed' THEN t.start + interval '2 hours' END,
       (SELECT id FROM users WHERE role = 'supervisor' ORDER BY id LIMIT 1),
       (SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1),
       -34.70 + random() * 0.20, -58.53 + random() * 0.20,
       'Punto de carga ' || (i % 97),
       t.start - interval '1 day', t.start - interval '1 day'
FROM generate_series(:from, :to) AS i,
LATERAL (SELECT (ARRAY['patrol','investigation','surveillance','intervention','administrative','training'])[1 + i % 6] AS kind,
                CASE WHEN i % 20 = 0 THEN 'scheduled' WHEN i % 20 = 1 THEN 'in_progress'
                     WHEN i % 20 = 2 THEN 'cancelled' ELSE 'completed' END AS status,
                -- Open tasks in the coming weeks, closed ones over the last four years.
                CASE WHEN i % 20 IN (0, 1) THEN now() + (i % 40000) * interval '1 minute'
                     ELSE now() - (i % 2000000) * interval '1 minute' - interval '1 day' END AS start) t;

-- One officer per new task, in turn.
SELECT count(*) AS bench_officers FROM officers WHERE code LIKE 'BE-%' \gset
INSERT INTO task_assignments (task_id, officer_id, assigned_at, assigned_by)
SELECT t.id, o.id, t.created_at, t.created_by
FROM (SELECT id, created_at, created_by, row_number() OVER (ORDER BY id) AS n
      FROM tasks WHERE code LIKE '%-2019-%' AND split_part(code, '-', 3)::bigint >= :from) t
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM officers WHERE code LIKE 'BE-%') o
  ON o.n = t.n % :bench_officers;

INSERT INTO task_code_counters (prefix, last_value)
SELECT split_part(code, '-', 1) || '-2019-', max(split_part(code, '-', 3)::bigint)
FROM tasks WHERE code LIKE '%-2019-%' GROUP BY 1
ON CONFLICT (prefix) DO UPDATE SET last_value = GREATEST(task_code_counters.last_value, excluded.last_value);
COMMIT;

VACUUM ANALYZE officers;
VACUUM ANALYZE tasks;
VACUUM ANALYZE task_assignments;
