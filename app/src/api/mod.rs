//! Server functions (one module per domain) and the DTOs they exchange with the browser.
//!
//! Each server function is a thin adapter: resolve `AppState` and the `Actor` from context,
//! call the service, map the error. The Telegram bot calls these same functions through
//! `server::harness`, so both doors share one set of rules.

pub mod audit;
pub mod auth;
pub mod broadcasts;
pub mod emergency;
pub mod error;
pub mod events;
pub mod feedback;
pub mod geo;
pub mod map;
pub mod officers;
pub mod overview;
pub mod stats;
pub mod tasks;
pub mod users;

pub use error::{ApiError, ApiResult, ErrorCode, FieldError};

use serde::{Deserialize, Serialize};

/// One page of a cursor-paginated list. `next_cursor` is opaque; pass it back to get the
/// following page; `None` means this is the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
