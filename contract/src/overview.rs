//! The overview page (Resumen) and the notifications bell: KPIs, charts and recent activity.
//!
//! Every figure comes from the database through the services: the task statistics of the
//! last [`OVERVIEW_DAYS`] days ([`crate::api::stats`]), the open tasks and officers as they are
//! now, and the latest status changes the viewer may see.

use crate::domain::{OfficerStatus, TaskPriority, TaskStatus, TaskType};
use crate::stats::{StatusCount, TaskStatistics};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Days covered by the overview's charts (today included).
pub const OVERVIEW_DAYS: i64 = 14;

/// One status change of a task (its creation included), newest first in lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    /// The history row's id (stable, increasing).
    pub id: i64,
    pub task_id: i64,
    pub code: String,
    pub title: String,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    /// `None` when the task was created.
    pub from: Option<TaskStatus>,
    pub to: TaskStatus,
    pub by: Option<String>,
    pub at: DateTime<Utc>,
    /// `at` in the configured time zone, `dd/mm/yyyy HH:MM`.
    pub at_local: String,
    /// What happened when the status did not change (`from == to`): an assignment, an
    /// unassignment or an authorised overlap, in words ("Asignado: EF-001 Martín Sosa").
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficerStatusCount {
    pub status: OfficerStatus,
    pub count: u64,
}

/// Everything the overview shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// Open tasks the viewer may see, by status, as they are now (scheduled, in progress, paused).
    pub open_by_status: Vec<StatusCount>,
    /// Officers by status now; `None` for viewers who may not see officers.
    pub officers_by_status: Option<Vec<OfficerStatusCount>>,
    /// Open emergency tasks the viewer may see.
    pub open_emergencies: u64,
    /// The latest of them (newest first, at most 10): code, title, status.
    #[serde(default)]
    pub open_emergency_list: Vec<OpenEmergency>,
    /// Tasks completed today (configured time zone).
    pub completed_today: u64,
    /// Statistics of the last [`OVERVIEW_DAYS`] days: per day, by type, median duration. The
    /// lists per officer and per supervisor are left empty (the overview shows none; the
    /// statistics server function and `GET /api/v1/statistics` give them).
    pub stats: TaskStatistics,
    /// The latest status changes, newest first.
    pub activity: Vec<ActivityItem>,
    /// Deadlines: open tasks past one or close to one, and how the finished tasks of the
    /// period met theirs, by type.
    #[serde(default)]
    pub sla: SlaSummary,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaSummary {
    pub overdue: u64,
    /// Within 15 minutes of a deadline.
    pub at_risk: u64,
    /// Per type with finished tasks that had a finish deadline: how many finished in time.
    pub by_type: Vec<SlaCompliance>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaCompliance {
    pub task_type: TaskType,
    pub met: u64,
    pub total: u64,
}

/// The bell: the latest changes relevant to the viewer and how many arrived since they last
/// marked them read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notifications {
    pub items: Vec<ActivityItem>,
    pub unread: u64,
}

/// An open emergency on the home's panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenEmergency {
    pub task_id: i64,
    pub code: String,
    pub title: String,
    pub status: TaskStatus,
}
