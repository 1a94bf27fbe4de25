//! The assignment editor of the task page: who could take the task, how far they are and
//! what else they hold at that time. Assigning itself goes through `assign_officers` /
//! `unassign_officer` (api::tasks); `assign_officer_form` is the plain-form door to it.

use crate::domain::OfficerStatus;
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
}
