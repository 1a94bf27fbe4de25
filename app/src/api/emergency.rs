//! Emergencies (SPEC §4): anyone reports a point; GAD creates a critical `emergency` task
//! there, ranks the nearest available officers and dispatches the nearest (or the ones a
//! supervisor picks).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::api::geo::NearbyOfficer;
use crate::api::tasks::TaskDetail;

/// Whom to assign to a new emergency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmergencyOutcome {
    pub task: TaskDetail,
    pub candidates: Vec<NearbyOfficer>,
    pub assigned_officer_ids: Vec<i64>,
}

/// Raises an emergency at (`lat`, `lon`). Without `assign`, the nearest officer is dispatched.
#[server(prefix = "/api/fn", endpoint = "raise_emergency", input = server_fn::codec::Json)]
pub async fn raise_emergency(
    lat: f64,
    lon: f64,
    #[server(default)] description: Option<String>,
    #[server(default)] assign: EmergencyAssign,
) -> Result<EmergencyOutcome, ApiError> {
    use crate::server::{context, services};

    let meta = context::request_meta();
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::emergency::raise(&state, &actor, &meta, lat, lon, description, assign).await
        }
        .await,
    )
}
