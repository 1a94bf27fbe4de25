//! Test scenarios that run unchanged on SQLite and on PostgreSQL.
//!
//! SQL here sticks to what both dialects accept: literal RFC 3339 times (a `timestamptz` literal
//! on PostgreSQL, the stored text on SQLite), `TRUE`/`FALSE`, `RETURNING id`.

use migrations::sea_orm_migration::MigratorTrait;
use migrations::sea_orm_migration::sea_orm::{DatabaseConnection, DbErr, SqlErr};
use migrations::{AUDIT_APPEND_ONLY_TOKEN, Migrator, OVERLAP_ERROR_TOKEN, SchemaStatus, schema_status};

use super::{DOMAIN_TABLES, assert_db_error, exec, insert_id, scalar_i64, table_names};

/// Every migration this binary knows, oldest first (what an empty database has pending).
fn all_migrations() -> Vec<String> {
    Migrator::migrations().iter().map(|m| m.name().to_owned()).collect()
}

pub async fn up_down_up(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("first up");
    let tables = table_names(db).await;
    for table in DOMAIN_TABLES {
        assert!(tables.iter().any(|t| t == table), "{table} missing after up: {tables:?}");
    }

    Migrator::down(db, None).await.expect("down");
    let tables = table_names(db).await;
    for table in DOMAIN_TABLES {
        assert!(!tables.iter().any(|t| t == table), "{table} left after down: {tables:?}");
    }
    assert_eq!(schema_status(db).await.expect("status after down"), SchemaStatus::Pending(all_migrations()));

    Migrator::up(db, None).await.expect("second up");
    let tables = table_names(db).await;
    for table in DOMAIN_TABLES {
        assert!(tables.iter().any(|t| t == table), "{table} missing after re-up");
    }
    // The schema is usable, triggers included, after the round trip.
    constraints(db).await;
}

pub async fn status_lifecycle(db: &DatabaseConnection) {
    assert_eq!(schema_status(db).await.expect("status on empty db"), SchemaStatus::Pending(all_migrations()));
    // Read-only: asking did not create the migration table.
    assert!(
        !table_names(db).await.iter().any(|t| t == "seaql_migrations"),
        "schema_status must not create seaql_migrations"
    );

    Migrator::up(db, None).await.expect("up");
    assert_eq!(schema_status(db).await.expect("status after up"), SchemaStatus::Current);

    exec(db, "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_future', 0)")
        .await
        .expect("record an unknown migration");
    assert_eq!(
        schema_status(db).await.expect("status with a newer migration"),
        SchemaStatus::Newer(vec!["m20991231_000001_future".to_owned()])
    );
}

async fn insert_user(db: &DatabaseConnection, dni: &str, email: &str, role: &str) -> Result<i64, DbErr> {
    insert_id(
        db,
        &format!(
            "INSERT INTO users (dni, first_name, last_name, email, role) \
             VALUES ('{dni}', 'Ana', 'Pérez', '{email}', '{role}') RETURNING id"
        ),
    )
    .await
}

async fn insert_officer(db: &DatabaseConnection, code: &str) -> i64 {
    insert_id(
        db,
        &format!(
            "INSERT INTO officers (code, first_name, last_name, rank, unit) \
             VALUES ('{code}', 'Juan', 'Gómez', 'Cabo', 'Comisaría 1') RETURNING id"
        ),
    )
    .await
    .expect("insert officer")
}

/// Inserts a task; `end` may be `NULL`. Times are `HH:MM` on 2026-12-01 unless they contain a
/// date already.
async fn insert_task(db: &DatabaseConnection, code: &str, start: &str, end: &str, creator: i64) -> Result<i64, DbErr> {
    insert_id(
        db,
        &format!(
            "INSERT INTO tasks (code, title, task_type, priority, scheduled_start, scheduled_end, \
             created_by) VALUES ('{code}', 'Patrullaje {code}', 'patrol', 'medium', {}, {}, \
             {creator}) RETURNING id",
            time(start),
            time(end)
        ),
    )
    .await
}

fn time(t: &str) -> String {
    if t == "NULL" {
        "NULL".to_owned()
    } else if t.contains('T') {
        format!("'{t}'")
    } else {
        format!("'2026-12-01T{t}:00+00:00'")
    }
}

async fn assign(db: &DatabaseConnection, task: i64, officer: i64, override_: bool) -> Result<(), DbErr> {
    exec(
        db,
        &format!(
            "INSERT INTO task_assignments (task_id, officer_id, overlap_override) \
             VALUES ({task}, {officer}, {})",
            if override_ { "TRUE" } else { "FALSE" }
        ),
    )
    .await
}

fn assert_overlap(result: Result<(), DbErr>, what: &str) {
    match result {
        Ok(()) => panic!("{what}: overlapping assignment was accepted"),
        Err(e) => assert!(e.to_string().contains(OVERLAP_ERROR_TOKEN), "{what}: error without the overlap token: {e}"),
    }
}

/// Constraint violations fail with a database error. Expects a migrated, empty database.
pub async fn constraints(db: &DatabaseConnection) {
    // ---- users
    let admin = insert_user(db, "20123456", "ana@gad.test", "admin").await.expect("insert user");
    let dup = insert_user(db, "20999999", "ana@gad.test", "officer").await;
    match dup {
        Ok(_) => panic!("duplicate email accepted"),
        Err(e) => assert!(
            matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
            "duplicate email: not a unique violation: {e:?}"
        ),
    }
    assert!(insert_user(db, "20123456", "other@gad.test", "officer").await.is_err(), "duplicate dni");
    assert_db_error(
        db,
        "INSERT INTO users (dni, first_name, last_name, email) VALUES ('3', 'A', 'B', 'Ana2@GAD.test')",
        "users_email_lowercase",
    )
    .await;
    assert_db_error(
        db,
        "INSERT INTO users (dni, first_name, last_name, email, role) VALUES ('4', 'A', 'B', 'x@gad.test', 'chief')",
        "users_role_check",
    )
    .await;
    exec(db, &format!("UPDATE users SET telegram_user_id = 9007199254740993 WHERE id = {admin}"))
        .await
        .expect("64-bit telegram id");
    assert_eq!(
        scalar_i64(db, &format!("SELECT telegram_user_id FROM users WHERE id = {admin}")).await,
        9_007_199_254_740_993
    );

    // ---- coordinates
    let officer = insert_officer(db, "OF-001").await;
    assert_db_error(
        db,
        &format!("UPDATE officers SET last_lat = 91, last_lon = 0 WHERE id = {officer}"),
        "officers_last_lat_range",
    )
    .await;
    assert_db_error(
        db,
        &format!("UPDATE officers SET last_lat = 10, last_lon = NULL WHERE id = {officer}"),
        "officers_last_lat_last_lon_pair",
    )
    .await;
    exec(db, &format!("UPDATE officers SET last_lat = -34.6, last_lon = -58.38 WHERE id = {officer}"))
        .await
        .expect("valid officer position");
    assert_db_error(
        db,
        &format!("INSERT INTO officer_positions (officer_id, lat, lon, source) VALUES ({officer}, 91, 0, 'telegram')"),
        "officer_positions_lat_range",
    )
    .await;
    assert_db_error(
        db,
        &format!(
            "INSERT INTO officer_positions (officer_id, lat, lon, source) VALUES ({officer}, 0, 0, 'carrier_pigeon')"
        ),
        "officer_positions_source_check",
    )
    .await;
    exec(
        db,
        &format!(
            "INSERT INTO officer_positions (officer_id, lat, lon, accuracy_m, source) \
             VALUES ({officer}, -34.6, -58.38, 12.5, 'telegram')"
        ),
    )
    .await
    .expect("valid position");

    // ---- task times and location
    assert_db_error(
        db,
        &format!(
            "INSERT INTO tasks (code, title, task_type, priority, scheduled_start, scheduled_end, created_by) \
             VALUES ('BAD-1', 'x', 'patrol', 'low', '2026-12-01T12:00:00+00:00', '2026-12-01T10:00:00+00:00', {admin})"
        ),
        "tasks_scheduled_order",
    )
    .await;
    assert!(insert_task(db, "BAD-2", "10:00", "10:00", admin).await.is_err(), "end == start accepted");
    assert_db_error(
        db,
        &format!(
            "INSERT INTO tasks (code, title, task_type, priority, created_by, lat, lon) \
             VALUES ('BAD-3', 'x', 'patrol', 'low', {admin}, 91, 0)"
        ),
        "tasks_lat_range",
    )
    .await;
    assert_db_error(
        db,
        &format!(
            "INSERT INTO tasks (code, title, task_type, priority, created_by, lat, lon) \
             VALUES ('BAD-4', 'x', 'patrol', 'low', {admin}, 0, -180.5)"
        ),
        "tasks_lon_range",
    )
    .await;
    assert_db_error(
        db,
        &format!(
            "INSERT INTO tasks (code, title, task_type, priority, created_by) \
             VALUES ('BAD-5', 'x', 'patrol', 'whenever', {admin})"
        ),
        "tasks_priority_check",
    )
    .await;
    assert_db_error(
        db,
        &format!(
            "INSERT INTO tasks (code, title, task_type, priority, created_by, actual_start, actual_end) \
             VALUES ('BAD-6', 'x', 'patrol', 'low', {admin}, '2026-12-01T12:00:00+00:00', '2026-12-01T11:59:59+00:00')"
        ),
        "tasks_actual_order",
    )
    .await;

    // ---- schedule overlap (half-open ranges; an open end = twelve hours from the start)
    let other = insert_officer(db, "OF-002").await;
    let a = insert_task(db, "T-A", "10:00", "12:00", admin).await.expect("A");
    let b = insert_task(db, "T-B", "11:00", "13:00", admin).await.expect("B");
    let c = insert_task(db, "T-C", "13:00", "14:00", admin).await.expect("C");
    let d = insert_task(db, "T-D", "20:00", "NULL", admin).await.expect("D");
    let e = insert_task(db, "T-E", "2026-12-02T07:00:00+00:00", "2026-12-02T07:30:00+00:00", admin).await.expect("E");
    let after_d =
        insert_task(db, "T-H", "2026-12-02T08:00:00+00:00", "2026-12-02T09:00:00+00:00", admin).await.expect("H");
    let done = insert_task(db, "T-F", "10:00", "12:00", admin).await.expect("F");
    exec(db, &format!("UPDATE tasks SET status = 'completed' WHERE id = {done}")).await.expect("complete F");
    let gone = insert_task(db, "T-G", "10:30", "11:30", admin).await.expect("G");
    exec(db, &format!("UPDATE tasks SET deleted_at = '2026-11-30T00:00:00+00:00' WHERE id = {gone}"))
        .await
        .expect("soft-delete G");

    assign(db, a, officer, false).await.expect("A is free");
    assert_overlap(assign(db, b, officer, false).await, "B overlaps A");
    assign(db, b, officer, true).await.expect("override allows B");
    assign(db, b, other, false).await.expect("another officer is free for B");
    assign(db, c, officer, false).await.expect("C starts when B ends");
    assign(db, d, officer, false).await.expect("D is later");
    assert_overlap(assign(db, e, officer, false).await, "E falls inside D's twelve hours");
    assign(db, after_d, officer, false).await.expect("H starts as D's twelve hours end");
    assign(db, done, officer, false).await.expect("completed tasks hold no slot");
    assign(db, gone, officer, false).await.expect("deleted tasks hold no slot");
    assert!(assign(db, a, officer, true).await.is_err(), "duplicate (task, officer) pair accepted");

    // Rescheduling an assigned task into a conflict is refused too.
    assert_overlap(
        exec(
            db,
            &format!(
                "UPDATE tasks SET scheduled_start = '2026-12-01T11:30:00+00:00', \
                 scheduled_end = '2026-12-01T12:30:00+00:00' WHERE id = {c}"
            ),
        )
        .await,
        "C moved onto A",
    );
    exec(
        db,
        &format!(
            "UPDATE tasks SET scheduled_start = '2026-12-01T14:00:00+00:00', \
             scheduled_end = '2026-12-01T15:00:00+00:00' WHERE id = {c}"
        ),
    )
    .await
    .expect("C moved to a free slot");
    // Cancelling D frees its open-ended slot.
    exec(db, &format!("UPDATE tasks SET status = 'cancelled' WHERE id = {d}")).await.expect("cancel D");
    assign(db, e, officer, false).await.expect("E is free once D is cancelled");
    assert_eq!(scalar_i64(db, &format!("SELECT count(*) FROM task_assignments WHERE officer_id = {officer}")).await, 8);

    // ---- history vocabulary
    assert_db_error(
        db,
        &format!(
            "INSERT INTO task_status_history (task_id, from_status, to_status, channel) \
             VALUES ({a}, 'scheduled', 'exploded', 'web')"
        ),
        "task_status_history_to_status_check",
    )
    .await;
    exec(
        db,
        &format!(
            "INSERT INTO task_status_history (task_id, from_status, to_status, changed_by, channel) \
             VALUES ({a}, NULL, 'scheduled', {admin}, 'telegram')"
        ),
    )
    .await
    .expect("valid history row");

    // ---- audit log: append-only, chained
    exec(
        db,
        &format!(
            "INSERT INTO audit_log (user_id, channel, action, resource_type, resource_id, after_value, success, severity, hash) \
             VALUES ({admin}, 'web', 'task.create', 'task', '{a}', '{{\"code\":\"T-A\"}}', TRUE, 'info', 'h1')"
        ),
    )
    .await
    .expect("append audit row");
    exec(
        db,
        "INSERT INTO audit_log (channel, action, resource_type, success, severity, prev_hash, hash) \
         VALUES ('system', 'backup.run', 'backup', TRUE, 'info', 'h1', 'h2')",
    )
    .await
    .expect("append chained audit row");
    assert!(
        exec(
            db,
            "INSERT INTO audit_log (channel, action, resource_type, success, severity, prev_hash, hash) \
             VALUES ('system', 'fork', 'backup', TRUE, 'info', 'h1', 'h3')",
        )
        .await
        .is_err(),
        "a forked chain (two rows after h1) was accepted"
    );
    assert_db_error(db, "UPDATE audit_log SET action = 'nothing.happened'", AUDIT_APPEND_ONLY_TOKEN).await;
    // Unsealed rows (as writers leave them) take exactly one UPDATE: the sealing one, which
    // sets seq, prev_hash and hash and changes nothing else.
    exec(db, "UPDATE audit_log SET seq = 1 WHERE hash = 'h1'").await.expect("sealing an unsealed row");
    assert_db_error(db, "UPDATE audit_log SET seq = 5 WHERE hash = 'h1'", AUDIT_APPEND_ONLY_TOKEN).await;
    assert_db_error(db, "UPDATE audit_log SET seq = 2, action = 'forged' WHERE hash = 'h2'", AUDIT_APPEND_ONLY_TOKEN)
        .await;
    exec(db, "UPDATE audit_log SET seq = 2 WHERE hash = 'h2'").await.expect("sealing the second row");
    assert_db_error(db, "DELETE FROM audit_log", AUDIT_APPEND_ONLY_TOKEN).await;
    assert_db_error(
        db,
        "INSERT INTO audit_log (channel, action, resource_type, success, severity, hash) \
         VALUES ('web', 'x', 'y', TRUE, 'loud', 'h9')",
        "audit_log_severity_check",
    )
    .await;
    assert_eq!(scalar_i64(db, "SELECT count(*) FROM audit_log").await, 2);
    // A user referenced by the audit log cannot be hard-deleted (it would rewrite the log).
    assert!(
        exec(db, &format!("DELETE FROM users WHERE id = {admin}")).await.is_err(),
        "hard delete of an audited user accepted"
    );

    // ---- the rest of the vocabulary
    let group =
        insert_id(db, "INSERT INTO telegram_groups (name, chat_id) VALUES ('general', -1001234567890) RETURNING id")
            .await
            .expect("group");
    assert_db_error(
        db,
        &format!("INSERT INTO broadcasts (group_id, kind, text) VALUES ({group}, 'gossip', 'hola')"),
        "broadcasts_kind_check",
    )
    .await;
    assert_db_error(
        db,
        &format!(
            "INSERT INTO broadcasts (group_id, kind, text, delivery_status) VALUES ({group}, 'alert', 'hola', 'lost')"
        ),
        "broadcasts_delivery_status_check",
    )
    .await;
    exec(db, &format!("INSERT INTO broadcasts (group_id, kind, text) VALUES ({group}, 'alert', 'Código rojo')"))
        .await
        .expect("broadcast");
    assert_db_error(
        db,
        "INSERT INTO feedback (channel, text, status) VALUES ('telegram', 'bien', 'ignored')",
        "feedback_status_check",
    )
    .await;
    exec(db, "INSERT INTO feedback (channel, text, sentiment_score) VALUES ('telegram', 'todo bien', 0.8)")
        .await
        .expect("feedback");
    exec(db, &format!("INSERT INTO notes (user_id, body) VALUES ({admin}, 'Turno sin novedad')")).await.expect("note");
    exec(
        db,
        &format!(
            "INSERT INTO api_tokens (user_id, name, token_hash, scopes) VALUES ({admin}, 'ci', 'abc', 'tasks:read tasks:write')"
        ),
    )
    .await
    .expect("token");
    assert!(
        exec(db, &format!("INSERT INTO api_tokens (user_id, name, token_hash) VALUES ({admin}, 'dup', 'abc')"),)
            .await
            .is_err(),
        "duplicate token hash accepted"
    );
    exec(
        db,
        &format!(
            "INSERT INTO telegram_links (user_id, code_hash, expires_at) VALUES ({admin}, 'c1', '2026-12-01T10:15:00+00:00')"
        ),
    )
    .await
    .expect("link code");
}
