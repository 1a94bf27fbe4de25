//! PostgreSQL: less work in every write of the hot tables, the same rules.
//!
//! - The reschedule overlap check on `tasks` runs `AFTER` the row changes instead of
//!   `BEFORE`: it only reads the new row and raises, so it refuses the same updates. A table
//!   with a `BEFORE UPDATE` row trigger makes PostgreSQL recompute every stored generated
//!   column on every update (a trigger could change any column), so each status change
//!   rebuilt the task's `geog` point and its lowercased `search_text` (callgrind, 400 status
//!   changes: 9 % of each `UPDATE`'s instructions).
//! - The closed vocabularies of the tables written on every task transition (and `officers`)
//!   are checked against one array constant (`col = ANY ('{a,b}'::text[])`) instead of a list
//!   of constants (`col IN ('a', 'b')`). PostgreSQL reads each CHECK expression back from its
//!   stored text on every statement that writes the table; the constant's text is half as
//!   long (the checks were a fifth of a status change's instructions). Each is validated
//!   again over its table (`officer_positions`, the largest, keeps its list).
//! - `audit_log` drops its unique index of `hash`: every audit row paid for a random
//!   64-character key at insert and another when sealed, for a rule the chain already keeps.
//!   `prev_hash` stays unique (no two rows may follow the same row: a fork is refused) and
//!   `gad audit verify` recomputes every hash in `seq` order, so a repeated hash could only be
//!   the same content after the same row.
//! - The trigram index of the search moves from `tasks` to `task_search` (one row per task
//!   not deleted: its id and `search_text`), kept by a trigger on the statements that change
//!   a task's code, title, description or deletion. A status change writes a new version of
//!   the task's row, and every index of `tasks` gets an entry for it: the trigram index's was
//!   the dearest (each of the text's trigrams, then the pending list's merge), for a text that
//!   had not changed.
//!
//! SQLite has no per-statement cost of that kind and keeps its schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::vocabulary::{
    AUDIT_SEVERITIES, CHANNELS, OFFICER_STATUSES, POSITION_SOURCES, TASK_PRIORITIES, TASK_STATUSES, TASK_TYPES,
    sql_list,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, constraint, column, vocabulary) of the checks rewritten.
const CHECKS: [(&str, &str, &str, &[&str]); 10] = [
    ("tasks", "tasks_task_type_check", "task_type", TASK_TYPES),
    ("tasks", "tasks_priority_check", "priority", TASK_PRIORITIES),
    ("tasks", "tasks_status_check", "status", TASK_STATUSES),
    ("task_status_history", "task_status_history_from_status_check", "from_status", TASK_STATUSES),
    ("task_status_history", "task_status_history_to_status_check", "to_status", TASK_STATUSES),
    ("task_status_history", "task_status_history_channel_check", "channel", CHANNELS),
    ("audit_log", "audit_log_channel_check", "channel", CHANNELS),
    ("audit_log", "audit_log_severity_check", "severity", AUDIT_SEVERITIES),
    ("officers", "officers_status_check", "status", OFFICER_STATUSES),
    ("officers", "officers_last_position_source_check", "last_position_source", POSITION_SOURCES),
];

fn reschedule_trigger(timing: &str) -> [String; 2] {
    [
        "DROP TRIGGER IF EXISTS tasks_reschedule_overlap_check ON tasks".into(),
        format!(
            "CREATE TRIGGER tasks_reschedule_overlap_check {timing} UPDATE OF scheduled_start, scheduled_end, \
             deleted_at ON tasks FOR EACH ROW EXECUTE FUNCTION gad_task_reschedule_overlap_check()"
        ),
    ]
}

const SEARCH_UP: [&str; 6] = [
    "CREATE TABLE task_search (
    task_id BIGINT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    search_text TEXT NOT NULL
)",
    "INSERT INTO task_search (task_id, search_text) SELECT id, search_text FROM tasks WHERE deleted_at IS NULL",
    "CREATE INDEX task_search_trgm ON task_search USING gin (search_text gin_trgm_ops)",
    "DROP INDEX IF EXISTS tasks_search_text_trgm",
    "CREATE FUNCTION gad_task_search_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NULL THEN
        INSERT INTO task_search (task_id, search_text) VALUES (NEW.id, NEW.search_text)
        ON CONFLICT (task_id) DO UPDATE SET search_text = EXCLUDED.search_text
        WHERE task_search.search_text IS DISTINCT FROM EXCLUDED.search_text;
    ELSE
        DELETE FROM task_search WHERE task_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$",
    "CREATE TRIGGER tasks_search_sync AFTER INSERT OR UPDATE OF code, title, description, deleted_at ON tasks \
     FOR EACH ROW EXECUTE FUNCTION gad_task_search_sync()",
];

const SEARCH_DOWN: [&str; 4] = [
    "DROP TRIGGER IF EXISTS tasks_search_sync ON tasks",
    "DROP FUNCTION IF EXISTS gad_task_search_sync()",
    "DROP TABLE IF EXISTS task_search",
    "CREATE INDEX tasks_search_text_trgm ON tasks USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL",
];

fn check(table: &str, name: &str, expression: &str) -> String {
    format!("ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} CHECK ({expression})")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for statement in reschedule_trigger("AFTER") {
            conn.execute_unprepared(&statement).await?;
        }
        for (table, name, column, values) in CHECKS {
            conn.execute_unprepared(&check(
                table,
                name,
                &format!("{column} = ANY ('{{{}}}'::text[])", values.join(",")),
            ))
            .await?;
        }
        conn.execute_unprepared("ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_key").await?;
        for statement in SEARCH_UP {
            conn.execute_unprepared(statement).await?;
        }
        conn.execute_unprepared("ANALYZE task_search").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for statement in SEARCH_DOWN {
            conn.execute_unprepared(statement).await?;
        }
        conn.execute_unprepared("ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_key UNIQUE (hash)").await?;
        for (table, name, column, values) in CHECKS {
            conn.execute_unprepared(&check(table, name, &format!("{column} IN ({})", sql_list(values)))).await?;
        }
        for statement in reschedule_trigger("BEFORE") {
            conn.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
