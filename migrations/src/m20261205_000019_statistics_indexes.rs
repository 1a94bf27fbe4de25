//! The statistics' period is the tasks whose reference time — when a task is (or was) meant to
//! happen: `COALESCE(scheduled_start, actual_start, created_at)` — falls in it. No index served
//! that expression, so each of the statistics' queries read a superset of the period through
//! a bitmap OR over four indexes and filtered it; at a million tasks one statistics request
//! took seconds. An index on the expression itself (both backends index expressions) finds
//! the period's tasks in one range scan. The services spell the expression exactly as here
//! (`REFERENCE_SQL` in core/src/services/stats.rs): an expression index serves only the same
//! expression.
//!
//! The overview also counts the live officers per status: with `officers_status_idx` (all
//! rows) that read every officer row to skip the deleted ones; an index of the live officers'
//! status alone lets both backends count from the index (`COUNT(*)`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX tasks_reference_idx ON tasks \
             ((COALESCE(scheduled_start, actual_start, created_at))) WHERE deleted_at IS NULL",
        )
        .await?;
        conn.execute_unprepared("CREATE INDEX officers_live_status_idx ON officers (status) WHERE deleted_at IS NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS officers_live_status_idx").await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_reference_idx").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
