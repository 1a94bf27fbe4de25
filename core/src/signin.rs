//! The dashboard session's sign-in record and the actor it stands for, shared by every door
//! that accepts a session cookie (the dashboard's pages and server functions, the REST API,
//! the live stream).

use tower_sessions::Session;

use crate::actor::Actor;
use crate::error::{AppError, AppResult};
use crate::services;
use crate::state::AppState;
use contract::domain::Channel;

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

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Binds the session to `user` (the row `services::auth::login` returned), with a fresh
/// session id (no fixation), stamped with the user's credential epoch: a later password
/// change, reset or deactivation ends it.
pub async fn start_session(session: &Session, user: &crate::entities::users::Model) -> AppResult<()> {
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
    let user = crate::entities::users::Entity::find_by_id(record.user_id).one(&state.db).await?;
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

/// Whether the session holds a signed-in record (of any age): a cheap test, no store write.
pub async fn holds_sign_in(session: &Session) -> AppResult<bool> {
    Ok(session.get_value(SESSION_AUTH_KEY).await.map_err(AppError::internal)?.is_some())
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

pub async fn actor_of_record(
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
