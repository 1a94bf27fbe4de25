//! What a server function needs from its surroundings: the state, the session, the request,
//! and above all the acting user. Identity comes from the bot harness or the session cookie,
//! never from anything a browser can send.

use axum::http::request::Parts;
use leptos::prelude::*;
use tower_sessions::Session;

use crate::api::ApiError;
use crate::api::flash::FormOutcome;
use crate::domain::Channel;
use crate::server::actor::Actor;
use crate::server::error::{AppError, AppResult};
use crate::server::harness::BotActor;
use crate::server::services;
use crate::server::state::AppState;

/// Session key holding the signed-in user's id.
pub const SESSION_USER_KEY: &str = "uid";

pub fn app_state() -> AppResult<AppState> {
    use_context::<AppState>().ok_or_else(|| AppError::internal("AppState not provided"))
}

pub async fn session() -> AppResult<Session> {
    leptos_axum::extract::<Session>().await.map_err(|e| AppError::internal(format!("session unavailable: {e}")))
}

/// Facts about the HTTP request kept for audit and for plain-form redirects.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    /// The door the request came through, for audit rows without an actor.
    pub channel: Channel,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A browser form post without JavaScript (it accepts `text/html`).
    pub plain_form_post: bool,
}

impl RequestMeta {
    /// A request that did not come over HTTP (bot, CLI, background job).
    pub fn internal(channel: Channel) -> Self {
        Self { channel, ip: None, user_agent: None, plain_form_post: false }
    }
}

pub fn request_meta() -> RequestMeta {
    let Some(parts) = use_context::<Parts>() else {
        let channel = use_context::<BotActor>().map(|b| b.0.channel).unwrap_or(Channel::System);
        return RequestMeta::internal(channel);
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let ip = parts.extensions.get::<crate::server::client::ClientAddr>().map(|c| c.0.to_string());
    RequestMeta {
        channel: Channel::Web,
        ip,
        user_agent: header("user-agent").map(|ua| ua.chars().take(256).collect()),
        plain_form_post: header("accept").is_some_and(|a| a.contains("text/html")),
    }
}

/// Binds the session to `user_id`, with a fresh session id (no fixation).
pub async fn start_session(session: &Session, user_id: i64) -> AppResult<()> {
    session.cycle_id().await.map_err(AppError::internal)?;
    session.insert(SESSION_USER_KEY, user_id).await.map_err(AppError::internal)
}

pub async fn end_session(session: &Session) -> AppResult<()> {
    session.flush().await.map_err(AppError::internal)
}

/// Session key of the outcome a plain form post left for the next page load.
const SESSION_FLASH_KEY: &str = "flash";

#[derive(serde::Serialize, serde::Deserialize)]
struct Flash {
    page: String,
    outcome: FormOutcome,
}

/// Keeps `outcome` in the session for the next load of `page` (one only: a newer one replaces it).
pub async fn put_flash(page: &str, outcome: FormOutcome) -> AppResult<()> {
    let session = session().await?;
    session.insert(SESSION_FLASH_KEY, Flash { page: page.to_owned(), outcome }).await.map_err(AppError::internal)
}

/// Reads and removes the kept outcome; `Some` only if it was left for `page`. The session is
/// written only when there was something to remove.
pub async fn take_flash(page: &str) -> AppResult<Option<FormOutcome>> {
    let session = session().await?;
    if session.get_value(SESSION_FLASH_KEY).await.map_err(AppError::internal)?.is_none() {
        return Ok(None);
    }
    let value = session.remove_value(SESSION_FLASH_KEY).await.map_err(AppError::internal)?;
    Ok(value.and_then(|v| serde_json::from_value::<Flash>(v).ok()).filter(|f| f.page == page).map(|f| f.outcome))
}

/// The acting user: the bot harness's actor if one was provided, else the session's user.
pub async fn current_actor() -> AppResult<Actor> {
    if let Some(BotActor(actor)) = use_context::<BotActor>() {
        return Ok(actor);
    }
    let state = app_state()?;
    // Outside an HTTP request (no `Parts`) and without a bot actor there is nobody.
    let Some(parts) = use_context::<Parts>() else {
        return Err(AppError::Unauthenticated);
    };
    let session = session().await?;
    let user_id: Option<i64> = session.get(SESSION_USER_KEY).await.map_err(AppError::internal)?;
    let user_id = user_id.ok_or(AppError::Unauthenticated)?;
    let cell = parts.extensions.get::<ActorCell>();
    if let Some(actor) = cell.and_then(|c| c.get(user_id)) {
        return Ok(actor);
    }
    let actor = services::auth::actor_for_user(&state, user_id, Channel::Web).await?;
    if let Some(cell) = cell {
        cell.set(&actor);
    }
    Ok(actor)
}

/// The web actor of one HTTP request, resolved once (by the page guard or the first server
/// function) and shared by every server function that request's render calls. It lives in
/// the request's extensions, so it never outlives the request; it is keyed by the session's
/// user id, so a login or logout inside the request is never answered with a stale actor.
#[derive(Clone, Debug, Default)]
pub struct ActorCell(std::sync::Arc<std::sync::Mutex<Option<Actor>>>);

impl ActorCell {
    pub fn get(&self, user_id: i64) -> Option<Actor> {
        let slot = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.as_ref().filter(|a| a.user_id == user_id).cloned()
    }

    pub fn set(&self, actor: &Actor) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(actor.clone());
    }
}

/// Maps a service result for a server function: the error becomes an [`ApiError`] and, inside
/// an HTTP request, the response status follows its code (401, 403, 409, …).
pub fn respond<T>(result: AppResult<T>) -> Result<T, ApiError> {
    result.map_err(|err| {
        let api = ApiError::from(err);
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(
                axum::http::StatusCode::from_u16(api.code.http_status())
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        api
    })
}
