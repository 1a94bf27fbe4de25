//! PostgreSQL: a statement-level trigger on `event_outbox` sends the sealers' wake-up
//! (`pg_notify('gad_events', 'written')`) that every write with events sent as a statement of
//! its own. One round trip fewer per write; the notification is still delivered when, and only
//! if, the transaction commits. SQLite needs none (one process seals in the writing
//! transaction).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// The wake-up's function and trigger (dropped again by m20261206_000021, whose down restores
/// them).
pub(crate) const WAKE_FUNCTION: &str = "CREATE FUNCTION gad_outbox_written() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN PERFORM pg_notify('gad_events', 'written'); RETURN NULL; END $$";
pub(crate) const WAKE_TRIGGER: &str = "CREATE TRIGGER event_outbox_written AFTER INSERT ON event_outbox \
     FOR EACH STATEMENT EXECUTE FUNCTION gad_outbox_written()";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared(WAKE_FUNCTION).await?;
        conn.execute_unprepared(WAKE_TRIGGER).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP TRIGGER IF EXISTS event_outbox_written ON event_outbox").await?;
        conn.execute_unprepared("DROP FUNCTION IF EXISTS gad_outbox_written()").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
