//! `/api/v1/feedback`: anyone signed in may send; supervisors and admins review.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::Page;
use contract::domain::FeedbackStatus;
use contract::feedback::{FeedbackItem, FeedbackKpis};
use gad_core::services;
use gad_core::state::AppState;

use super::auth::Caller;
use super::problem::{Problem, RestResult};
use super::{Body, Params, PathArgs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(kpis)).routes(routes!(set_status))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FeedbackQuery {
    status: Option<FeedbackStatus>,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/feedback", tag = "feedback", params(FeedbackQuery), responses(
    (status = 200, body = Page<FeedbackItem>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<FeedbackQuery>,
) -> RestResult<Json<Page<FeedbackItem>>> {
    Ok(Json(services::feedback::list(&state, &caller.actor, q.status, q.cursor, q.limit).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewFeedback {
    text: String,
    /// sistema, operativo, equipamiento, capacitacion or general; inferred when omitted.
    #[serde(default)]
    category: Option<String>,
}

#[utoipa::path(post, path = "/feedback", tag = "feedback", request_body = NewFeedback, responses(
    (status = 201, body = FeedbackItem), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<NewFeedback>,
) -> RestResult<(StatusCode, Json<FeedbackItem>)> {
    let item = services::feedback::create(&state, &caller.actor, &caller.meta, &input.text, input.category).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

#[utoipa::path(get, path = "/feedback/kpis", tag = "feedback", responses(
    (status = 200, body = FeedbackKpis), (status = 403, body = Problem)))]
async fn kpis(State(state): State<AppState>, caller: Caller) -> RestResult<Json<FeedbackKpis>> {
    Ok(Json(services::feedback::kpis(&state, &caller.actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    status: FeedbackStatus,
}

#[utoipa::path(put, path = "/feedback/{id}/status", tag = "feedback", params(("id" = i64, Path)),
    request_body = StatusInput, responses((status = 200, body = FeedbackItem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<StatusInput>,
) -> RestResult<Json<FeedbackItem>> {
    Ok(Json(services::feedback::set_status(&state, &caller.actor, &caller.meta, id, input.status).await?))
}
