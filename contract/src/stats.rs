//! Server functions and DTOs: task statistics.
//!
//! Every figure comes from the database; an empty period gives zeros and `None`, never an
//! invented number. Two sets of tasks are counted, both over `[from, to)`:
//! - the tasks **of the period**: those whose reference time — scheduled start, else actual
//!   start, else creation — falls in it (counts by status, type and priority, completion
//!   rate, tasks per day, assigned / active per officer and supervisor);
//! - the tasks **completed in the period**: completed with their actual end in it (durations,
//!   completed per day, per officer and per supervisor).

use crate::domain::{TaskPriority, TaskStatus, TaskType};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Whose tasks the figures cover (SPEC §5): an officer's own, a supervisor's team, or all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StatsScope {
    /// Tasks assigned to the viewer.
    Own,
    /// Tasks the viewer supervises, plus unassigned tasks they created.
    Team,
    All,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusCount {
    pub status: TaskStatus,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypeCount {
    pub task_type: TaskType,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriorityCount {
    pub priority: TaskPriority,
    pub count: u64,
}

/// One calendar day in the configured time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayCount {
    pub date: NaiveDate,
    /// Tasks of the period whose reference time falls on this day.
    pub tasks: u64,
    /// Tasks completed on this day.
    pub completed: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficerStats {
    pub officer_id: i64,
    pub code: String,
    pub name: String,
    /// Tasks of the period assigned to the officer.
    pub assigned: u64,
    /// Tasks completed in the period by the officer.
    pub completed: u64,
    /// Tasks of the period assigned to the officer that are in progress or paused.
    pub active: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupervisorStats {
    pub user_id: i64,
    pub name: String,
    /// Tasks of the period the supervisor is in charge of.
    pub tasks: u64,
    pub completed: u64,
    pub active: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskStatistics {
    pub scope: StatsScope,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// IANA name of the time zone the days are counted in.
    pub timezone: String,
    /// Number of tasks of the period.
    pub total: u64,
    /// Every status, zeros included, in lifecycle order.
    pub by_status: Vec<StatusCount>,
    pub by_type: Vec<TypeCount>,
    pub by_priority: Vec<PriorityCount>,
    /// Completed ÷ (completed + cancelled) among the tasks of the period; `None` when none of
    /// them has finished.
    pub completion_rate: Option<f64>,
    /// Tasks completed in the period (the sample of the durations below).
    pub completed_in_period: u64,
    /// Actual duration (end − start − paused time) of the tasks completed in the period.
    pub average_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    /// 90th percentile, linear interpolation between the closest ranks.
    pub p90_seconds: Option<f64>,
    /// Every day of the period, days without tasks included.
    pub per_day: Vec<DayCount>,
    /// Officers with tasks in the period, most completed first.
    pub per_officer: Vec<OfficerStats>,
    /// Supervisors in charge of tasks in the period, most completed first.
    pub per_supervisor: Vec<SupervisorStats>,
}
