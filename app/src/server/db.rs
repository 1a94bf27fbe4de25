//! Database connection and schema checks, for SQLite (embedded) and PostgreSQL.

use std::time::Duration;

use migrations::sea_orm_migration::MigratorTrait;
use migrations::{Migrator, SchemaStatus};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use crate::server::config::Config;
use crate::server::error::{AppError, AppResult};

/// Opens the pool. For a SQLite file the parent directory is created and WAL is enabled.
pub async fn connect(config: &Config) -> AppResult<DatabaseConnection> {
    let url = config.database_url.expose();
    if let Some(path) = sqlite_file_path(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if config.is_sqlite() { 8 } else { 20 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if config.is_sqlite() && sqlite_file_path(url).is_some() {
        db.execute_unprepared("PRAGMA journal_mode=WAL;").await?;
    }
    Ok(db)
}

/// `sqlite://path?query` → `path` (None for in-memory databases or other backends).
fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// Applies pending migrations, refusing a database migrated by a newer GAD.
pub async fn migrate(db: &DatabaseConnection) -> AppResult<()> {
    if let SchemaStatus::Newer(unknown) = migrations::schema_status(db).await? {
        return Err(AppError::Internal(newer_schema_message(&unknown)));
    }
    Migrator::up(db, None).await?;
    Ok(())
}

pub fn newer_schema_message(unknown: &[String]) -> String {
    format!(
        "the database schema is newer than this gad binary (unknown migrations: {}); \
         run a gad release that includes them",
        unknown.join(", ")
    )
}

/// One business operation's transaction. On SQLite, writers are serialised in-process (the
/// embedded mode is a single process), which keeps the audit chain and read-then-write checks
/// free of `SQLITE_BUSY` races; on PostgreSQL, row locks and advisory locks do that job.
/// Events emitted during the operation are published only after the commit succeeds, and the
/// commit marks this replica's cached views stale ([`crate::server::cache`]).
pub struct WriteTxn {
    txn: sea_orm::DatabaseTransaction,
    events: Vec<crate::api::events::Event>,
    bus: crate::server::events::EventBus,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTxn {
    type Target = sea_orm::DatabaseTransaction;
    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

impl WriteTxn {
    pub async fn begin(state: &crate::server::state::AppState) -> AppResult<Self> {
        use sea_orm::TransactionTrait;
        let writer = match state.db.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => Some(state.sqlite_writer.clone().lock_owned().await),
            _ => None,
        };
        let txn = state.db.begin().await?;
        Ok(Self { txn, events: Vec::new(), bus: state.events.clone(), _writer: writer })
    }

    /// Queues an event for publication after the commit.
    pub fn emit(&mut self, event: crate::api::events::Event) {
        self.events.push(event);
    }

    pub async fn commit(self) -> AppResult<()> {
        let WriteTxn { txn, events, bus, _writer } = self;
        txn.commit().await?;
        drop(_writer);
        bus.invalidate();
        for event in events {
            bus.publish(event).await;
        }
        Ok(())
    }
}
