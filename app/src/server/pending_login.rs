//! The half-finished sign-in of a user with two-factor sign-in: after a correct password the
//! session holds only this (user id and expiry, five minutes), never the signed-in user key,
//! so every door (page guard, server functions, REST) still sees an anonymous visitor. The
//! code page (`/login/2fa`) finishes it with `services::twofactor::verify_login`.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use gad_core::error::{AppError, AppResult};
use gad_core::services::twofactor::PENDING_LOGIN_MINUTES;

/// Session key of the pending sign-in.
pub const PENDING_KEY: &str = "pending_2fa";

#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: i64,
    /// Unix seconds.
    expires_at: i64,
}

/// After a correct password: the session (with a fresh id) waits for `user_id`'s code. Any
/// earlier sign-in of the session ends here.
pub async fn begin(session: &Session, user_id: i64) -> AppResult<()> {
    gad_core::signin::forget_user(session).await?;
    session.cycle_id().await.map_err(AppError::internal)?;
    let pending = Pending { user_id, expires_at: Utc::now().timestamp() + PENDING_LOGIN_MINUTES * 60 };
    session.insert(PENDING_KEY, pending).await.map_err(AppError::internal)
}

/// The user whose code the session waits for, if the wait has not expired.
pub async fn user(session: &Session) -> AppResult<Option<i64>> {
    let pending: Option<Pending> = session.get(PENDING_KEY).await.map_err(AppError::internal)?;
    Ok(pending.filter(|p| p.expires_at > Utc::now().timestamp()).map(|p| p.user_id))
}

/// Ends the wait (code accepted, account locked, or expired).
pub async fn clear(session: &Session) -> AppResult<()> {
    session.remove_value(PENDING_KEY).await.map_err(AppError::internal).map(|_| ())
}
