//! `bot_conversations`: the Telegram bot's conversation state (wizards, pending questions) per
//! chat, with an expiry, for the embedded mode (with Redis the state lives there instead).

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
        let conn = manager.get_connection();
        conn.execute_unprepared(&format!(
            "CREATE TABLE bot_conversations (
    chat_id {bigint} NOT NULL PRIMARY KEY,
    state TEXT NOT NULL,
    expires_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
)"
        ))
        .await?;
        conn.execute_unprepared("CREATE INDEX bot_conversations_expires_at_idx ON bot_conversations (expires_at)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS bot_conversations").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
