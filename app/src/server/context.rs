//! What a server function needs from its surroundings: the state, the session, the request,
//! and above all the acting user. Identity comes from the bot harness or the session cookie,
//! never from anything a browser can send.

use axum::http::request::Parts;
use leptos::prelude::*;
use tower_sessions::Session;

use crate::server::harness::BotActor;
use contract::ApiError;
use contract::domain::Channel;
use contract::flash::FormOutcome;
use gad_core::actor::Actor;
use gad_core::admission;
use gad_core::error::{AppError, AppResult};
use gad_core::meta::AuditMeta;
use gad_core::signin::{ActorCell, actor_of_record, restamp_session, signed_in};
use gad_core::state::AppState;

/// The state, provided to every request's render and server function; missing only when the
/// client went away and its render was dropped mid-way ([`AppError::Abandoned`], not logged as
/// an error).
pub fn app_state() -> AppResult<AppState> {
    use_context::<AppState>().ok_or(AppError::Abandoned)
}

pub async fn session() -> AppResult<Session> {
    leptos_axum::extract::<Session>().await.map_err(|e| AppError::internal(format!("session unavailable: {e}")))
}

/// Facts about the HTTP request: what the audit keeps ([`AuditMeta`], which the services
/// take; `meta.ip` and friends read through to it) and whether it is a plain form post.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub audit: AuditMeta,
    /// A browser form post without JavaScript (it accepts `text/html`).
    pub plain_form_post: bool,
}

impl std::ops::Deref for RequestMeta {
    type Target = AuditMeta;

    fn deref(&self) -> &AuditMeta {
        &self.audit
    }
}

pub fn request_meta() -> RequestMeta {
    let Some(parts) = use_context::<Parts>() else {
        let channel = use_context::<BotActor>().map(|b| b.0.channel).unwrap_or(Channel::System);
        return RequestMeta { audit: AuditMeta::internal(channel), plain_form_post: false };
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let ip = parts.extensions.get::<gad_core::client::ClientAddr>().map(|c| c.0.to_string());
    RequestMeta {
        audit: AuditMeta {
            channel: Channel::Web,
            ip,
            user_agent: header("user-agent").map(|ua| ua.chars().take(256).collect()),
        },
        plain_form_post: header("accept").is_some_and(|a| a.contains("text/html")),
    }
}

/// [`restamp_session`] for the session of the current HTTP request; nothing for the bot.
pub async fn restamp_current_session(epoch: i64) -> AppResult<()> {
    if use_context::<Parts>().is_none() {
        return Ok(());
    }
    restamp_session(&session().await?, epoch).await
}

/// Session key of the outcome a plain form post left for the next page load.
const SESSION_FLASH_KEY: &str = "flash";

/// A kept outcome: as is, or (one that shows a secret) sealed with the session's id, so the
/// session store — Redis, its backups — never holds the secret readable.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Flash {
    Plain { page: String, outcome: Box<FormOutcome> },
    Sealed { page: String, sealed: String },
}

/// Keeps `outcome` in the session for the next load of `page` (one only: a newer one replaces
/// it), its typed values bounded. A visitor's post opens no session for it: a new record for
/// every request, holding whatever each one sent, would fill the store; only a session already
/// stored, or one this request signed in, keeps an outcome.
pub async fn put_flash(page: &str, outcome: FormOutcome) -> AppResult<()> {
    let session = session().await?;
    // Asked first: it loads the record, and an id sent for a record the store does not hold
    // (made up, or expired) is then no id.
    let signed_in = gad_core::signin::holds_sign_in(&session).await?;
    if session.id().is_none() && !signed_in {
        return Ok(());
    }
    let outcome = outcome.bounded();
    let page = page.to_owned();
    let flash = match session.id() {
        Some(id) if outcome.carries_secret() => {
            let plain = serde_json::to_vec(&outcome).map_err(AppError::internal)?;
            Flash::Sealed { page, sealed: gad_core::sessions::seal_for_session(&id, &plain) }
        }
        // A session not saved yet has no id to seal with (a sign-in's own form): none of
        // those outcomes shows a secret.
        _ => Flash::Plain { page, outcome: Box::new(outcome) },
    };
    session.insert(SESSION_FLASH_KEY, flash).await.map_err(AppError::internal)
}

/// Reads and removes the kept outcome; `Some` only if it was left for `page`. The session is
/// written only when there was something to remove.
pub async fn take_flash(page: &str) -> AppResult<Option<FormOutcome>> {
    let session = session().await?;
    if session.get_value(SESSION_FLASH_KEY).await.map_err(AppError::internal)?.is_none() {
        return Ok(None);
    }
    let value = session.remove_value(SESSION_FLASH_KEY).await.map_err(AppError::internal)?;
    let outcome = match value.and_then(|v| serde_json::from_value::<Flash>(v).ok()) {
        Some(Flash::Plain { page: kept, outcome }) if kept == page => Some(*outcome),
        Some(Flash::Sealed { page: kept, sealed }) if kept == page => session
            .id()
            .and_then(|id| gad_core::sessions::open_for_session(&id, &sealed))
            .and_then(|plain| serde_json::from_slice(&plain).ok()),
        _ => None,
    };
    Ok(outcome)
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

/// The body of a server function: the state and the acting user (refused as
/// [`current_actor`] refuses), the service call, the answer mapped by [`respond`].
pub async fn serve<T>(call: impl AsyncFnOnce(&AppState, &Actor) -> AppResult<T>) -> Result<T, ApiError> {
    // Boxed: a page's server functions are large futures, and a debug build's worker stack
    // is small; the caller's future then holds a pointer, not the call.
    let call = Box::pin(async {
        let state = app_state()?;
        let actor = current_actor().await?;
        as_writer(&state, &actor, call(&state, &actor)).await
    });
    respond(admission::holding(admission_place(), call).await)
}

/// Runs `call` with every write it makes spending `actor`'s write budget, over HTTP (the bot's
/// chats are paced by Telegram and queued per chat): what [`serve`] does for its calls, for the
/// server functions that resolve their actor themselves.
pub async fn as_writer<T>(state: &AppState, actor: &Actor, call: impl Future<Output = T>) -> T {
    let writer = use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<gad_core::ratelimit::RateLimiter>().cloned())
        .map(|limiter| {
            gad_core::ratelimit::Writer::new(limiter, actor.user_id, state.config.write_rate_limit_per_minute)
        });
    gad_core::ratelimit::as_writer(writer, call).await
}

/// The admission place of the read being served ([`gad_core::admission`]): a page's resources
/// run on tasks of their own, so they find it in the request, not in the task.
fn admission_place() -> Option<admission::Place> {
    admission::current().or_else(|| use_context::<Parts>()?.extensions.get::<admission::Place>().cloned())
}

/// Maps a service result for a server function: the error becomes an [`ApiError`] and, inside
/// an HTTP request, the response status follows its code (401, 403, 409, …).
pub fn respond<T>(result: AppResult<T>) -> Result<T, ApiError> {
    result.map_err(|err| {
        if let (AppError::RateLimited { retry_after }, Some(response)) =
            (&err, use_context::<leptos_axum::ResponseOptions>())
            && let Ok(value) = axum::http::HeaderValue::from_str(&retry_after.max(&1).to_string())
        {
            response.insert_header(axum::http::header::RETRY_AFTER, value);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A render dropped because its client disconnected finds no state: that is answered as
    /// "unavailable" and logged at debug level, not counted as an internal error.
    #[test]
    fn a_missing_state_is_an_abandoned_request_not_an_internal_error() {
        let owner = Owner::new();
        owner.with(|| {
            let err = app_state().err().expect("no state outside a request");
            assert!(matches!(err, AppError::Abandoned), "{err:?}");
            assert_eq!(ApiError::from(err).code, contract::ErrorCode::Unavailable);
        });
    }

    /// A page's resources run on tasks of their own: the read's admission place reaches them
    /// through the request's parts, where the admission middleware put it.
    #[test]
    fn a_resource_finds_its_reads_admission_place_in_the_request() {
        use std::sync::Arc;
        use tokio::sync::Semaphore;

        let semaphore = Arc::new(Semaphore::new(1));
        let permit = semaphore.clone().try_acquire_owned().expect("a free place");
        let place = admission::Place::new(semaphore.clone(), permit);
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        parts.extensions.insert(place);
        let owner = Owner::new();
        owner.with(|| {
            assert!(admission_place().is_none(), "no request, no place");
            provide_context(parts);
            let found = admission_place().expect("the request's place");
            found.finish();
        });
        assert_eq!(semaphore.available_permits(), 1, "it was this read's place");
    }
}
