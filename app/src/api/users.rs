//! User administration, Telegram link codes and personal API tokens.

use contract::domain::Role;
use contract::{ApiError, Page};
use leptos::prelude::*;

use contract::users::*;

#[server(prefix = "/api/fn", endpoint = "list_users", output = crate::api::codec::JsonText)]
pub async fn list_users(
    text: Option<String>,
    role: Option<Role>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<Page<UserSummary>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::users::list(state, actor, text, role, cursor, limit).await).await
}

#[server(prefix = "/api/fn", endpoint = "create_user", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn create_user(input: NewUserInput) -> Result<CreatedUser, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::users::create(state, actor, &context::request_meta(), input).await)
        .await
}

#[server(prefix = "/api/fn", endpoint = "update_user", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn update_user(id: i64, update: UserUpdate) -> Result<UserSummary, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| {
        services::users::update(state, actor, &context::request_meta(), id, update).await
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "set_user_active", output = crate::api::codec::JsonText)]
pub async fn set_user_active(id: i64, active: bool) -> Result<UserSummary, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| {
        services::users::set_active(state, actor, &context::request_meta(), id, active).await
    })
    .await
}

/// Sets a user's password (`services::users::set_password`): your own with
/// `current_password`, anyone's for an admin (a generated one is returned once when
/// `password` is empty). Every other session and token of that user ends; the session that
/// changed its own password stays signed in.
#[server(prefix = "/api/fn", endpoint = "reset_password", output = crate::api::codec::JsonText)]
pub async fn reset_password(
    id: i64,
    password: Option<String>,
    current_password: Option<String>,
) -> Result<Option<String>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor_for_password_change().await?;
            let meta = context::request_meta();
            let change = services::users::set_password(&state, &actor, &meta, id, current_password, password);
            let set = context::as_writer(&state, &actor, change).await?;
            if let Some(epoch) = set.own_epoch {
                context::restamp_current_session(epoch).await?;
            }
            Ok(set.generated)
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "create_link_code", output = crate::api::codec::JsonText)]
pub async fn create_link_code(user_id: i64) -> Result<LinkCode, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| {
        services::users::create_link_code(state, actor, &context::request_meta(), user_id).await
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "create_api_token", output = crate::api::codec::JsonText)]
pub async fn create_api_token(
    user_id: i64,
    name: String,
    read_only: bool,
    expires_in_days: Option<u32>,
) -> Result<CreatedApiToken, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| {
        let meta = context::request_meta();
        services::users::create_api_token(state, actor, &meta, user_id, &name, read_only, expires_in_days).await
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "list_api_tokens", output = crate::api::codec::JsonText)]
pub async fn list_api_tokens(user_id: i64) -> Result<Vec<ApiTokenInfo>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::users::list_api_tokens(state, actor, user_id).await).await
}

#[server(prefix = "/api/fn", endpoint = "revoke_api_token", output = crate::api::codec::JsonText)]
pub async fn revoke_api_token(token_id: i64) -> Result<ApiTokenInfo, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| {
        services::users::revoke_api_token(state, actor, &context::request_meta(), token_id).await
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "delete_user", output = crate::api::codec::JsonText)]
pub async fn delete_user(id: i64) -> Result<(), ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::users::delete(state, actor, &context::request_meta(), id).await).await
}
