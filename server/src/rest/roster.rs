//! `/api/v1/roster`, `/api/v1/shifts` and `/api/v1/leaves`: shifts and leave (turnos y
//! licencias), the week calendar and its CSV.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::domain::LeaveStatus;
use contract::roster::{Leave, LeaveDecision, LeaveInput, RosterWeek, Shift, ShiftInput, ShiftsCreated};
use gad_core::services::roster;
use gad_core::state::AppState;

use super::auth::Caller;
use super::problem::{Problem, RestResult};
use super::{Body, Params, PathArgs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(week))
        .routes(routes!(week_csv))
        .routes(routes!(list_shifts, create_shifts))
        .routes(routes!(delete_shift))
        .routes(routes!(list_leaves, request_leave))
        .routes(routes!(decide_leave))
        .routes(routes!(cancel_leave))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct WeekQuery {
    /// Any day of the week (local); today by default. Weeks start on Monday.
    week: Option<NaiveDate>,
    /// Only officers of this unit (exact name).
    unit: Option<String>,
}

fn today(state: &AppState) -> NaiveDate {
    Utc::now().with_timezone(&state.config.timezone).date_naive()
}

/// A unit's week: each officer's shifts and leave per day (local times), whether they are on
/// duty now, and per day the times nobody is on shift. Supervisors and admins.
#[utoipa::path(get, path = "/roster", tag = "roster", params(WeekQuery), responses(
    (status = 200, body = RosterWeek), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn week(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<WeekQuery>,
) -> RestResult<Json<RosterWeek>> {
    let day = q.week.unwrap_or_else(|| today(&state));
    Ok(Json(roster::week(&state, &caller.actor, q.unit, day).await?))
}

/// The same week as CSV: one row per officer and day.
#[utoipa::path(get, path = "/roster.csv", tag = "roster", params(WeekQuery), responses(
    (status = 200, content_type = "text/csv", body = String), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn week_csv(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<WeekQuery>,
) -> RestResult<impl IntoResponse> {
    let day = q.week.unwrap_or_else(|| today(&state));
    let csv = roster::week_csv(&state, &caller.actor, q.unit, day).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"turnos-{}.csv\"", roster::monday_of(day)),
            ),
        ],
        csv,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ShiftsQuery {
    /// The officer (your own profile by default).
    officer_id: Option<i64>,
    /// Start of the window, RFC 3339 (now by default).
    from: Option<DateTime<Utc>>,
    /// End of the window, RFC 3339 (7 days after `from` by default; at most 92 days).
    to: Option<DateTime<Utc>>,
}

/// An officer's shifts overlapping the window, oldest first. Officers see only their own.
#[utoipa::path(get, path = "/shifts", tag = "roster", params(ShiftsQuery), responses(
    (status = 200, body = Vec<Shift>), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_shifts(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<ShiftsQuery>,
) -> RestResult<Json<Vec<Shift>>> {
    let from = q.from.unwrap_or_else(Utc::now);
    let to = q.to.or_else(|| from.checked_add_signed(chrono::Duration::days(7))).unwrap_or(from);
    Ok(Json(roster::shifts_of(&state, &caller.actor, q.officer_id, from, to).await?))
}

/// Plans a shift, or a recurring pattern with `repeat` (12×36: `on_hours` 12, `off_hours` 36),
/// refusing any that overlaps a planned one. Supervisors and admins.
#[utoipa::path(post, path = "/shifts", tag = "roster", request_body = ShiftInput, responses(
    (status = 201, body = ShiftsCreated), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn create_shifts(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<ShiftInput>,
) -> RestResult<(StatusCode, Json<ShiftsCreated>)> {
    let created = roster::create_shifts(&state, &caller.actor, &caller.meta, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeleteShiftQuery {
    /// Also every shift of the same pattern that has not ended.
    #[serde(default)]
    series: bool,
}

#[derive(Debug, Serialize, ToSchema)]
struct Removed {
    removed: u64,
}

/// Removes a shift (with `series=true`, its pattern's shifts that have not ended).
#[utoipa::path(delete, path = "/shifts/{id}", tag = "roster", params(("id" = i64, Path), DeleteShiftQuery),
    responses((status = 200, body = Removed), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem)))]
async fn delete_shift(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Params(q): Params<DeleteShiftQuery>,
) -> RestResult<Json<Removed>> {
    let removed = roster::delete_shift(&state, &caller.actor, &caller.meta, id, q.series).await?;
    Ok(Json(Removed { removed }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LeavesQuery {
    /// One officer's leave (officers: only their own, the default for them).
    officer_id: Option<i64>,
    status: Option<LeaveStatus>,
}

/// Leave, newest first (at most 200).
#[utoipa::path(get, path = "/leaves", tag = "roster", params(LeavesQuery), responses(
    (status = 200, body = Vec<Leave>), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn list_leaves(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<LeavesQuery>,
) -> RestResult<Json<Vec<Leave>>> {
    Ok(Json(roster::list_leaves(&state, &caller.actor, q.officer_id, q.status).await?))
}

/// Requests leave for your own officer profile (no `officer_id`), or registers it for any
/// officer (supervisors and admins; approved at once).
#[utoipa::path(post, path = "/leaves", tag = "roster", request_body = LeaveInput, responses(
    (status = 201, body = Leave), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn request_leave(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<LeaveInput>,
) -> RestResult<(StatusCode, Json<Leave>)> {
    let leave = roster::request_leave(&state, &caller.actor, &caller.meta, input).await?;
    Ok((StatusCode::CREATED, Json(leave)))
}

/// Approves or rejects a requested leave. Supervisors and admins.
#[utoipa::path(post, path = "/leaves/{id}/decision", tag = "roster", params(("id" = i64, Path)),
    request_body = LeaveDecision, responses((status = 200, body = Leave), (status = 400, body = Problem),
    (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem)))]
async fn decide_leave(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(decision): Body<LeaveDecision>,
) -> RestResult<Json<Leave>> {
    Ok(Json(roster::decide_leave(&state, &caller.actor, &caller.meta, id, decision).await?))
}

/// Withdraws a requested or approved leave that has not ended: the officer their own, a
/// supervisor anyone's.
#[utoipa::path(post, path = "/leaves/{id}/cancel", tag = "roster", params(("id" = i64, Path)), responses(
    (status = 200, body = Leave), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_leave(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Json<Leave>> {
    Ok(Json(roster::cancel_leave(&state, &caller.actor, &caller.meta, id).await?))
}
