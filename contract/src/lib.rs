//! The contract between GAD's doors and its core: the vocabulary of the domain, every value
//! that crosses a boundary (DTOs, pages, live events, one-shot form outcomes) and the error
//! every door answers with.
//!
//! Compiled for the browser and the server alike. It knows no database and no HTTP: the
//! dashboard's pages, its server functions, the services, the REST API and the bot all import
//! their types from here, so none of them needs to import another.

use serde::{Deserialize, Serialize};

pub mod account;
pub mod assignment;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod broadcasts;
pub mod domain;
pub mod emergency;
pub mod error;
pub mod events;
pub mod feedback;
pub mod flash;
pub mod format;
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

pub use error::{ApiError, ApiResult, ErrorCode, FieldError};

/// One page of a cursor-paginated list. `next_cursor` is opaque; pass it back to get the
/// following page; `None` means this is the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page { items: Vec::new(), next_cursor: None }
    }
}
