//! Server functions and DTOs: officers (efectivos), their status and positions.

use crate::domain::{Duty, OfficerStatus, PositionSource};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A reported position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
    /// Metres; unknown for positions without it (and in [`Officer::last_position`]).
    pub accuracy_m: Option<f64>,
    pub source: PositionSource,
    pub recorded_at: DateTime<Utc>,
}

/// An officer's profile with their status and last known position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Officer {
    pub id: i64,
    /// The linked user (role officer), if the officer can log in.
    pub user_id: Option<i64>,
    pub code: String,
    pub first_name: String,
    pub last_name: String,
    pub rank: String,
    pub unit: String,
    pub specialty: Option<String>,
    pub status: OfficerStatus,
    pub status_changed_at: DateTime<Utc>,
    pub last_position: Option<Position>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// On shift, off shift, on leave, or no shifts on record, now.
    #[serde(default = "no_roster")]
    pub duty: Duty,
}

fn no_roster() -> Duty {
    Duty::NoRoster
}

/// The editable fields of an officer (create and update).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfficerInput {
    pub code: String,
    pub first_name: String,
    pub last_name: String,
    pub rank: String,
    pub unit: String,
    pub specialty: Option<String>,
    pub user_id: Option<i64>,
}

/// Filters of the officers list; empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OfficerFilter {
    pub status: Option<OfficerStatus>,
    /// Exact unit name (case-insensitive).
    pub unit: Option<String>,
    /// Part of the code, first or last name, rank or unit (case-insensitive).
    pub text: Option<String>,
}

/// The answer to a position report: the stored position and whether it is now the
/// officer's last known one (an older report only joins the history).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PositionAccepted {
    pub officer_id: i64,
    pub position: Position,
    pub current: bool,
}

/// An officer's positions in `[from, to)`, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Track {
    pub officer_id: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub positions: Vec<Position>,
    /// More positions exist in the window than were returned (the oldest ones are returned).
    pub truncated: bool,
}
