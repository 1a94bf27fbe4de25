//! Track replay: an officer's (or a task's officers') positions over a window, with the
//! speed between points, the stops, and the task events of the window to mark on a timeline.

use crate::domain::TaskStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What to replay: one officer, or every officer assigned to a task. The window defaults to
/// the last 8 hours (an officer) or the task's life (created → finished, or now).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayRequest {
    pub officer_id: Option<i64>,
    pub task_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A replay: the window, one track per officer, the tasks involved and their status changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replay {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tracks: Vec<ReplayTrack>,
    /// The tasks whose changes are marked, with their place when they have one.
    pub tasks: Vec<ReplayTask>,
    /// Status changes of those tasks inside the window, oldest first.
    pub marks: Vec<ReplayMark>,
}

/// One officer's positions in the window, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayTrack {
    pub officer_id: i64,
    pub code: String,
    pub name: String,
    pub points: Vec<ReplayPoint>,
    /// Places the officer stayed at (within 50 m for at least 3 minutes).
    pub stops: Vec<ReplayStop>,
    /// Metres travelled between consecutive points.
    pub distance_m: f64,
    /// Highest speed between two consecutive points, km/h.
    pub max_speed_kmh: Option<f64>,
    /// More positions exist in the window than were returned (the oldest ones are returned).
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayPoint {
    pub lat: f64,
    pub lon: f64,
    pub at: DateTime<Utc>,
    /// Speed from the previous point, km/h (none for the first point).
    pub speed_kmh: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayStop {
    pub lat: f64,
    pub lon: f64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub seconds: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayTask {
    pub task_id: i64,
    pub code: String,
    pub title: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayMark {
    pub at: DateTime<Utc>,
    pub task_id: i64,
    pub code: String,
    /// `None` for the task's creation.
    pub from_status: Option<TaskStatus>,
    pub to_status: TaskStatus,
}
