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

/// Session key holding the signed-in user's [`SignedIn`] record.
const SESSION_AUTH_KEY: &str = "auth";

/// What a dashboard session knows about its user. Sessions written before this record
/// existed (a bare user id under `uid`) are anonymous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedIn {
    pub user_id: i64,
    /// The user's `credential_epoch` at sign-in (or at their own password change since).
    pub epoch: i64,
    /// Unix seconds of the sign-in; the absolute lifetime (`GAD_SESSION_MAX_HOURS`) counts
    /// from here.
    pub since: i64,
    /// Unix seconds of the last time this record was written; rewriting it re-saves the
    /// session, which slides its idle expiry in the store and the cookie.
    pub seen: i64,
}

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

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Binds the session to `user` (the row `services::auth::login` returned), with a fresh
/// session id (no fixation), stamped with the user's credential epoch: a later password
/// change, reset or deactivation ends it.
pub async fn start_session(session: &Session, user: &crate::server::entities::users::Model) -> AppResult<()> {
    session.cycle_id().await.map_err(AppError::internal)?;
    let now = unix_now();
    let record = SignedIn { user_id: user.id, epoch: user.credential_epoch, since: now, seen: now };
    session.insert(SESSION_AUTH_KEY, record).await.map_err(AppError::internal)
}

/// After the signed-in user changed their own password (which bumped their epoch and so
/// ended every session), keeps this one: a fresh id, stamped with the new epoch.
pub async fn restamp_session(session: &Session, epoch: i64) -> AppResult<()> {
    let Some(record) = session.get::<SignedIn>(SESSION_AUTH_KEY).await.map_err(AppError::internal)? else {
        return Ok(());
    };
    session.cycle_id().await.map_err(AppError::internal)?;
    let record = SignedIn { epoch, seen: unix_now(), ..record };
    session.insert(SESSION_AUTH_KEY, record).await.map_err(AppError::internal)
}

/// [`restamp_session`] for the session of the current HTTP request; nothing for the bot.
pub async fn restamp_current_session(epoch: i64) -> AppResult<()> {
    if use_context::<Parts>().is_none() {
        return Ok(());
    }
    restamp_session(&session().await?, epoch).await
}

/// Forgets the signed-in user but keeps the session (a sign-in that now waits for a second
/// factor starts from nobody).
pub async fn forget_user(session: &Session) -> AppResult<()> {
    session.remove_value(SESSION_AUTH_KEY).await.map_err(AppError::internal).map(|_| ())
}

/// The signed-in user id of a session, checked like every session (lifetime, credential
/// epoch; a dead session is flushed) but without asking for an actor: for the two-factor
/// account page, whose user may not be enrolled yet (and so is nobody anywhere else).
pub async fn session_user_id(state: &AppState, session: &Session) -> AppResult<i64> {
    use sea_orm::EntityTrait;
    let record = signed_in(state, session).await?.ok_or(AppError::Unauthenticated)?;
    let user = crate::server::entities::users::Entity::find_by_id(record.user_id).one(&state.db).await?;
    if user.is_none_or(|u| u.credential_epoch != record.epoch) {
        end_session(session).await?;
        return Err(AppError::Unauthenticated);
    }
    Ok(record.user_id)
}

/// Ends the session: its record is deleted from the store at once, so a live stream that
/// holds the session notices.
pub async fn end_session(session: &Session) -> AppResult<()> {
    session.flush().await.map_err(AppError::internal)
}

/// The session's signed-in record, if it is within its absolute lifetime (an older one is
/// flushed). Refreshes `seen` at most every [`touch_interval`], so an active session's
/// idle expiry slides without a store write on every request.
pub async fn signed_in(state: &AppState, session: &Session) -> AppResult<Option<SignedIn>> {
    let Some(record) = session.get::<SignedIn>(SESSION_AUTH_KEY).await.map_err(AppError::internal)? else {
        return Ok(None);
    };
    let now = unix_now();
    if now.saturating_sub(record.since) as f64 >= state.config.session_max.as_secs_f64() {
        end_session(session).await?;
        return Ok(None);
    }
    if now.saturating_sub(record.seen) as f64 >= touch_interval(state).as_secs_f64() {
        session.insert(SESSION_AUTH_KEY, SignedIn { seen: now, ..record }).await.map_err(AppError::internal)?;
    }
    Ok(Some(record))
}

/// How often an active session is re-saved: once a minute, or more often when the idle
/// expiry is short (a quarter of it).
fn touch_interval(state: &AppState) -> std::time::Duration {
    (state.config.session_idle / 4).min(std::time::Duration::from_secs(60))
}

/// The actor of a session: nobody unless it is signed in, within its lifetime, and stamped
/// with the user's current credential epoch (a dead session is flushed). A user whose
/// password an admin reset gets [`AppError::PasswordChangeRequired`] unless
/// `for_password_change`.
pub async fn session_actor(
    state: &AppState,
    session: &Session,
    channel: Channel,
    for_password_change: bool,
) -> AppResult<Actor> {
    let record = signed_in(state, session).await?.ok_or(AppError::Unauthenticated)?;
    actor_of_record(state, session, record, channel, for_password_change).await
}

async fn actor_of_record(
    state: &AppState,
    session: &Session,
    record: SignedIn,
    channel: Channel,
    for_password_change: bool,
) -> AppResult<Actor> {
    let result =
        services::auth::actor_for_session(state, record.user_id, record.epoch, channel, for_password_change).await;
    if matches!(result, Err(AppError::Unauthenticated)) {
        end_session(session).await?;
    }
    result
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
/// A user whose password an admin reset is refused ([`AppError::PasswordChangeRequired`]).
pub async fn current_actor() -> AppResult<Actor> {
    actor_in_context(false).await
}

/// [`current_actor`] for changing one's own password (and signing out, and "who am I"): the
/// only things a user whose password an admin reset may do.
pub async fn current_actor_for_password_change() -> AppResult<Actor> {
    actor_in_context(true).await
}

async fn actor_in_context(for_password_change: bool) -> AppResult<Actor> {
    if let Some(BotActor(actor)) = use_context::<BotActor>() {
        return Ok(actor);
    }
    let state = app_state()?;
    // Outside an HTTP request (no `Parts`) and without a bot actor there is nobody.
    let Some(parts) = use_context::<Parts>() else {
        return Err(AppError::Unauthenticated);
    };
    let session = session().await?;
    let record = signed_in(&state, &session).await?.ok_or(AppError::Unauthenticated)?;
    let cell = parts.extensions.get::<ActorCell>();
    if let Some(actor) = cell.and_then(|c| c.get(record.user_id)).filter(|a| a.credential_epoch == record.epoch) {
        if actor.must_change_password && !for_password_change {
            return Err(AppError::PasswordChangeRequired);
        }
        return Ok(actor);
    }
    let actor = actor_of_record(&state, &session, record, Channel::Web, true).await?;
    if let Some(cell) = cell {
        cell.set(&actor);
    }
    if actor.must_change_password && !for_password_change {
        return Err(AppError::PasswordChangeRequired);
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
