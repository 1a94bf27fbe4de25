//! Server functions and DTOs: officers (efectivos), their status and positions.

use chrono::{DateTime, Utc};
use contract::domain::OfficerStatus;
use contract::{ApiError, Page};
use leptos::prelude::*;

use contract::officers::*;
// Named, because `leptos::prelude` has a `Track` trait too.
use contract::officers::Track;

/// Officers (not deleted), oldest first, one page at a time. Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "list_officers", output = crate::api::codec::JsonText)]
pub async fn list_officers(
    status: Option<OfficerStatus>,
    unit: Option<String>,
    text: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<Page<Officer>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| {
        let filter = OfficerFilter { status, unit, text };
        let limit = limit.map_or(services::officers::DEFAULT_PAGE_SIZE, u64::from);
        services::officers::list(state, actor, filter, cursor, limit).await
    })
    .await
}

/// Officers as a filter or a picker names them: `(id, "Nombre Apellido (CÓDIGO)")`, oldest
/// first. Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "officer_labels", output = crate::api::codec::JsonText)]
pub async fn officer_labels(limit: u32) -> Result<Vec<(i64, String)>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::officers::labels(state, actor, u64::from(limit)).await).await
}

/// One officer: your own profile, or any for supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "get_officer", output = crate::api::codec::JsonText)]
pub async fn get_officer(officer_id: i64) -> Result<Officer, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::officers::get(state, actor, officer_id).await).await
}

/// Creates an officer (status `available`). Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "create_officer", output = crate::api::codec::JsonText)]
pub async fn create_officer(
    code: String,
    first_name: String,
    last_name: String,
    rank: String,
    unit: String,
    specialty: Option<String>,
    user_id: Option<i64>,
) -> Result<Officer, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| {
        let input = OfficerInput { code, first_name, last_name, rank, unit, specialty, user_id };
        services::officers::create(state, actor, &meta, input).await
    })
    .await
}

/// Replaces an officer's editable fields. Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "update_officer", output = crate::api::codec::JsonText)]
pub async fn update_officer(
    officer_id: i64,
    code: String,
    first_name: String,
    last_name: String,
    rank: String,
    unit: String,
    specialty: Option<String>,
    user_id: Option<i64>,
) -> Result<Officer, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| {
        let input = OfficerInput { code, first_name, last_name, rank, unit, specialty, user_id };
        services::officers::update(state, actor, &meta, officer_id, input).await
    })
    .await
}

/// Removes an officer (soft delete). Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "delete_officer", output = crate::api::codec::JsonText)]
pub async fn delete_officer(officer_id: i64) -> Result<(), ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| services::officers::delete(state, actor, &meta, officer_id).await).await
}

/// Sets an officer's status: officers their own only, supervisors and admins anyone's.
#[server(prefix = "/api/fn", endpoint = "set_officer_status", output = crate::api::codec::JsonText)]
pub async fn set_officer_status(officer_id: i64, status: OfficerStatus) -> Result<Officer, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| services::officers::set_status(state, actor, &meta, officer_id, status).await)
        .await
}

/// The status form of the officer page (`/efectivos/:id`): [`set_officer_status`] as a plain
/// form door. After a plain post (no JavaScript) the outcome is kept as a one-shot flash
/// (`api::flash`) and the browser goes back to the officer.
#[server(prefix = "/api/fn", endpoint = "set_officer_status_form", output = crate::api::codec::JsonText)]
pub async fn set_officer_status_form(officer_id: i64, status: OfficerStatus) -> Result<Officer, ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::services;

    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        services::officers::set_status(state, actor, &meta, officer_id, status).await
    })
    .await;
    let page = format!("/efectivos/{officer_id}");
    after_plain_post(&meta, &page, &page, || match &result {
        Ok(officer) => FormOutcome::OfficerStatus(officer.clone()),
        Err(err) => FormOutcome::Failed(err.clone()),
    })
    .await;
    result
}

/// Sets the status of the current user's own officer profile (the bot's status buttons).
#[server(prefix = "/api/fn", endpoint = "set_my_status", output = crate::api::codec::JsonText)]
pub async fn set_my_status(status: OfficerStatus) -> Result<Officer, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| {
        let officer_id = services::officers::own_officer_id(actor)?;
        services::officers::set_status(state, actor, &meta, officer_id, status).await
    })
    .await
}

/// Reports an officer's position (own for officers, anyone's for supervisors and admins).
/// The source follows the channel the call came through.
#[server(prefix = "/api/fn", endpoint = "update_officer_position", output = crate::api::codec::JsonText)]
pub async fn update_officer_position(
    officer_id: i64,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    recorded_at: Option<DateTime<Utc>>,
) -> Result<PositionAccepted, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| {
        let source = services::officers::source_for(actor.channel);
        services::officers::update_position(state, actor, &meta, officer_id, lat, lon, accuracy_m, source, recorded_at)
            .await
    })
    .await
}

/// Reports the current user's own position (a location shared on Telegram, the dashboard).
#[server(prefix = "/api/fn", endpoint = "update_my_position", output = crate::api::codec::JsonText)]
pub async fn update_my_position(
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    recorded_at: Option<DateTime<Utc>>,
) -> Result<PositionAccepted, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| {
        let officer_id = services::officers::own_officer_id(actor)?;
        let source = services::officers::source_for(actor.channel);
        services::officers::update_position(state, actor, &meta, officer_id, lat, lon, accuracy_m, source, recorded_at)
            .await
    })
    .await
}

/// An officer's last known position, `None` if never reported.
#[server(prefix = "/api/fn", endpoint = "officer_last_position", output = crate::api::codec::JsonText)]
pub async fn officer_last_position(officer_id: i64) -> Result<Option<Position>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::officers::last_position(state, actor, officer_id).await).await
}

/// An officer's track in `[from, to)` (officers: their own only).
#[server(prefix = "/api/fn", endpoint = "officer_track", output = crate::api::codec::JsonText)]
pub async fn officer_track(officer_id: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Track, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::officers::track(state, actor, officer_id, from, to).await).await
}
