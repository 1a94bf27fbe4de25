//! The transactional outbox: `event_outbox` holds every domain event, written in the same
//! transaction as the change it reports, and `event_consumers` each durable consumer's cursor
//! (the last event it handled) with a lease, so one process at a time delivers a consumer's
//! events (the Telegram notifier) and another takes over where it stopped.
//!
//! On SQLite `AUTOINCREMENT` keeps ids from being reused after old events are pruned, so a
//! cursor never skips a new event.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (id, bigint, ts) = match manager.get_database_backend() {
            DbBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "BIGINT", "TIMESTAMPTZ"),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "TEXT"),
        };
        let conn = manager.get_connection();
        conn.execute_unprepared(&format!(
            "CREATE TABLE event_outbox (
    id {id},
    kind VARCHAR(40) NOT NULL,
    payload TEXT NOT NULL,
    created_at {ts} NOT NULL
)"
        ))
        .await?;
        conn.execute_unprepared("CREATE INDEX event_outbox_created_at_idx ON event_outbox (created_at)").await?;
        conn.execute_unprepared(&format!(
            "CREATE TABLE event_consumers (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    last_id {bigint} NOT NULL,
    owner VARCHAR(100),
    lease_until {ts},
    updated_at {ts} NOT NULL
)"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP TABLE IF EXISTS event_consumers").await?;
        conn.execute_unprepared("DROP TABLE IF EXISTS event_outbox").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
