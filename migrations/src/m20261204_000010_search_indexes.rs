//! PostgreSQL: trigram indexes for the task search (`q`: code, title or description
//! containing the text, case-insensitive), so a search reads the matching rows instead of
//! every row. SQLite keeps its scan (embedded sizes).
//!
//! Statistics on the same expressions let the planner tell a common text (most pages: read
//! the list's index in order and filter, a few hundred rows) from a rare one (the trigram
//! index): without them it guessed ten matches for a text in every tenth row and sorted all
//! ten thousand (275 ms instead of 3 ms at 100 000 tasks).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// The search's trigram index and statistics (replaced by m20261206_000022, whose down
/// restores them).
pub(crate) const TRIGRAM_INDEX: &str = "CREATE INDEX tasks_search_trgm ON tasks USING gin \
     (lower(code) gin_trgm_ops, lower(title) gin_trgm_ops, lower(description) gin_trgm_ops) \
     WHERE deleted_at IS NULL";
pub(crate) const SEARCH_STATISTICS: &str =
    "CREATE STATISTICS tasks_search_stats ON (lower(code)), (lower(title)), (lower(description)) FROM tasks";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        // A trusted extension: the database's owner may create it.
        conn.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
        // The expressions are the search's own (`lower(col) LIKE '%text%'`).
        conn.execute_unprepared(TRIGRAM_INDEX).await?;
        conn.execute_unprepared(SEARCH_STATISTICS).await?;
        conn.execute_unprepared("ANALYZE tasks").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP STATISTICS IF EXISTS tasks_search_stats").await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS tasks_search_trgm").await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
