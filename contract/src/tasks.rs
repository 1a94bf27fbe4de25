//! Tasks: queries, the lifecycle (SPEC §4), assignments and CSV export, for the dashboard and
//! the bot.
//!
//! Encodings: functions a plain HTML form drives (status buttons, delete, unassign, detail)
//! take scalar arguments over the default URL encoding, so they work without JavaScript;
//! functions with structured input (create, update, assign, query, export) take JSON.

use crate::domain::{Channel, OfficerStatus, TaskPriority, TaskStatus, TaskType};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Which tasks to list: the viewer's own, or every task (supervisors and admins only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskScope {
    #[default]
    Mine,
    All,
}

/// One row of a task list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskSummary {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    /// Scheduled start in the configured time zone, `dd/mm/yyyy HH:MM`.
    pub scheduled_start: Option<String>,
    pub supervisor: Option<String>,
    pub officers: Vec<String>,
    /// Scheduled start and end (UTC).
    pub scheduled_start_at: Option<DateTime<Utc>>,
    pub scheduled_end_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub supervisor_id: Option<i64>,
    /// Ids of the assigned officers, in the order of `officers`.
    pub officer_ids: Vec<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub location_text: Option<String>,
    /// The earliest deadline still unmet (none: no deadline, or the task is over).
    #[serde(default)]
    pub sla_due_at: Option<DateTime<Utc>>,
}

/// A new task. `code` is generated (`<TYPE>-<YEAR>-<SEQ>`) when absent; `supervisor_id`
/// defaults to the creator when they are a supervisor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    #[serde(default)]
    pub code: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub task_type: TaskType,
    #[serde(default = "default_priority")]
    pub priority: TaskPriority,
    #[serde(default)]
    pub scheduled_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scheduled_end: Option<DateTime<Utc>>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub location_text: Option<String>,
    #[serde(default)]
    pub supervisor_id: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Officers assigned in the same transaction.
    #[serde(default)]
    pub officer_ids: Vec<i64>,
    /// Accept schedule overlaps of those officers (recorded in the history).
    #[serde(default)]
    pub allow_overlap: bool,
}

fn default_priority() -> TaskPriority {
    TaskPriority::Medium
}

impl NewTask {
    /// A task with only the required fields set (priority medium, nothing else).
    pub fn new(title: impl Into<String>, task_type: TaskType) -> Self {
        Self {
            code: None,
            title: title.into(),
            description: None,
            task_type,
            priority: default_priority(),
            scheduled_start: None,
            scheduled_end: None,
            lat: None,
            lon: None,
            location_text: None,
            supervisor_id: None,
            notes: None,
            officer_ids: Vec::new(),
            allow_overlap: false,
        }
    }
}

/// A partial update: `None` leaves a field alone; for nullable fields `Some(None)` (JSON
/// `null`) clears it and `Some(Some(v))` sets it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<TaskType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<TaskPriority>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub scheduled_start: Option<Option<DateTime<Utc>>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub scheduled_end: Option<Option<DateTime<Utc>>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub lat: Option<Option<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub lon: Option<Option<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub location_text: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub supervisor_id: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    pub notes: Option<Option<String>>,
}

/// A present field (even `null`) is `Some(..)`; an absent one stays `None` via `default`.
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One officer on a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskAssignmentInfo {
    pub officer_id: i64,
    pub code: String,
    pub name: String,
    pub status: OfficerStatus,
    pub assigned_at: DateTime<Utc>,
    /// `assigned_at` in the configured time zone.
    pub assigned_at_local: String,
    /// Assigned although it overlaps another of the officer's tasks.
    pub overlap_override: bool,
}

/// One row of the status history (oldest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskHistoryEntry {
    /// `None` for the creation row.
    pub from: Option<TaskStatus>,
    pub to: TaskStatus,
    pub by_user_id: Option<i64>,
    /// Full name of who did it.
    pub by: Option<String>,
    pub channel: Channel,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    pub at_local: String,
}

/// Everything about one task, for its detail page and the bot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskDetail {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    pub scheduled_start: Option<DateTime<Utc>>,
    pub scheduled_end: Option<DateTime<Utc>>,
    pub actual_start: Option<DateTime<Utc>>,
    pub actual_end: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    /// Total closed pause time.
    pub paused_seconds: i64,
    /// `actual_end − actual_start − paused_seconds`, once the task has ended.
    pub duration_seconds: Option<i64>,
    /// The times above in the configured time zone, `dd/mm/yyyy HH:MM`.
    pub scheduled_start_local: Option<String>,
    pub scheduled_end_local: Option<String>,
    pub actual_start_local: Option<String>,
    pub actual_end_local: Option<String>,
    pub supervisor_id: Option<i64>,
    pub supervisor: Option<String>,
    pub created_by: i64,
    pub created_by_name: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub location_text: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub assignments: Vec<TaskAssignmentInfo>,
    pub history: Vec<TaskHistoryEntry>,
    /// The statuses this viewer may move the task to now.
    pub allowed_transitions: Vec<TaskStatus>,
    /// Whether this viewer may edit, assign, cancel or delete the task.
    pub can_manage: bool,
    /// Its deadlines (acknowledge, start, finish), each met or not.
    #[serde(default)]
    pub deadlines: Vec<Deadline>,
    /// When an assigned officer confirmed they received it (or started it).
    #[serde(default)]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Whether this viewer may confirm receipt now (assigned, not yet confirmed, open).
    #[serde(default)]
    pub can_acknowledge: bool,
}

/// One deadline of a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deadline {
    pub kind: crate::sla::SlaTargetKind,
    pub due_at: DateTime<Utc>,
    /// `due_at` in the configured time zone, `dd/mm/yyyy HH:MM`.
    pub due_local: String,
    /// When it was met (none: not yet).
    pub met_at: Option<DateTime<Utc>>,
    /// Met after the due time, or not met and past it.
    pub late: bool,
}

/// Tasks by deadline: past one, or within 15 minutes of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlaFilter {
    Overdue,
    AtRisk,
}

/// Sort keys of a task query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskSort {
    /// Tasks without a scheduled start come last in both directions.
    #[default]
    ScheduledStart,
    Priority,
    CreatedAt,
    Code,
    /// The earliest unmet deadline; tasks without one come last in both directions.
    Due,
}

impl TaskSort {
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskSort::ScheduledStart => "scheduled_start",
            TaskSort::Priority => "priority",
            TaskSort::CreatedAt => "created_at",
            TaskSort::Code => "code",
            TaskSort::Due => "due",
        }
    }
}

/// Filters, order and page of a task query. Every filter is optional; officers only ever see
/// the tasks they are assigned to, whatever the filter says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskFilter {
    /// Any of these statuses (empty = all).
    #[serde(default)]
    pub statuses: Vec<TaskStatus>,
    #[serde(default)]
    pub task_type: Option<TaskType>,
    #[serde(default)]
    pub priority: Option<TaskPriority>,
    #[serde(default)]
    pub supervisor_id: Option<i64>,
    /// Tasks this officer is assigned to.
    #[serde(default)]
    pub officer_id: Option<i64>,
    /// Scheduled start on or after this day (configured time zone).
    #[serde(default)]
    pub date_from: Option<NaiveDate>,
    /// Scheduled start on or before this day (configured time zone).
    #[serde(default)]
    pub date_to: Option<NaiveDate>,
    /// Case-insensitive search in code, title and description.
    #[serde(default)]
    pub text: Option<String>,
    /// Past a deadline, or close to one.
    #[serde(default)]
    pub sla: Option<SlaFilter>,
    #[serde(default)]
    pub sort: TaskSort,
    #[serde(default)]
    pub descending: bool,
    /// From the previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// How many tasks a filter matches, counted up to a cap (`capped`: more than `total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskCount {
    pub total: u64,
    pub capped: bool,
}
