//! `/api/v1/me`, `/api/v1/users`, API tokens and Telegram link codes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::Page;
use contract::auth::CurrentUser;
use contract::domain::Role;
use contract::users::{ApiTokenInfo, CreatedApiToken, CreatedUser, LinkCode, NewUserInput, UserSummary, UserUpdate};
use gad_core::services;
use gad_core::state::AppState;

use super::auth::{Caller, CallerForPasswordChange, Credential};
use super::problem::{Problem, RestResult};
use super::{Body, Params, PathArgs};
use crate::idempotency::CarriesSecret;

/// Marks an answer that may carry a secret (when `carries`), which no idempotency record may keep.
fn secret(carries: bool) -> Option<Extension<CarriesSecret>> {
    carries.then_some(Extension(CarriesSecret))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(set_active))
        .routes(routes!(reset_password))
        .routes(routes!(create_link_code))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// The caller's own profile.
#[utoipa::path(get, path = "/me", tag = "users", responses(
    (status = 200, body = CurrentUser), (status = 401, body = Problem)))]
async fn me(caller: Caller) -> RestResult<Json<CurrentUser>> {
    Ok(Json(services::users::current_user(&caller.actor)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct UserQuery {
    /// Matches name, email or DNI.
    text: Option<String>,
    role: Option<Role>,
    /// Opaque cursor from the previous page's `next_cursor`.
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<u32>,
}

/// Users (admins only), cursor-paginated.
#[utoipa::path(get, path = "/users", tag = "users", params(UserQuery), responses(
    (status = 200, body = Page<UserSummary>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<UserQuery>,
) -> RestResult<Json<Page<UserSummary>>> {
    Ok(Json(services::users::list(&state, &caller.actor, q.text, q.role, q.cursor, q.limit).await?))
}

/// Creates a user (admins only). Without `password`, one is generated and returned once.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUserInput, responses(
    (status = 201, body = CreatedUser), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 409, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<NewUserInput>,
) -> RestResult<(StatusCode, Option<Extension<CarriesSecret>>, Json<CreatedUser>)> {
    let created = services::users::create(&state, &caller.actor, &caller.meta, input).await?;
    Ok((StatusCode::CREATED, secret(created.generated_password.is_some()), Json(created)))
}

#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), responses(
    (status = 200, body = UserSummary), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Json<UserSummary>> {
    Ok(Json(services::users::get(&state, &caller.actor, id).await?))
}

/// Partial update of a user (admins only).
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserUpdate,
    responses((status = 200, body = UserSummary), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(update): Body<UserUpdate>,
) -> RestResult<Json<UserSummary>> {
    Ok(Json(services::users::update(&state, &caller.actor, &caller.meta, id, update).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ActiveInput {
    active: bool,
}

/// Activates or deactivates a user (admins only; never yourself or the last admin).
#[utoipa::path(put, path = "/users/{id}/active", tag = "users", params(("id" = i64, Path)),
    request_body = ActiveInput, responses((status = 200, body = UserSummary), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn set_active(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<ActiveInput>,
) -> RestResult<Json<UserSummary>> {
    Ok(Json(services::users::set_active(&state, &caller.actor, &caller.meta, id, input.active).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordInput {
    /// The new password (10–256 characters); omitted → generated and returned once (admins
    /// resetting someone else's password only).
    #[serde(default)]
    password: Option<String>,
    /// Your current password: required to change your own.
    #[serde(default)]
    current_password: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct PasswordResult {
    generated_password: Option<String>,
}

/// Sets a password: your own with `current_password`, or anyone's for an admin (who must
/// change it at next sign-in). Every other session and every API token of that user ends.
/// Not with an API token: sign in to the dashboard session for this.
#[utoipa::path(post, path = "/users/{id}/password", tag = "users", params(("id" = i64, Path)),
    request_body = PasswordInput, responses((status = 200, body = PasswordResult), (status = 400, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reset_password(
    State(state): State<AppState>,
    CallerForPasswordChange(caller): CallerForPasswordChange,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<PasswordInput>,
) -> RestResult<(Option<Extension<CarriesSecret>>, Json<PasswordResult>)> {
    let set =
        services::users::set_password(&state, &caller.actor, &caller.meta, id, input.current_password, input.password)
            .await?;
    if let (Some(epoch), Credential::Session(session)) = (set.own_epoch, &caller.credential) {
        gad_core::signin::restamp_session(session, epoch).await?;
    }
    Ok((secret(set.generated.is_some()), Json(PasswordResult { generated_password: set.generated })))
}

/// A one-time code (15 minutes) that links a Telegram account through `/start <code>`. Needs
/// the dashboard session: a request authenticated by a token cannot create link codes.
#[utoipa::path(post, path = "/users/{id}/telegram-link", tag = "users", params(("id" = i64, Path)),
    responses((status = 201, body = LinkCode), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn create_link_code(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<(StatusCode, Extension<CarriesSecret>, Json<LinkCode>)> {
    let code = services::users::create_link_code(&state, &caller.actor, &caller.meta, id).await?;
    Ok((StatusCode::CREATED, Extension(CarriesSecret), Json(code)))
}

#[utoipa::path(get, path = "/users/{id}/tokens", tag = "tokens", params(("id" = i64, Path)), responses(
    (status = 200, body = Vec<ApiTokenInfo>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Json<Vec<ApiTokenInfo>>> {
    Ok(Json(services::users::list_api_tokens(&state, &caller.actor, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    name: String,
    /// A read-only token may only read.
    #[serde(default)]
    read_only: bool,
    /// Days until the token expires: 1–365, default 90.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// Creates a personal API token; the secret is in the response and never again. Needs the
/// dashboard session: a request authenticated by a token cannot create tokens.
#[utoipa::path(post, path = "/users/{id}/tokens", tag = "tokens", params(("id" = i64, Path)),
    request_body = TokenInput, responses((status = 201, body = CreatedApiToken), (status = 400, body = Problem),
    (status = 403, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<TokenInput>,
) -> RestResult<(StatusCode, Extension<CarriesSecret>, Json<CreatedApiToken>)> {
    let created = services::users::create_api_token(
        &state,
        &caller.actor,
        &caller.meta,
        id,
        &input.name,
        input.read_only,
        input.expires_in_days,
    )
    .await?;
    Ok((StatusCode::CREATED, Extension(CarriesSecret), Json(created)))
}

/// Revokes a token at once. Someone else's token is 404 unless you are an admin.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = i64, Path)), responses(
    (status = 200, body = ApiTokenInfo), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Json<ApiTokenInfo>> {
    Ok(Json(services::users::revoke_api_token(&state, &caller.actor, &caller.meta, id).await?))
}

/// Soft-deletes a user (admins only; never yourself or the last admin); their tokens are revoked.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), responses(
    (status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<StatusCode> {
    services::users::delete(&state, &caller.actor, &caller.meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
