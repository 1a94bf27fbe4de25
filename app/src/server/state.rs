//! Application state shared by every request, bot update and background job.

use std::sync::Arc;

use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::server::cache::Caches;
use crate::server::config::Config;
use crate::server::events::EventBus;

pub type RedisPool = bb8::Pool<bb8_redis::RedisConnectionManager>;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: Option<RedisPool>,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub events: EventBus,
    /// Serialises write transactions in embedded (SQLite) mode; see `db::WriteTxn`.
    pub sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// Views shared by many dashboards, invalidated by `events`.
    pub caches: Arc<Caches>,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
