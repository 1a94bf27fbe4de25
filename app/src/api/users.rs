//! User administration, Telegram link codes and personal API tokens.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, Page};
use crate::domain::Role;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: i64,
    pub dni: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub telegram_linked: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub locked: bool,
}

/// Input for creating a user. Without a password, one is generated and returned once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewUserInput {
    pub dni: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub password: Option<String>,
}

/// Partial update: only the fields present change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserUpdate {
    #[serde(default)]
    pub dni: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedUser {
    pub user: UserSummary,
    /// Present only when the password was generated: shown once.
    pub generated_password: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LinkCode {
    /// The one-time code (shown once): the user sends `/start <code>` to the bot.
    pub code: String,
    /// `https://t.me/<bot>?start=<code>` when the bot's username is configured.
    pub deep_link: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiTokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedApiToken {
    /// The secret token (shown once; only its hash is stored).
    pub token: String,
    pub info: ApiTokenInfo,
}

#[server(prefix = "/api/fn", endpoint = "list_users", output = crate::api::codec::JsonText)]
pub async fn list_users(
    text: Option<String>,
    role: Option<Role>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<Page<UserSummary>, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::list(&state, &actor, text, role, cursor, limit).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "create_user", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn create_user(input: NewUserInput) -> Result<CreatedUser, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::create(&state, &actor, &context::request_meta(), input).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "update_user", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn update_user(id: i64, update: UserUpdate) -> Result<UserSummary, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::update(&state, &actor, &context::request_meta(), id, update).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "set_user_active", output = crate::api::codec::JsonText)]
pub async fn set_user_active(id: i64, active: bool) -> Result<UserSummary, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::set_active(&state, &actor, &context::request_meta(), id, active).await
        }
        .await,
    )
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
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor_for_password_change().await?;
            let meta = context::request_meta();
            let set = services::users::set_password(&state, &actor, &meta, id, current_password, password).await?;
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
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::create_link_code(&state, &actor, &context::request_meta(), user_id).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "create_api_token", output = crate::api::codec::JsonText)]
pub async fn create_api_token(
    user_id: i64,
    name: String,
    read_only: bool,
    expires_in_days: Option<u32>,
) -> Result<CreatedApiToken, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            let meta = context::request_meta();
            services::users::create_api_token(&state, &actor, &meta, user_id, &name, read_only, expires_in_days).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "list_api_tokens", output = crate::api::codec::JsonText)]
pub async fn list_api_tokens(user_id: i64) -> Result<Vec<ApiTokenInfo>, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::list_api_tokens(&state, &actor, user_id).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "revoke_api_token", output = crate::api::codec::JsonText)]
pub async fn revoke_api_token(token_id: i64) -> Result<ApiTokenInfo, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::revoke_api_token(&state, &actor, &context::request_meta(), token_id).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "delete_user", output = crate::api::codec::JsonText)]
pub async fn delete_user(id: i64) -> Result<(), ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::delete(&state, &actor, &context::request_meta(), id).await
        }
        .await,
    )
}
