//! Indexes in the order the task list sorts by (absent starts last, then start, then id; or
//! creation time, then id), over the live rows only, so a page reads its rows in order
//! instead of sorting the whole table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX tasks_list_start_idx ON tasks ((scheduled_start IS NULL), scheduled_start, id) \
             WHERE deleted_at IS NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX tasks_list_created_idx ON tasks (created_at, id) WHERE deleted_at IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_list_created_idx").await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_list_start_idx").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
