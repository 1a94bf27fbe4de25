//! Indexes for the task list's other orders over live rows, so every sort the list offers
//! reads a page in index order (m20261203_000008 covers the start sort ascending and the
//! creation sort): the start sort descending (tasks without a start still last), priority by
//! the very rank expression the list orders by (`gad_core::services::tasks::PRIORITY_RANK_SQL`;
//! both backends use an expression index only for an identical expression), and code.
//!
//! And the two columns the statistics' period filter reads that had no index (`actual_start`
//! of unscheduled tasks, `actual_end` of completed ones): without them every overview and
//! statistics page read the whole table (a sequential scan of a million rows each time).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX tasks_list_priority_idx ON tasks ((CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 \
             WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 WHEN 'critical' THEN 4 ELSE -1 END), id) \
             WHERE deleted_at IS NULL",
        )
        .await?;
        conn.execute_unprepared("CREATE INDEX tasks_list_code_idx ON tasks (code, id) WHERE deleted_at IS NULL")
            .await?;
        // Descending by start, tasks without one still last: the one order no backward scan
        // of tasks_list_start_idx gives.
        conn.execute_unprepared(
            "CREATE INDEX tasks_list_start_desc_idx ON tasks ((scheduled_start IS NULL), scheduled_start DESC, id DESC) \
             WHERE deleted_at IS NULL",
        )
        .await?;
        conn.execute_unprepared("CREATE INDEX tasks_actual_start_idx ON tasks (actual_start)").await?;
        conn.execute_unprepared("CREATE INDEX tasks_actual_end_idx ON tasks (actual_end)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_actual_end_idx").await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_actual_start_idx").await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_list_start_desc_idx").await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_list_code_idx").await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_list_priority_idx").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
