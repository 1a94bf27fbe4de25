//! `/api/v1/geo/…`: officers and tasks near a point or inside a box. Distances are
//! great-circle metres, the same on PostgreSQL (PostGIS) and SQLite.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::geo::{NearbyOfficer, OfficerOnMap, TaskOnMap};
use gad_core::services;
use gad_core::state::AppState;

use super::Params;
use super::auth::Caller;
use super::problem::{Problem, RestResult};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(nearest_officers))
        .routes(routes!(officers_within))
        .routes(routes!(officers_in_bbox))
        .routes(routes!(tasks_within))
        .routes(routes!(tasks_in_bbox))
}

/// Default page of the nearest-officers search.
const NEAREST_LIMIT: u32 = 10;
/// Default page of the radius and box searches: everything a map can show.
const MAP_LIMIT: u32 = 200;

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct NearestQuery {
    lat: f64,
    lon: f64,
    /// 1–100000 metres; default: the configured emergency radius.
    radius_m: Option<f64>,
    /// Only positions at most this old, 1–10080 minutes; default: the configured freshness.
    fresh_minutes: Option<i64>,
    /// 1–200, default 10.
    limit: Option<u32>,
    /// Only `available` officers (default `true`).
    #[serde(default = "yes")]
    #[param(default = true)]
    only_available: bool,
}

/// The officers nearest to a point, nearest first, with their distances (supervisors and
/// admins).
#[utoipa::path(get, path = "/geo/nearest-officers", tag = "geo", params(NearestQuery), responses(
    (status = 200, body = Vec<NearbyOfficer>), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn nearest_officers(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<NearestQuery>,
) -> RestResult<Json<Vec<NearbyOfficer>>> {
    let found = services::geo::nearest_officers(
        &state,
        &caller.actor,
        q.lat,
        q.lon,
        q.radius_m.unwrap_or(state.config.emergency_radius_m),
        q.fresh_minutes.unwrap_or(state.config.position_fresh_minutes),
        u64::from(q.limit.unwrap_or(NEAREST_LIMIT)),
        q.only_available,
    )
    .await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct OfficersWithinQuery {
    lat: f64,
    lon: f64,
    /// 1–100000 metres.
    radius_m: f64,
    /// 1–200, default 200.
    limit: Option<u32>,
}

/// Every officer (any status, any position age) within `radius_m` of a point, nearest first
/// (supervisors and admins).
#[utoipa::path(get, path = "/geo/officers-within", tag = "geo", params(OfficersWithinQuery), responses(
    (status = 200, body = Vec<NearbyOfficer>), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn officers_within(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<OfficersWithinQuery>,
) -> RestResult<Json<Vec<NearbyOfficer>>> {
    let limit = u64::from(q.limit.unwrap_or(MAP_LIMIT));
    Ok(Json(services::geo::officers_within_radius(&state, &caller.actor, q.lat, q.lon, q.radius_m, limit).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct OfficersBBoxQuery {
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
    /// 1–200, default 200.
    limit: Option<u32>,
}

/// Every officer whose last known position is inside the box, edges included, by id
/// (supervisors and admins). Boxes crossing the antimeridian are refused.
#[utoipa::path(get, path = "/geo/officers-in-bbox", tag = "geo", params(OfficersBBoxQuery), responses(
    (status = 200, body = Vec<OfficerOnMap>), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn officers_in_bbox(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<OfficersBBoxQuery>,
) -> RestResult<Json<Vec<OfficerOnMap>>> {
    let limit = u64::from(q.limit.unwrap_or(MAP_LIMIT));
    let found =
        services::geo::officers_in_bbox(&state, &caller.actor, q.min_lat, q.min_lon, q.max_lat, q.max_lon, limit)
            .await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TasksWithinQuery {
    lat: f64,
    lon: f64,
    /// 1–100000 metres.
    radius_m: f64,
    /// 1–200, default 200.
    limit: Option<u32>,
    /// Leave out completed and cancelled tasks (default `true`).
    #[serde(default = "yes")]
    #[param(default = true)]
    only_open: bool,
}

/// Tasks the caller may see within `radius_m` of a point, nearest first, with distances.
/// Officers see only the tasks assigned to them.
#[utoipa::path(get, path = "/geo/tasks-within", tag = "geo", params(TasksWithinQuery), responses(
    (status = 200, body = Vec<TaskOnMap>), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn tasks_within(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<TasksWithinQuery>,
) -> RestResult<Json<Vec<TaskOnMap>>> {
    let limit = u64::from(q.limit.unwrap_or(MAP_LIMIT));
    let found =
        services::geo::tasks_within_radius(&state, &caller.actor, q.lat, q.lon, q.radius_m, limit, q.only_open).await?;
    Ok(Json(found))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TasksBBoxQuery {
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
    /// 1–200, default 200.
    limit: Option<u32>,
    /// Leave out completed and cancelled tasks (default `true`).
    #[serde(default = "yes")]
    #[param(default = true)]
    only_open: bool,
}

/// Tasks the caller may see inside the box. Officers see only the tasks assigned to them.
#[utoipa::path(get, path = "/geo/tasks-in-bbox", tag = "geo", params(TasksBBoxQuery), responses(
    (status = 200, body = Vec<TaskOnMap>), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn tasks_in_bbox(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<TasksBBoxQuery>,
) -> RestResult<Json<Vec<TaskOnMap>>> {
    let limit = u64::from(q.limit.unwrap_or(MAP_LIMIT));
    let found = services::geo::tasks_in_bbox(
        &state,
        &caller.actor,
        q.min_lat,
        q.min_lon,
        q.max_lat,
        q.max_lon,
        limit,
        q.only_open,
    )
    .await?;
    Ok(Json(found))
}
