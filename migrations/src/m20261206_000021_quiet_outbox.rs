//! PostgreSQL: writers stop notifying. Migration m20261205_000018's trigger sent
//! `pg_notify('gad_events', 'written')` from every transaction that wrote an event, to wake the
//! sealers of other processes. A notifying transaction takes PostgreSQL's notification queue
//! lock at commit and holds it through its commit record's flush, so every write in the system
//! committed one at a time behind it (pgbench, an UPDATE per transaction at 16 clients: about
//! 3 000 TPS without the notification, 1 100 with it). Each process's sealer is woken by its
//! own commits instead and polls every second; only a sealing pass (one per batch of writes)
//! still notifies, to wake the tailers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP TRIGGER IF EXISTS event_outbox_written ON event_outbox").await?;
        conn.execute_unprepared("DROP FUNCTION IF EXISTS gad_outbox_written()").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared(super::m20261205_000018_outbox_notify::WAKE_FUNCTION).await?;
        conn.execute_unprepared(super::m20261205_000018_outbox_notify::WAKE_TRIGGER).await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
