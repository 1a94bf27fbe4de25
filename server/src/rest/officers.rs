//! `/api/v1/officers` (CRUD, status, positions, tracks) and the caller's own profile under
//! `/api/v1/me/…`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::Page;
use contract::domain::OfficerStatus;
use contract::officers::{Officer, OfficerFilter, OfficerInput, Position, PositionAccepted, Track};
use contract::replay::{Replay, ReplayRequest};
use gad_core::services;
use gad_core::state::AppState;

use super::auth::Caller;
use super::problem::{Problem, RestResult};
use super::{Body, Params, PathArgs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_officer, update, delete))
        .routes(routes!(set_status))
        .routes(routes!(report_position))
        .routes(routes!(last_position))
        .routes(routes!(track))
        .routes(routes!(replay))
        .routes(routes!(my_officer))
        .routes(routes!(set_my_status))
        .routes(routes!(report_my_position))
}

/// Query parameters of the officers list (the REST spelling of `OfficerFilter`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct OfficerQuery {
    status: Option<OfficerStatus>,
    /// Exact unit name (case-insensitive).
    unit: Option<String>,
    /// Part of the code, first or last name, rank or unit (case-insensitive).
    q: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`.
    cursor: Option<String>,
    /// 1–200, default 50.
    limit: Option<u32>,
}

/// Officers (not deleted), oldest first, cursor-paginated (supervisors and admins).
#[utoipa::path(get, path = "/officers", tag = "officers", params(OfficerQuery), responses(
    (status = 200, body = Page<Officer>), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<OfficerQuery>,
) -> RestResult<Json<Page<Officer>>> {
    let filter = OfficerFilter { status: q.status, unit: q.unit, text: q.q };
    let limit = q.limit.map_or(services::officers::DEFAULT_PAGE_SIZE, u64::from);
    Ok(Json(services::officers::list(&state, &caller.actor, filter, q.cursor, limit).await?))
}

/// Creates an officer, `available` and without a position (supervisors and admins).
/// `Idempotency-Key` makes retries safe.
#[utoipa::path(post, path = "/officers", tag = "officers", request_body = OfficerInput, params(
    ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first answer")),
    responses((status = 201, body = Officer), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<OfficerInput>,
) -> RestResult<(StatusCode, Json<Officer>)> {
    let officer = services::officers::create(&state, &caller.actor, &caller.meta, input).await?;
    Ok((StatusCode::CREATED, Json(officer)))
}

/// One officer: your own profile, or any for supervisors and admins.
#[utoipa::path(get, path = "/officers/{id}", tag = "officers", params(("id" = i64, Path)), responses(
    (status = 200, body = Officer), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_officer(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Json<Officer>> {
    Ok(Json(services::officers::get(&state, &caller.actor, id).await?))
}

/// Replaces an officer's editable fields; not the status nor the position (supervisors and
/// admins).
#[utoipa::path(put, path = "/officers/{id}", tag = "officers", params(("id" = i64, Path)), request_body = OfficerInput,
    responses((status = 200, body = Officer), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<OfficerInput>,
) -> RestResult<Json<Officer>> {
    Ok(Json(services::officers::update(&state, &caller.actor, &caller.meta, id, input).await?))
}

/// Removes an officer (soft delete; refused while they hold open tasks). Supervisors and admins.
#[utoipa::path(delete, path = "/officers/{id}", tag = "officers", params(("id" = i64, Path)), responses(
    (status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete(State(state): State<AppState>, caller: Caller, PathArgs(id): PathArgs<i64>) -> RestResult<StatusCode> {
    services::officers::delete(&state, &caller.actor, &caller.meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    /// Officers may set their own to `available`, `off_duty` or `unavailable`; `on_task`
    /// follows their tasks.
    status: OfficerStatus,
}

/// Sets an officer's status: officers their own only, supervisors and admins anyone's.
#[utoipa::path(put, path = "/officers/{id}/status", tag = "officers", params(("id" = i64, Path)),
    request_body = StatusInput, responses((status = 200, body = Officer), (status = 400, body = Problem),
    (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<StatusInput>,
) -> RestResult<Json<Officer>> {
    Ok(Json(services::officers::set_status(&state, &caller.actor, &caller.meta, id, input.status).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PositionInput {
    lat: f64,
    lon: f64,
    /// Metres, 0–100000.
    #[serde(default)]
    accuracy_m: Option<f64>,
    /// When the position was taken; default: now. Not in the future.
    #[serde(default)]
    recorded_at: Option<DateTime<Utc>>,
}

async fn report(
    state: &AppState,
    caller: &Caller,
    officer_id: i64,
    input: PositionInput,
) -> RestResult<(StatusCode, Json<PositionAccepted>)> {
    let accepted = services::officers::update_position(
        state,
        &caller.actor,
        &caller.meta,
        officer_id,
        input.lat,
        input.lon,
        input.accuracy_m,
        services::officers::source_for(caller.actor.channel),
        input.recorded_at,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(accepted)))
}

/// Reports an officer's position (own for officers, anyone's for supervisors and admins). It
/// always joins the history; it becomes the last known position only if it is not older
/// than the current one (`current`).
#[utoipa::path(post, path = "/officers/{id}/positions", tag = "officers", params(("id" = i64, Path)),
    request_body = PositionInput, responses((status = 201, body = PositionAccepted), (status = 400, body = Problem),
    (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn report_position(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<PositionInput>,
) -> RestResult<(StatusCode, Json<PositionAccepted>)> {
    report(&state, &caller, id, input).await
}

/// The officer's last known position; 204 if they never reported one.
#[utoipa::path(get, path = "/officers/{id}/position", tag = "officers", params(("id" = i64, Path)), responses(
    (status = 200, body = Position), (status = 204, description = "No position reported yet"),
    (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem)))]
async fn last_position(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Response> {
    Ok(match services::officers::last_position(&state, &caller.actor, id).await? {
        Some(position) => Json(position).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TrackQuery {
    /// Start of the window (inclusive), RFC 3339.
    from: DateTime<Utc>,
    /// End of the window (exclusive), RFC 3339; at most 31 days after `from`.
    to: DateTime<Utc>,
}

/// The officer's positions in `[from, to)`, oldest first (at most 5000; `truncated` says if
/// more exist). Officers may see only their own.
#[utoipa::path(get, path = "/officers/{id}/track", tag = "officers", params(("id" = i64, Path), TrackQuery),
    responses((status = 200, body = Track), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn track(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Params(q): Params<TrackQuery>,
) -> RestResult<Json<Track>> {
    Ok(Json(services::officers::track(&state, &caller.actor, id, q.from, q.to).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReplayQuery {
    /// The officer whose track to replay (give this or `task_id`).
    officer_id: Option<i64>,
    /// Replay every officer assigned to this task (supervisors and admins).
    task_id: Option<i64>,
    /// Start of the window (inclusive), RFC 3339; by default 8 hours before `to`, or the
    /// task's creation.
    from: Option<DateTime<Utc>>,
    /// End of the window (exclusive), RFC 3339; by default now, or the task's end. At most
    /// 31 days after `from`.
    to: Option<DateTime<Utc>>,
}

/// A track replay: each officer's positions in the window with the speed from the previous
/// point, their stops (within 50 m for 3 minutes or more), distance and top speed, and the
/// status changes of the tasks involved (the officer's tasks, or the task), for a timeline.
/// At most 10 000 positions per officer (`truncated` says if more exist). Officers may replay
/// only their own track.
#[utoipa::path(get, path = "/replay", tag = "officers", params(ReplayQuery),
    responses((status = 200, body = Replay), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<ReplayQuery>,
) -> RestResult<Json<Replay>> {
    let request = ReplayRequest { officer_id: q.officer_id, task_id: q.task_id, from: q.from, to: q.to };
    Ok(Json(services::replay::replay(&state, &caller.actor, request).await?))
}

/// The caller's own officer profile (400 if their user has none).
#[utoipa::path(get, path = "/me/officer", tag = "officers", responses(
    (status = 200, body = Officer), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 404, body = Problem)))]
async fn my_officer(State(state): State<AppState>, caller: Caller) -> RestResult<Json<Officer>> {
    let id = services::officers::own_officer_id(&caller.actor)?;
    Ok(Json(services::officers::get(&state, &caller.actor, id).await?))
}

/// Sets the caller's own status (`available`, `off_duty` or `unavailable`).
#[utoipa::path(put, path = "/me/status", tag = "officers", request_body = StatusInput, responses(
    (status = 200, body = Officer), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn set_my_status(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<StatusInput>,
) -> RestResult<Json<Officer>> {
    let id = services::officers::own_officer_id(&caller.actor)?;
    Ok(Json(services::officers::set_status(&state, &caller.actor, &caller.meta, id, input.status).await?))
}

/// Reports the caller's own position.
#[utoipa::path(post, path = "/me/positions", tag = "officers", request_body = PositionInput, responses(
    (status = 201, body = PositionAccepted), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn report_my_position(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<PositionInput>,
) -> RestResult<(StatusCode, Json<PositionAccepted>)> {
    let id = services::officers::own_officer_id(&caller.actor)?;
    report(&state, &caller, id, input).await
}
