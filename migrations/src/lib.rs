//! GAD's database schema.
//!
//! One [`Migrator`] for both supported backends: PostgreSQL 15 + PostGIS 3 (production) and
//! SQLite (the embedded default). Each migration writes the DDL of the backend it runs on, so
//! the two schemas carry the same tables, columns, constraints and triggers; PostgreSQL adds
//! the PostGIS geography columns (generated from lat/lon, never mapped by the entities).
//!
//! Errors raised by the schema's own triggers carry stable tokens, so the service layer can map
//! them without parsing driver-specific messages: [`OVERLAP_ERROR_TOKEN`] and
//! [`AUDIT_APPEND_ONLY_TOKEN`].

pub use sea_orm_migration;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseConnection, EntityTrait};
use sea_orm_migration::seaql_migrations;

mod m20261128_000001_initial;
mod m20261128_000002_backups;
mod m20261128_000003_bot_conversations;
mod m20261203_000001_two_factor;
mod m20261203_000004_credentials;
mod m20261203_000005_event_outbox;
mod m20261203_000006_open_ended_tasks;
mod m20261203_000007_task_code_counters;
mod m20261203_000008_task_list_indexes;
mod m20261203_000009_sealed_chains;
mod m20261204_000010_search_indexes;
mod m20261204_000011_list_indexes;
mod m20261204_000012_backup_drills;
mod m20261205_000013_audit_verifications;
mod m20261205_000014_feedback_digests;
mod m20261205_000015_open_task_counts;
mod m20261205_000016_shifts_and_leave;
mod m20261205_000017_sla;
mod m20261205_000018_outbox_notify;
mod m20261205_000019_statistics_indexes;
mod m20261206_000020_statistics_covering;
mod m20261206_000021_quiet_outbox;
mod m20261206_000022_search_text;
mod m20261206_000023_lean_updates;
mod m20261207_000024_backup_digests;
mod m20261208_000025_bot_inbox;
pub mod vocabulary;

/// Token contained in the database error raised when an assignment would give an officer two
/// overlapping scheduled/active tasks without `overlap_override`.
pub const OVERLAP_ERROR_TOKEN: &str = "officer_schedule_overlap";

/// Token contained in the database error raised by any UPDATE, DELETE or TRUNCATE of
/// `audit_log`.
pub const AUDIT_APPEND_ONLY_TOKEN: &str = "audit_log_append_only";

/// In the overlap rule, a task without `scheduled_end` occupies its officers this many hours
/// from its start (a long shift), not forever.
pub const OPEN_ENDED_TASK_HOURS: u32 = 12;

/// A task code's counter prefix and number: `PATROL-2026-0042` → (`PATROL-2026-`, 42); None
/// for a code without a numeric last part. Generated codes and the `task_code_counters`
/// table (one row per prefix) follow it.
pub fn split_task_code(code: &str) -> Option<(&str, i64)> {
    let cut = code.rfind('-')? + 1;
    let digits = &code[cut..];
    if cut < 2 || digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((&code[..cut], digits.parse().ok()?))
}

/// All of GAD's migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_initial::Migration),
            Box::new(m20261128_000002_backups::Migration),
            Box::new(m20261128_000003_bot_conversations::Migration),
            Box::new(m20261203_000001_two_factor::Migration),
            Box::new(m20261203_000004_credentials::Migration),
            Box::new(m20261203_000005_event_outbox::Migration),
            Box::new(m20261203_000006_open_ended_tasks::Migration),
            Box::new(m20261203_000007_task_code_counters::Migration),
            Box::new(m20261203_000008_task_list_indexes::Migration),
            Box::new(m20261203_000009_sealed_chains::Migration),
            Box::new(m20261204_000010_search_indexes::Migration),
            Box::new(m20261204_000011_list_indexes::Migration),
            Box::new(m20261204_000012_backup_drills::Migration),
            Box::new(m20261205_000013_audit_verifications::Migration),
            Box::new(m20261205_000014_feedback_digests::Migration),
            Box::new(m20261205_000015_open_task_counts::Migration),
            Box::new(m20261205_000016_shifts_and_leave::Migration),
            Box::new(m20261205_000017_sla::Migration),
            Box::new(m20261205_000018_outbox_notify::Migration),
            Box::new(m20261205_000019_statistics_indexes::Migration),
            Box::new(m20261206_000020_statistics_covering::Migration),
            Box::new(m20261206_000021_quiet_outbox::Migration),
            Box::new(m20261206_000022_search_text::Migration),
            Box::new(m20261206_000023_lean_updates::Migration),
            Box::new(m20261207_000024_backup_digests::Migration),
            Box::new(m20261208_000025_bot_inbox::Migration),
        ]
    }
}

/// Where a database stands relative to the migrations compiled into this binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaStatus {
    /// Every known migration is applied and nothing else is.
    Current,
    /// Known migrations not applied yet, oldest first.
    Pending(Vec<String>),
    /// The database has applied migrations this binary does not know (it was migrated by a
    /// newer release): running against it would be unsafe.
    Newer(Vec<String>),
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        matches!(self, SchemaStatus::Current)
    }
}

/// Compares the migrations recorded in the database with the ones compiled in.
///
/// Read-only: unlike `MigratorTrait::get_pending_migrations` it never creates the migration
/// table, so it is safe for readiness probes and for database users without DDL rights.
/// `Newer` wins over `Pending` when both apply.
pub async fn schema_status(db: &DatabaseConnection) -> Result<SchemaStatus, DbErr> {
    let table = Migrator::migration_table_name().to_string();
    let manager = SchemaManager::new(db);
    let applied: Vec<String> = if manager.has_table(&table).await? {
        seaql_migrations::Entity::find().all(db).await?.into_iter().map(|row| row.version).collect()
    } else {
        Vec::new()
    };
    let known: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();

    let mut unknown: Vec<String> = applied.iter().filter(|version| !known.contains(version)).cloned().collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Ok(SchemaStatus::Newer(unknown));
    }
    let pending: Vec<String> = known.into_iter().filter(|name| !applied.contains(name)).collect();
    if pending.is_empty() { Ok(SchemaStatus::Current) } else { Ok(SchemaStatus::Pending(pending)) }
}

/// The newest migration recorded in the database (`None` before any), read-only: what a
/// backup's manifest says its schema is.
pub async fn latest_applied(db: &DatabaseConnection) -> Result<Option<String>, DbErr> {
    let table = Migrator::migration_table_name().to_string();
    if !SchemaManager::new(db).has_table(&table).await? {
        return Ok(None);
    }
    Ok(seaql_migrations::Entity::find().all(db).await?.into_iter().map(|row| row.version).max())
}

#[cfg(test)]
mod tests {
    use super::split_task_code;

    #[test]
    fn task_codes_split_into_prefix_and_number() {
        assert_eq!(split_task_code("PATROL-2026-0042"), Some(("PATROL-2026-", 42)));
        assert_eq!(split_task_code("CAP-ESPECIAL-01"), Some(("CAP-ESPECIAL-", 1)));
        assert_eq!(split_task_code("PATROL-2026-"), None);
        assert_eq!(split_task_code("PATROL-2026-4a"), None);
        assert_eq!(split_task_code("PATROL-2026-+1"), None);
        assert_eq!(split_task_code("-12"), None);
        assert_eq!(split_task_code("SIN-GUION"), None);
    }
}
