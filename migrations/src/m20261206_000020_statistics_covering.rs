//! The statistics (and the overview, which shows them) count the tasks of a period in four
//! grouped queries. Their indexes found the period's rows, but every row was then read from the
//! table for the columns it is grouped by: at a million tasks, 14 days' statistics read some
//! 4 000 table pages for 19 000 rows. Now, on PostgreSQL, the indexes carry those columns
//! (`INCLUDE`), so each query is an index-only scan:
//!
//! - `tasks_reference_idx` (the period by reference time) includes what the groups and the
//!   time buckets read: status, type, priority, supervisor, and the three times the reference
//!   is computed from;
//! - `tasks_completed_end_idx` replaces `tasks_actual_end_idx`: only completed tasks (the only
//!   ones the statistics look up by end), with the supervisor, the start and the paused time
//!   the durations need. Being partial, it also costs a task's other writes nothing, where the
//!   index it replaces took an entry on every status change.
//!
//! And `tasks_actual_start_idx` goes: it served the period filter before the reference index
//! (m20261205_000019) and no query has used it since; every status change paid for it.
//!
//! SQLite has no `INCLUDE`: there, the index of completed tasks lists the columns in its key
//! (the status first, or its planner prefers the status index; `deleted_at` too, or it reads
//! the rows for it), which SQLite reads as a covering index; its reference index stays as it
//! was.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const REFERENCE: &str = "(COALESCE(scheduled_start, actual_start, created_at))";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_actual_start_idx").await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_actual_end_idx").await?;
        if postgres {
            conn.execute_unprepared("DROP INDEX IF EXISTS tasks_reference_idx").await?;
            conn.execute_unprepared(&format!(
                "CREATE INDEX tasks_reference_idx ON tasks ({REFERENCE}) \
                 INCLUDE (status, task_type, priority, supervisor_id, scheduled_start, actual_start, created_at) \
                 WHERE deleted_at IS NULL"
            ))
            .await?;
            conn.execute_unprepared(
                "CREATE INDEX tasks_completed_end_idx ON tasks (actual_end) \
                 INCLUDE (supervisor_id, actual_start, paused_seconds) \
                 WHERE status = 'completed' AND deleted_at IS NULL",
            )
            .await?;
        } else {
            conn.execute_unprepared(
                "CREATE INDEX tasks_completed_end_idx ON tasks \
                 (status, actual_end, supervisor_id, actual_start, paused_seconds, deleted_at) \
                 WHERE status = 'completed' AND deleted_at IS NULL",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_completed_end_idx").await?;
        if postgres {
            conn.execute_unprepared("DROP INDEX IF EXISTS tasks_reference_idx").await?;
            conn.execute_unprepared(&format!(
                "CREATE INDEX tasks_reference_idx ON tasks ({REFERENCE}) WHERE deleted_at IS NULL"
            ))
            .await?;
        }
        conn.execute_unprepared("CREATE INDEX tasks_actual_end_idx ON tasks (actual_end)").await?;
        conn.execute_unprepared("CREATE INDEX tasks_actual_start_idx ON tasks (actual_start)").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
