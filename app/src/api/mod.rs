//! Server functions (one module per domain) and the DTOs they exchange with the browser.
//!
//! Each server function is a thin adapter: resolve `AppState` and the `Actor` from context,
//! call the service, map the error. The Telegram bot calls these same functions through
//! `server::harness`, so both doors share one set of rules.

pub mod account;
pub mod assignment;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod broadcasts;
pub mod codec;
pub mod emergency;
pub mod feedback;
pub mod flash;
pub mod geo;
pub mod map;
pub mod notes;
pub mod officers;
pub mod overview;
pub mod replay;
pub mod roster;
pub mod sla;
pub mod stats;
pub mod task_forms;
pub mod tasks;
pub mod twofactor;
pub mod user_forms;
pub mod users;

pub use contract::{ApiError, ApiResult, ErrorCode, FieldError, Page, error, events};

/// After a plain form post (no JavaScript), sends the browser on: to `ok` on success, to
/// `failed?error=<code>` otherwise. A hydrated client or the bot gets the value itself.
#[cfg(feature = "ssr")]
pub(crate) fn form_redirect<T>(
    meta: &crate::server::context::RequestMeta,
    result: &Result<T, ApiError>,
    ok: &str,
    failed: &str,
) {
    if !meta.plain_form_post {
        return;
    }
    match result {
        Ok(_) => leptos_axum::redirect(ok),
        Err(err) => {
            let code =
                serde_json::to_value(err.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            leptos_axum::redirect(&format!("{failed}?error={code}"));
        }
    }
}
