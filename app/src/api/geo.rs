//! Server functions and DTOs: geo (where officers and tasks are).
//!
//! Distances are great-circle metres on the WGS84 mean-radius sphere, the same model on
//! PostgreSQL (PostGIS geography, `use_spheroid = false`) and SQLite (haversine), so both
//! backends return the same rows in the same order.

use contract::ApiError;
use leptos::prelude::*;

use contract::geo::*;

/// The officers nearest to a point, nearest first: within `radius_m`, with a position at most
/// `fresh_minutes` old, `available` ones only if `only_available`. Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "nearest_officers", output = crate::api::codec::JsonText)]
pub async fn nearest_officers(
    lat: f64,
    lon: f64,
    radius_m: f64,
    fresh_minutes: i64,
    limit: u32,
    only_available: bool,
) -> Result<Vec<NearbyOfficer>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| {
        services::geo::nearest_officers(
            state,
            actor,
            lat,
            lon,
            radius_m,
            fresh_minutes,
            u64::from(limit),
            only_available,
        )
        .await
    })
    .await
}

/// Every officer (any status, any position age) within `radius_m` of a point, nearest first.
#[server(prefix = "/api/fn", endpoint = "officers_within_radius", output = crate::api::codec::JsonText)]
pub async fn officers_within_radius(
    lat: f64,
    lon: f64,
    radius_m: f64,
    limit: u32,
) -> Result<Vec<NearbyOfficer>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| {
        services::geo::officers_within_radius(state, actor, lat, lon, radius_m, u64::from(limit)).await
    })
    .await
}

/// Every officer whose last known position is inside the box (e.g. the map's viewport).
#[server(prefix = "/api/fn", endpoint = "officers_in_bbox", output = crate::api::codec::JsonText)]
pub async fn officers_in_bbox(
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
    limit: u32,
) -> Result<Vec<OfficerOnMap>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| {
        services::geo::officers_in_bbox(state, actor, min_lat, min_lon, max_lat, max_lon, u64::from(limit)).await
    })
    .await
}

/// Tasks the viewer may see within `radius_m` of a point, nearest first; `only_open` leaves
/// out completed and cancelled ones.
#[server(prefix = "/api/fn", endpoint = "tasks_within_radius", output = crate::api::codec::JsonText)]
pub async fn tasks_within_radius(
    lat: f64,
    lon: f64,
    radius_m: f64,
    limit: u32,
    only_open: bool,
) -> Result<Vec<TaskOnMap>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| {
        services::geo::tasks_within_radius(state, actor, lat, lon, radius_m, u64::from(limit), only_open).await
    })
    .await
}

/// Tasks the viewer may see inside the box.
#[server(prefix = "/api/fn", endpoint = "tasks_in_bbox", output = crate::api::codec::JsonText)]
pub async fn tasks_in_bbox(
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
    limit: u32,
    only_open: bool,
) -> Result<Vec<TaskOnMap>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| {
        services::geo::tasks_in_bbox(state, actor, min_lat, min_lon, max_lat, max_lon, u64::from(limit), only_open)
            .await
    })
    .await
}
