//! The personal logbook (notas). Plain scalar arguments: the page's forms work without
//! JavaScript and a plain form post is sent back to `/notas`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub id: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// `created_at` in the configured time zone.
    pub created_at_local: String,
}
