//! Who is calling the REST API: a personal API token (`Authorization: Bearer gad_…`) or the
//! dashboard's session cookie. The same `Actor` as every other door, with channel `api`.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use tower_sessions::Session;

use app::domain::Channel;
use app::server::actor::Actor;
use app::server::client::ClientAddr;
use app::server::context::{RequestMeta, SESSION_USER_KEY};
use app::server::error::AppError;
use app::server::services;
use app::server::state::AppState;

use super::problem::Problem;

/// The authenticated caller and the request facts kept for audit. Resolved once per request
/// by the rate limiter (which keys on it) and kept in the request's extensions.
#[derive(Clone)]
pub struct Caller {
    pub actor: Actor,
    pub meta: RequestMeta,
}

pub fn meta_from(parts: &Parts) -> RequestMeta {
    RequestMeta {
        channel: Channel::Api,
        ip: parts.extensions.get::<ClientAddr>().map(|c| c.0.to_string()),
        user_agent: parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
        plain_form_post: false,
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let meta = meta_from(parts);
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .ok_or(AppError::Unauthenticated)?;
            let actor = services::auth::actor_for_token(state, token.trim()).await?;
            return Ok(Caller { actor, meta });
        }
        let session = parts.extensions.get::<Session>().cloned().ok_or(AppError::Unauthenticated)?;
        let user_id: Option<i64> = session.get(SESSION_USER_KEY).await.map_err(AppError::internal)?;
        let user_id = user_id.ok_or(AppError::Unauthenticated)?;
        let actor = services::auth::actor_for_user(state, user_id, Channel::Api).await?;
        Ok(Caller { actor, meta })
    }
}
