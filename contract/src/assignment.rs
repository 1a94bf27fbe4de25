//! The assignment editor of the task page: who could take the task, how far they are and
//! what else they hold at that time. Assigning itself goes through `assign_officers` /
//! `unassign_officer` (api::tasks); `assign_officer_form` is the plain-form door to it.

use crate::domain::{Duty, OfficerStatus};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssignmentCandidate {
    pub officer_id: i64,
    pub code: String,
    pub name: String,
    pub status: OfficerStatus,
    /// Already assigned to this task.
    pub assigned: bool,
    /// From the officer's last known position to the task (metres), when both are known.
    pub distance_m: Option<f64>,
    /// Codes of the officer's other open tasks whose time slot overlaps this one.
    pub overlapping_tasks: Vec<String>,
    /// On shift, off shift or on leave when the task starts (now, for a task without a time).
    #[serde(default = "no_roster")]
    pub duty: Duty,
    /// Approved leave overlapping the task, in words ("Vacaciones del 10/12 al 20/12/2026"):
    /// assigning needs the override.
    #[serde(default)]
    pub leave: Option<String>,
}

fn no_roster() -> Duty {
    Duty::NoRoster
}
