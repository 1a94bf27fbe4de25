//! PostgreSQL: less work in every write of the hot tables, the same rules.
//!
//! - The reschedule overlap check on `tasks` runs `AFTER` the row changes instead of
//!   `BEFORE`: it only reads the new row and raises, so it refuses the same updates. A table
//!   with a `BEFORE UPDATE` row trigger makes PostgreSQL recompute every stored generated
//!   column on every update (a trigger could change any column), so each status change
//!   rebuilt the task's `geog` point and its lowercased `search_text` (callgrind, 400 status
//!   changes: 9 % of each `UPDATE`'s instructions).
//! - The closed vocabularies of the tables written on every transition and position report
//!   are checked against one array constant (`col = ANY ('{a,b}'::text[])`) instead of a list
//!   of constants (`col IN ('a', 'b')`). PostgreSQL reads each CHECK expression back from its
//!   stored text on every statement that writes the table; the constant's text is half as
//!   long (the checks were a fifth of a status change's instructions).
//! - `audit_log` drops its unique indexes of `hash` and `prev_hash`: every audit row paid for
//!   two random 64-character keys at insert and two more when sealed. The chain stays
//!   tamper-evident the way it always was: `gad audit verify` recomputes every hash in `seq`
//!   order (unique) and checks each row's link to the one before.
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
    ("officer_positions", "officer_positions_source_check", "source", POSITION_SOURCES),
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
        conn.execute_unprepared("ALTER TABLE audit_log DROP CONSTRAINT audit_log_prev_hash_key").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared("ALTER TABLE audit_log ADD CONSTRAINT audit_log_prev_hash_key UNIQUE (prev_hash)")
            .await?;
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
