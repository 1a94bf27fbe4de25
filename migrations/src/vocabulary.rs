//! The closed vocabularies stored as TEXT and guarded by CHECK constraints.
//!
//! These lists are the database side of the enums in `app::domain`; a test in the app crate
//! compares both, so a value added on one side only fails the build's tests, not production.

pub const ROLES: &[&str] = &["officer", "supervisor", "admin"];
pub const OFFICER_STATUSES: &[&str] = &["available", "on_task", "off_duty", "unavailable"];
pub const POSITION_SOURCES: &[&str] = &["telegram", "web", "api"];
pub const TASK_TYPES: &[&str] =
    &["patrol", "investigation", "surveillance", "intervention", "administrative", "training", "emergency"];
pub const TASK_PRIORITIES: &[&str] = &["low", "medium", "high", "urgent", "critical"];
pub const TASK_STATUSES: &[&str] = &["scheduled", "in_progress", "paused", "completed", "cancelled"];
/// Statuses in which a task occupies its officers' schedule.
pub const TASK_OPEN_STATUSES: &[&str] = &["scheduled", "in_progress", "paused"];
pub const CHANNELS: &[&str] = &["web", "telegram", "api", "system"];
pub const BROADCAST_KINDS: &[&str] = &["normal", "alert", "urgent", "info"];
pub const DELIVERY_STATUSES: &[&str] = &["pending", "delivered", "failed"];
pub const FEEDBACK_STATUSES: &[&str] = &["new", "reviewing", "resolved"];
pub const AUDIT_SEVERITIES: &[&str] = &["info", "warning", "critical"];
pub const LEAVE_KINDS: &[&str] = &["vacation", "sick", "day_off", "training"];
pub const LEAVE_STATUSES: &[&str] = &["requested", "approved", "rejected", "cancelled"];

/// `'a', 'b', 'c'` — the body of an SQL `IN (...)` list.
pub(crate) fn sql_list(values: &[&str]) -> String {
    values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
}
