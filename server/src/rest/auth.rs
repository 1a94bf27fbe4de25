//! Who is calling the REST API: a personal API token (`Authorization: Bearer gad_…`) or the
//! dashboard's session cookie. The same `Actor` as every other door, with channel `api`.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use tower_sessions::Session;

use contract::domain::Channel;
use gad_core::actor::Actor;
use gad_core::client::ClientAddr;
use gad_core::error::{AppError, AppResult};
use gad_core::meta::AuditMeta;
use gad_core::services;
use gad_core::state::AppState;

use super::problem::Problem;

/// The authenticated caller and the request facts kept for audit. Resolved once per request
/// by the rate limiter (which keys on it) and kept in the request's extensions.
#[derive(Clone)]
pub struct Caller {
    pub actor: Actor,
    pub meta: AuditMeta,
    /// How the caller proved who they are, kept so a long request (the event stream) can
    /// check that the credential is still good.
    pub credential: Credential,
}

#[derive(Clone)]
pub enum Credential {
    Token(String),
    Session(Session),
}

impl Caller {
    /// The caller's actor now: `Unauthenticated` once the token is revoked or expired, the
    /// session signed out, expired or outdated by a password change, or the user
    /// deactivated. The session is read afresh from the store.
    pub async fn revalidate(&self, state: &AppState) -> AppResult<Actor> {
        match &self.credential {
            Credential::Token(token) => services::auth::actor_for_token(state, token).await,
            Credential::Session(session) => {
                session.load().await.map_err(AppError::internal)?;
                gad_core::signin::session_actor(state, session, Channel::Api, false).await
            }
        }
    }
}

/// A [`Caller`] whose password an admin reset may still call: only the password change takes it.
pub struct CallerForPasswordChange(pub Caller);

async fn resolve(parts: &Parts, state: &AppState, for_password_change: bool) -> AppResult<Caller> {
    // Already resolved by the rate limiter (which resolves it as for any other call, so a
    // caller found there may do anything a password change needs too).
    if let Some(caller) = parts.extensions.get::<Caller>() {
        return Ok(caller.clone());
    }
    let meta = meta_from(parts);
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or(AppError::Unauthenticated)?
            .trim()
            .to_owned();
        let actor = services::auth::actor_for_token(state, &token).await?;
        return Ok(Caller { actor, meta, credential: Credential::Token(token) });
    }
    let session = parts.extensions.get::<Session>().cloned().ok_or(AppError::Unauthenticated)?;
    let actor = gad_core::signin::session_actor(state, &session, Channel::Api, for_password_change).await?;
    Ok(Caller { actor, meta, credential: Credential::Session(session) })
}

pub fn meta_from(parts: &Parts) -> AuditMeta {
    AuditMeta {
        channel: Channel::Api,
        ip: parts.extensions.get::<ClientAddr>().map(|c| c.0.to_string()),
        user_agent: parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(resolve(parts, state, false).await?)
    }
}

impl FromRequestParts<AppState> for CallerForPasswordChange {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(CallerForPasswordChange(resolve(parts, state, true).await?))
    }
}
