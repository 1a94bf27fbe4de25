//! Tracing set-up: JSON lines in production (`LOG_FORMAT=json`), pretty in development.

use gad_core::config::LogFormat;
use tracing_subscriber::EnvFilter;

const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,tower_sessions=warn";

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    // `try_init`: tests start several applications in one process.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// Before the secret left the webhook's path, Telegram was told `/telegram/webhook/<secret>`;
/// until `gad bot --set-webhook` runs again it still posts there (now a 404). Logs and metrics
/// get this instead of such a path.
pub fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    const PREFIX: &str = "/telegram/webhook/";
    if path.starts_with(PREFIX) && path.len() > PREFIX.len() {
        std::borrow::Cow::Owned(format!("{PREFIX}***"))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}
