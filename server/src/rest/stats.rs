//! `/api/v1/statistics`: task figures over a period, scoped by role (officers their own
//! tasks, supervisors their team's, admins all).

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::stats::TaskStatistics;
use gad_core::services;
use gad_core::state::AppState;

use super::Params;
use super::auth::Caller;
use super::problem::{Problem, RestResult};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(statistics))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PeriodQuery {
    /// First day (inclusive) in the configured time zone, `YYYY-MM-DD`.
    from: NaiveDate,
    /// Last day (inclusive); at most 366 days in all.
    to: NaiveDate,
}

/// Counts by status, type and priority, completion rate, average / median / p90 durations,
/// and figures per day, officer and supervisor, for the calendar days `from..=to`. The
/// `scope` field says whose tasks were counted.
#[utoipa::path(get, path = "/statistics", tag = "statistics", params(PeriodQuery), responses(
    (status = 200, body = TaskStatistics), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn statistics(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<PeriodQuery>,
) -> RestResult<Json<TaskStatistics>> {
    Ok(Json(services::stats::for_days(&state, &caller.actor, q.from, q.to, services::stats::People::Listed).await?))
}
