//! Shifts and leave (turnos y licencias): who works when, who is away, and the week's
//! calendar of a unit with its gaps in coverage.

use crate::domain::{Duty, LeaveKind, LeaveStatus};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One shift of one officer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shift {
    pub id: i64,
    pub officer_id: i64,
    pub officer_code: String,
    pub officer_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Shared by the shifts of one recurring pattern.
    pub series: Option<String>,
    pub note: Option<String>,
}

/// A one-off shift, or a recurring pattern when `repeat` is given: `on_hours` on, then
/// `off_hours` off (12×36: 12 on, 36 off; day shifts of 12 h: 12 on, 12 off), from `starts_at`
/// until the end of the day `until` (local; at most 92 days on).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShiftInput {
    pub officer_id: i64,
    pub starts_at: DateTime<Utc>,
    /// Hours on duty per shift (1–24).
    pub on_hours: u32,
    #[serde(default)]
    pub repeat: Option<ShiftRepeat>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShiftRepeat {
    /// Hours off between shifts (1–336).
    pub off_hours: u32,
    /// The last day (local) a shift may start on.
    pub until: NaiveDate,
}

/// What creating shifts made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShiftsCreated {
    pub series: Option<String>,
    pub shifts: Vec<Shift>,
}

/// A leave of one officer over whole local days `first_day..=last_day`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Leave {
    pub id: i64,
    pub officer_id: i64,
    pub officer_code: String,
    pub officer_name: String,
    pub kind: LeaveKind,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub status: LeaveStatus,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A leave request. Without `officer_id`, for the caller's own officer profile; supervisors may
/// register leave for any officer (then it is approved at once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LeaveInput {
    #[serde(default)]
    pub officer_id: Option<i64>,
    pub kind: LeaveKind,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A supervisor's decision on a requested leave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LeaveDecision {
    pub approve: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// A unit's week: each officer's shifts and leave per day, and the hours nobody covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterWeek {
    /// `None`: every unit.
    pub unit: Option<String>,
    /// The Monday the week starts on (local).
    pub week_start: NaiveDate,
    pub days: Vec<NaiveDate>,
    pub rows: Vec<RosterRow>,
    /// Per day: the local times nobody of the unit is on shift.
    pub gaps: Vec<Vec<TimeSpan>>,
    /// Every unit with officers, for choosing.
    pub units: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterRow {
    pub officer_id: i64,
    pub code: String,
    pub name: String,
    pub unit: String,
    /// Whether the officer is on duty now.
    pub duty: Duty,
    /// One entry per day of the week.
    pub days: Vec<RosterDay>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterDay {
    /// The shifts overlapping the day, as local times (`08:00`–`20:00`; `24:00` for midnight).
    pub shifts: Vec<TimeSpan>,
    /// Leave touching the day (approved or requested).
    pub leave: Option<DayLeave>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayLeave {
    pub leave_id: i64,
    pub kind: LeaveKind,
    pub status: LeaveStatus,
}

/// Local times of one day, `HH:MM`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeSpan {
    pub from: String,
    pub to: String,
    /// The shift this part belongs to (none for gaps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<i64>,
}
