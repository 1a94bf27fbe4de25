//! What admins see of backups and restore drills (the `/respaldos` page).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One backup that reached the bucket (`gad backup`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupRow {
    pub finished_at: DateTime<Utc>,
    pub backend: String,
    pub object_key: String,
    pub size_bytes: i64,
}

/// One restore drill (`gad backup drill`), passed or failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrillRow {
    pub finished_at: DateTime<Utc>,
    pub object_key: String,
    pub ok: bool,
    pub tables_checked: i32,
    /// What failed, one line per problem; empty for a drill that passed.
    pub detail: String,
}

/// The newest backups and drills, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupsOverview {
    pub backups: Vec<BackupRow>,
    pub drills: Vec<DrillRow>,
}
