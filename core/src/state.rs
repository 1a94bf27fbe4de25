//! Application state shared by every request, bot update and background job.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::cache::Caches;
use crate::config::Config;
use crate::events::EventBus;

pub use crate::redis_pool::RedisPool;

/// Cloned for every request and every server function a page calls (a few dozen times per
/// page), so a clone is one reference count: the parts live behind one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl AppState {
    pub fn new(parts: Parts) -> Self {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// What `AppState` holds.
pub struct Parts {
    pub db: DatabaseConnection,
    pub redis: Option<RedisPool>,
    pub config: Arc<Config>,
    pub events: EventBus,
    /// Serialises write transactions in embedded (SQLite) mode; see `db::WriteTxn`.
    pub sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// Views shared by many dashboards, invalidated by `events`.
    pub caches: Arc<Caches>,
}
