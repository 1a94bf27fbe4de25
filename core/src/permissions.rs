//! The permission matrix of SPEC §5, in one place. Services ask `require(actor, capability)`;
//! nothing else in the code base decides who may do what.

use crate::actor::Actor;
use crate::error::AppError;
use contract::domain::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// See tasks that are not assigned to you.
    SeeAllTasks,
    /// Create, edit, assign and cancel tasks.
    ManageTasks,
    /// Start, pause, resume or complete a task you are not assigned to.
    OperateAnyTask,
    ReportEmergency,
    ManageOfficers,
    /// See officers, their positions and tracks (not only your own profile).
    SeeOfficers,
    /// Change your own officer status (available, off duty, unavailable).
    SetOwnStatus,
    UpdateOwnPosition,
    Broadcast,
    ManageUsers,
    /// Create and delete the Telegram groups broadcasts go to.
    ManageGroups,
    ReadAudit,
    RunBackups,
    /// Bring people and tasks in from another system or a spreadsheet (`gad import`).
    ImportData,
    TeamStatistics,
    /// Statistics over every task, not only your team's.
    AllStatistics,
    /// Send feedback (any signed-in person).
    GiveFeedback,
    /// Read feedback and move it through its workflow.
    ReviewFeedback,
    /// Write and delete notes in your own logbook.
    KeepOwnNotes,
    /// Read your own logbook (nobody reads another person's).
    ReadOwnNotes,
    /// Plan shifts (one-off and recurring) and register leave for any officer.
    ManageShifts,
    /// Approve or reject requested leave.
    DecideLeave,
    /// Request leave for your own officer profile.
    RequestOwnLeave,
}

pub fn allows(role: Role, capability: Capability) -> bool {
    use Capability::*;
    match capability {
        ReportEmergency | UpdateOwnPosition | SetOwnStatus | GiveFeedback | KeepOwnNotes | ReadOwnNotes
        | RequestOwnLeave => true,
        ReviewFeedback => matches!(role, Role::Supervisor | Role::Admin),
        SeeAllTasks | ManageTasks | OperateAnyTask | ManageOfficers | SeeOfficers | Broadcast | TeamStatistics
        | ManageShifts | DecideLeave => {
            matches!(role, Role::Supervisor | Role::Admin)
        }
        ManageUsers | ManageGroups | ReadAudit | RunBackups | ImportData | AllStatistics => role == Role::Admin,
    }
}

/// Capabilities that only read.
fn is_read_only(capability: Capability) -> bool {
    matches!(
        capability,
        Capability::SeeAllTasks
            | Capability::ReadAudit
            | Capability::TeamStatistics
            | Capability::SeeOfficers
            | Capability::AllStatistics
            | Capability::ReadOwnNotes
    )
}

pub fn require(actor: &Actor, capability: Capability) -> Result<(), AppError> {
    if actor.read_only && !is_read_only(capability) {
        return Err(AppError::Forbidden);
    }
    if allows(actor.role, capability) { Ok(()) } else { Err(AppError::Forbidden) }
}

/// For changes to one's own data that need no capability (own password, own token): only
/// a read-only token is refused.
pub fn require_write(actor: &Actor) -> Result<(), AppError> {
    if actor.read_only { Err(AppError::Forbidden) } else { Ok(()) }
}

/// Minting credentials (API tokens, Telegram link codes) and changing passwords need the
/// person: a request authenticated by an API token is refused, so a stolen token cannot
/// outlive its own revocation or expiry by minting others.
pub fn require_interactive(actor: &Actor) -> Result<(), AppError> {
    if actor.via_token { Err(AppError::Forbidden) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;

    #[test]
    fn matrix_matches_the_spec() {
        // (capability, officer, supervisor, admin) — SPEC §5.
        let table = [
            (SeeAllTasks, false, true, true),
            (ManageTasks, false, true, true),
            (OperateAnyTask, false, true, true),
            (ReportEmergency, true, true, true),
            (ManageOfficers, false, true, true),
            (SeeOfficers, false, true, true),
            (SetOwnStatus, true, true, true),
            (UpdateOwnPosition, true, true, true),
            (Broadcast, false, true, true),
            (ManageUsers, false, false, true),
            (ManageGroups, false, false, true),
            (ReadAudit, false, false, true),
            (RunBackups, false, false, true),
            (ImportData, false, false, true),
            (TeamStatistics, false, true, true),
            (AllStatistics, false, false, true),
            (GiveFeedback, true, true, true),
            (ReviewFeedback, false, true, true),
            (KeepOwnNotes, true, true, true),
            (ReadOwnNotes, true, true, true),
            (ManageShifts, false, true, true),
            (DecideLeave, false, true, true),
            (RequestOwnLeave, true, true, true),
        ];
        for (cap, officer, supervisor, admin) in table {
            assert_eq!(allows(Role::Officer, cap), officer, "officer {cap:?}");
            assert_eq!(allows(Role::Supervisor, cap), supervisor, "supervisor {cap:?}");
            assert_eq!(allows(Role::Admin, cap), admin, "admin {cap:?}");
        }
    }
}
