//! Emergencies (SPEC §4): anyone reports a point; GAD creates a critical `emergency` task
//! there, ranks the nearest available officers and dispatches the nearest (or the ones a
//! supervisor picks).

use crate::geo::NearbyOfficer;
use crate::tasks::TaskDetail;
use serde::{Deserialize, Serialize};

/// Whom to assign to a new emergency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmergencyAssign {
    /// Only rank the candidates; assign nobody yet.
    None,
    /// The `n` nearest available officers (1–20).
    Nearest(u32),
    /// These officers, typically picked from the ranked list (supervisors and admins only).
    Officers(Vec<i64>),
}

impl Default for EmergencyAssign {
    fn default() -> Self {
        EmergencyAssign::Nearest(1)
    }
}

/// The emergency task, the ranked candidates (nearest first, with distances) and who was
/// assigned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyOutcome {
    pub task: TaskDetail,
    pub candidates: Vec<NearbyOfficer>,
    pub assigned_officer_ids: Vec<i64>,
    /// Why nobody was dispatched when someone was asked for: who is nearest and why they
    /// were not sent (the position-freshness rule, the radius), in Spanish.
    #[serde(default)]
    pub not_dispatched: Option<String>,
}
