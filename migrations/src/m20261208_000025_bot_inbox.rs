//! `bot_inbox`: Telegram updates received and not yet handled. The webhook stores an update
//! before it answers Telegram (and the poller before it moves its offset), so an update Telegram
//! was told we have is never lost with a process; one process at a time hands them to the bot
//! in order and marks each handled. The primary key is Telegram's `update_id`: an update
//! Telegram sends again (our answer lost on the way) is kept once and handled once; handled rows
//! are deleted after a while.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (bigint, ts) = match manager.get_database_backend() {
            DbBackend::Postgres => ("BIGINT", "TIMESTAMPTZ"),
            _ => ("INTEGER", "TEXT"),
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE TABLE bot_inbox (
    update_id {bigint} NOT NULL PRIMARY KEY,
    body TEXT NOT NULL,
    received_at {ts} NOT NULL,
    handled_at {ts}
)"
            ))
            .await?;
        let conn = manager.get_connection();
        // What waits, in order (a handful of rows among the recently handled).
        conn.execute_unprepared("CREATE INDEX bot_inbox_waiting_idx ON bot_inbox (update_id) WHERE handled_at IS NULL")
            .await?;
        conn.execute_unprepared("CREATE INDEX bot_inbox_handled_at_idx ON bot_inbox (handled_at)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS bot_inbox").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
