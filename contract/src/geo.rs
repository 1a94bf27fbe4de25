//! Server functions and DTOs: geo (where officers and tasks are).
//!
//! Distances are great-circle metres on the WGS84 mean-radius sphere, the same model on
//! PostgreSQL (PostGIS geography, `use_spheroid = false`) and SQLite (haversine), so both
//! backends return the same rows in the same order.

use crate::domain::{Duty, OfficerStatus, TaskPriority, TaskStatus, TaskType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An officer near a point, with the distance from it to their last known position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NearbyOfficer {
    pub officer_id: i64,
    pub code: String,
    pub name: String,
    pub status: OfficerStatus,
    pub lat: f64,
    pub lon: f64,
    pub distance_m: f64,
    pub position_at: DateTime<Utc>,
    /// Whether emergency dispatch would send this officer: available, with a position no
    /// older than `GAD_POSITION_FRESH_MINUTES` (the one rule the map and dispatch share).
    #[serde(default)]
    pub dispatchable: bool,
    /// On shift, off shift, on leave, or no shifts on record (then the status alone counts).
    #[serde(default = "no_roster")]
    pub duty: Duty,
}

fn no_roster() -> Duty {
    Duty::NoRoster
}

/// An officer on the map: their last known position, no reference point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficerOnMap {
    pub officer_id: i64,
    pub code: String,
    pub name: String,
    pub status: OfficerStatus,
    pub lat: f64,
    pub lon: f64,
    pub position_at: DateTime<Utc>,
    #[serde(default = "no_roster")]
    pub duty: Duty,
}

/// A task with a location, for the map. `distance_m` is set by radius searches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskOnMap {
    pub task_id: i64,
    pub code: String,
    pub title: String,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    pub lat: f64,
    pub lon: f64,
    pub location_text: Option<String>,
    pub distance_m: Option<f64>,
    /// Past a deadline (drawn ringed on the map).
    #[serde(default)]
    pub overdue: bool,
}
