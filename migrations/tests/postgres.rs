//! The schema on PostgreSQL 15 + PostGIS 3, each test in a fresh `gad_mig_<random>` database on
//! the server named by `GAD_TEST_PG_URL` (see `common`).

mod common;

use common::{PgTestDb, exec, pg_skipped, scalar_i64, scenarios};
use migrations::Migrator;
use migrations::sea_orm_migration::MigratorTrait;
use migrations::sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    if pg_skipped() {
        return;
    }
    let pg = PgTestDb::create().await;
    scenarios::up_down_up(&pg.db).await;
    // down removed the trigger functions too (three guards and the search table's upkeep; the
    // outbox's wake-up came and went with migrations 18 and 21); up brought them back.
    assert_eq!(scalar_i64(&pg.db, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'gad\\_%'").await, 4);
}

#[tokio::test]
async fn down_drops_functions() {
    if pg_skipped() {
        return;
    }
    let pg = PgTestDb::create().await;
    Migrator::up(&pg.db, None).await.expect("up");
    Migrator::down(&pg.db, None).await.expect("down");
    assert_eq!(scalar_i64(&pg.db, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'gad\\_%'").await, 0);
}

#[tokio::test]
async fn postgis_extensions_generated_points_and_gist_indexes() {
    if pg_skipped() {
        return;
    }
    let pg = PgTestDb::create().await;
    let db = &pg.db;
    Migrator::up(db, None).await.expect("up");

    let extensions = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT extname::text AS name FROM pg_extension ORDER BY 1",
        ))
        .await
        .expect("list extensions")
        .into_iter()
        .map(|row| row.try_get::<String>("", "name").expect("name"))
        .collect::<Vec<_>>();
    for ext in ["pgcrypto", "postgis"] {
        assert!(extensions.iter().any(|e| e == ext), "{ext} not installed: {extensions:?}");
    }

    for (table, index, column) in [
        ("tasks", "tasks_geog_gist", "geog"),
        ("officers", "officers_last_geog_gist", "last_geog"),
        ("officer_positions", "officer_positions_geog_gist", "geog"),
    ] {
        let gist = scalar_i64(
            db,
            &format!(
                "SELECT count(*) FROM pg_indexes WHERE tablename = '{table}' \
                 AND indexname = '{index}' AND indexdef ILIKE '%USING gist ({column})%'"
            ),
        )
        .await;
        assert_eq!(gist, 1, "GIST index {index} on {table}({column})");
        let generated = scalar_i64(
            db,
            &format!(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = '{table}' \
                 AND column_name = '{column}' AND is_generated = 'ALWAYS' AND udt_name = 'geography'"
            ),
        )
        .await;
        assert_eq!(generated, 1, "{table}.{column} is a generated geography column");
    }

    // The points follow lat/lon, and KNN on geography works.
    exec(db, "INSERT INTO users (dni, first_name, last_name, email) VALUES ('1', 'A', 'B', 'a@gad.test')")
        .await
        .expect("user");
    exec(
        db,
        "INSERT INTO officers (code, first_name, last_name, rank, unit, last_lat, last_lon) VALUES \
         ('NEAR', 'A', 'B', 'Cabo', 'U1', -34.6037, -58.3816), \
         ('FAR', 'C', 'D', 'Cabo', 'U1', -34.9215, -57.9545), \
         ('NOWHERE', 'E', 'F', 'Cabo', 'U1', NULL, NULL)",
    )
    .await
    .expect("officers");
    assert_eq!(scalar_i64(db, "SELECT count(*) FROM officers WHERE last_geog IS NULL").await, 1);
    let nearest = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT code, ST_Distance(last_geog, ST_SetSRID(ST_MakePoint(-58.38, -34.60), 4326)::geography) AS meters \
             FROM officers WHERE last_geog IS NOT NULL \
             ORDER BY last_geog <-> ST_SetSRID(ST_MakePoint(-58.38, -34.60), 4326)::geography LIMIT 1",
        ))
        .await
        .expect("knn query")
        .expect("a row");
    assert_eq!(nearest.try_get::<String>("", "code").expect("code"), "NEAR");
    let meters: f64 = nearest.try_get("", "meters").expect("meters");
    assert!(meters > 100.0 && meters < 1_000.0, "distance {meters} m");

    exec(db, "UPDATE officers SET last_lat = -34.9215, last_lon = -57.9545 WHERE code = 'NEAR'")
        .await
        .expect("move officer");
    assert_eq!(
        scalar_i64(
            db,
            "SELECT count(*) FROM officers WHERE ST_DWithin(last_geog, \
             ST_SetSRID(ST_MakePoint(-57.9545, -34.9215), 4326)::geography, 10)"
        )
        .await,
        2
    );

    exec(
        db,
        "INSERT INTO tasks (code, title, task_type, priority, created_by, lat, lon) \
         VALUES ('EMERGENCY-2026-1', 'x', 'emergency', 'critical', 1, -34.6, -58.4)",
    )
    .await
    .expect("task");
    assert_eq!(scalar_i64(db, "SELECT count(*) FROM tasks WHERE geog IS NOT NULL").await, 1);
}

#[tokio::test]
async fn constraint_violations_are_database_errors() {
    if pg_skipped() {
        return;
    }
    let pg = PgTestDb::create().await;
    Migrator::up(&pg.db, None).await.expect("up");
    scenarios::constraints(&pg.db).await;
    common::assert_db_error(&pg.db, "TRUNCATE audit_log", migrations::AUDIT_APPEND_ONLY_TOKEN).await;
}

#[tokio::test]
async fn schema_status_reports_pending_current_and_newer() {
    if pg_skipped() {
        return;
    }
    let pg = PgTestDb::create().await;
    scenarios::status_lifecycle(&pg.db).await;
}

#[tokio::test]
async fn test_database_is_dropped() {
    if pg_skipped() {
        return;
    }
    let name = {
        let pg = PgTestDb::create().await;
        pg.name.clone()
    };
    let admin = migrations::sea_orm_migration::sea_orm::Database::connect(&common::admin_url())
        .await
        .expect("admin connection");
    assert_eq!(scalar_i64(&admin, &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")).await, 0);
}

/// The hot tables' writes pay for no work that does not guard anything (migration
/// m20261206_000023): no `BEFORE UPDATE` row trigger on `tasks` (it makes PostgreSQL recompute
/// every stored generated column on every status change), vocabulary checks against one array
/// constant (read back from their stored text by every statement), no unique index of the
/// audit rows' own hashes (`prev_hash` stays unique: a fork is refused; `gad audit verify`
/// checks the chain), and the search's trigram index off `tasks`. The rules themselves are the
/// scenarios' (`up_down_up`): bad statuses, channels and overlapping reschedules still fail.
#[tokio::test]
async fn hot_tables_keep_lean_write_paths() {
    if pg_skipped() {
        return;
    }
    let pg = PgTestDb::create().await;
    let db = &pg.db;
    Migrator::up(db, None).await.expect("up");
    // tgtype bits: 1 row, 2 before, 16 update.
    let before_update = "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tasks'::regclass AND NOT tgisinternal \
                         AND tgtype & 19 = 19";
    assert_eq!(scalar_i64(db, before_update).await, 0, "a BEFORE UPDATE row trigger on tasks");
    assert_eq!(
        scalar_i64(
            db,
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'tasks_reschedule_overlap_check' AND tgtype & 19 = 17"
        )
        .await,
        1,
        "the reschedule check runs after the update"
    );
    let listed = "SELECT count(*) FROM pg_constraint WHERE contype = 'c' \
                  AND conrelid::regclass::text IN ('tasks', 'task_status_history', 'audit_log', 'officers') \
                  AND pg_get_constraintdef(oid) LIKE '%ARRAY[%'";
    assert_eq!(scalar_i64(db, listed).await, 0, "a vocabulary check spelled as a list of constants");
    let array_checks = "SELECT count(*) FROM pg_constraint WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%::text[])%' \
                        AND conrelid::regclass::text IN ('tasks', 'task_status_history', 'audit_log', 'officers')";
    assert_eq!(scalar_i64(db, array_checks).await, 10);
    let hash_indexes = "SELECT count(*) FROM pg_indexes WHERE tablename = 'audit_log' AND indexdef LIKE '%(hash)%'";
    assert_eq!(scalar_i64(db, hash_indexes).await, 0);
    let tasks_gin = "SELECT count(*) FROM pg_indexes WHERE tablename = 'tasks' AND indexdef LIKE '%USING gin%'";
    assert_eq!(scalar_i64(db, tasks_gin).await, 0, "a trigram index on tasks");

    // The search table follows the tasks: created, retitled, deleted (and restored).
    let admin = common::insert_id(
        db,
        "INSERT INTO users (dni, first_name, last_name, email, role) \
         VALUES ('90', 'A', 'B', 'lean@gad.test', 'admin') RETURNING id",
    )
    .await
    .expect("user");
    let task = common::insert_id(
        db,
        &format!(
            "INSERT INTO tasks (code, title, description, task_type, priority, created_by) \
             VALUES ('LEAN-1', 'Ronda Norte', 'Por Corrientes', 'patrol', 'low', {admin}) RETURNING id"
        ),
    )
    .await
    .expect("task");
    let searched = format!("SELECT coalesce(max(search_text), '-') FROM task_search WHERE task_id = {task}");
    assert_eq!(common::scalar::<String>(db, &searched).await, "lean-1\u{1}ronda norte\u{1}por corrientes");
    exec(db, &format!("UPDATE tasks SET status = 'in_progress' WHERE id = {task}")).await.expect("start");
    exec(db, &format!("UPDATE tasks SET title = 'Ronda Sur' WHERE id = {task}")).await.expect("retitle");
    assert_eq!(common::scalar::<String>(db, &searched).await, "lean-1\u{1}ronda sur\u{1}por corrientes");
    exec(db, &format!("UPDATE tasks SET deleted_at = now() WHERE id = {task}")).await.expect("delete");
    assert_eq!(common::scalar::<String>(db, &searched).await, "-");
    exec(db, &format!("UPDATE tasks SET deleted_at = NULL WHERE id = {task}")).await.expect("restore");
    assert_eq!(common::scalar::<String>(db, &searched).await, "lean-1\u{1}ronda sur\u{1}por corrientes");
    // What down restores (through the migrations added after it).
    Migrator::down(db, Some(3)).await.expect("down three");
    assert_eq!(scalar_i64(db, before_update).await, 1);
    assert_eq!(scalar_i64(db, hash_indexes).await, 1);
    assert_eq!(scalar_i64(db, array_checks).await, 0);
    assert_eq!(scalar_i64(db, tasks_gin).await, 1);
}
