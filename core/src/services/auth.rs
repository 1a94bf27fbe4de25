//! Credentials, lockout, and resolving who an actor is.

use argon2::password_hash::{SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use chrono::{Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{officers, users};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::services::audit::{self, AuditEntry};
use crate::state::AppState;
use contract::domain::{AuditSeverity, Channel};

/// argon2id with the crate's default (OWASP-recommended) parameters.
pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(AppError::internal)
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Verifies off the async runtime: argon2 is deliberately slow.
pub(crate) async fn verify_blocking(password: &str, hash: Option<String>) -> bool {
    // Without a hash we still spend the same work, so timing does not reveal unknown emails.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            let dummy = DUMMY.get_or_init(|| hash_password("gad-timing-equaliser").unwrap_or_default());
            let _ = verify_password(&password, dummy);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Where a correct password leads.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in: start the session.
    SignedIn(users::Model),
    /// The password was right and the user signs in with a second factor: the session waits
    /// for a code (`services::twofactor::verify_login`). Nothing is reset or audited as a
    /// login yet, so wrong codes keep counting toward the lockout.
    SecondFactor(users::Model),
}

/// The longest e-mail address accepted anywhere (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Checks email and password. Repeated failures lock the account for a while.
///
/// Every refusal — unknown or inactive account, wrong password, locked account — is the same
/// [`AppError::InvalidCredentials`] after the same argon2 work, so the answer reveals nothing
/// about which e-mails exist. Each attempt on a known account is reserved with one atomic
/// UPDATE before the password is verified ([`reserve_attempt`]), so however many guesses
/// arrive in parallel, at most `login_max_failures` are ever verified before the lock. What
/// was typed is never written to the audit log (it may be a password typed into the wrong
/// field); over-long input is refused before any work.
pub async fn login(state: &AppState, email: &str, password: &str, meta: &AuditMeta) -> AppResult<LoginOutcome> {
    let email = email.trim();
    if email.len() > MAX_EMAIL_LEN {
        return Err(AppError::validation("email", "El correo electrónico no puede superar 254 caracteres."));
    }
    check_password_length(password)?;
    let email = email.to_lowercase();
    if email.is_empty() || password.is_empty() {
        return Err(AppError::InvalidCredentials);
    }
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .filter(users::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?;
    let refuse = |user_id: Option<i64>, reason: &str, severity: AuditSeverity| {
        let action = if reason == "locked_now" { "auth.locked" } else { "auth.login_failed" };
        AuditEntry { resource_id: user_id.map(|id| id.to_string()), ..AuditEntry::new(action, "user", "") }
            .after(serde_json::json!({ "reason": reason }))
            .failed(severity)
    };
    let Some(user) = user else {
        verify_blocking(password, None).await;
        tracing::info!(outcome = "unknown", "login refused");
        audit::append_alone(state, None, meta, refuse(None, "unknown", AuditSeverity::Warning)).await?;
        return Err(AppError::InvalidCredentials);
    };
    if !user.is_active {
        verify_blocking(password, None).await;
        tracing::info!(user_id = user.id, outcome = "inactive", "login refused");
        audit::append_alone(state, None, meta, refuse(Some(user.id), "inactive", AuditSeverity::Warning)).await?;
        return Err(AppError::InvalidCredentials);
    }
    let now = Utc::now();
    let Some(failures) = reserve_attempt(state, user.id, now).await? else {
        verify_blocking(password, None).await;
        tracing::info!(user_id = user.id, outcome = "locked", "login refused");
        audit::append_alone(state, None, meta, refuse(Some(user.id), "locked", AuditSeverity::Warning)).await?;
        return Err(AppError::InvalidCredentials);
    };
    if verify_blocking(password, user.password_hash.clone()).await {
        if super::twofactor::is_active(state, user.id).await? {
            // The reserved attempt was no failure; the code step counts its own.
            release_attempt(state, user.id, failures >= state.config.login_max_failures).await?;
            tracing::info!(user_id = user.id, "password accepted; second factor pending");
            return Ok(LoginOutcome::SecondFactor(user));
        }
        return complete_login(state, user, meta, None).await.map(LoginOutcome::SignedIn);
    }
    if failures >= state.config.login_max_failures {
        tracing::warn!(user_id = user.id, failures, "account locked after repeated login failures");
        let entry = refuse(Some(user.id), "locked_now", AuditSeverity::Critical);
        audit::append_alone(state, None, meta, entry.after(serde_json::json!({ "failures": failures }))).await?;
    } else {
        tracing::info!(user_id = user.id, failures, outcome = "wrong_password", "login refused");
        audit::append_alone(state, None, meta, refuse(Some(user.id), "wrong_password", AuditSeverity::Warning)).await?;
    }
    Err(AppError::InvalidCredentials)
}

/// A sign-in that passed every factor: the failure count is reset, the login recorded and
/// audited (`second_factor`: how the second step was passed, if there was one).
pub(crate) async fn complete_login(
    state: &AppState,
    user: users::Model,
    meta: &AuditMeta,
    second_factor: Option<&str>,
) -> AppResult<users::Model> {
    let now = Utc::now();
    // Who signs in (the fields the update below does not touch).
    let actor = actor_from(state, user.clone(), meta.channel).await?;
    let mut active: users::ActiveModel = user.into();
    active.failed_login_count = Set(0);
    active.locked_until = Set(None);
    active.last_login_at = Set(Some(now));
    active.updated_at = Set(now);
    // One transaction with its audit row (and, on SQLite, serialised with other writers).
    let txn = WriteTxn::begin_unmetered(state).await?;
    let user = active.update(&*txn).await?;
    let mut entry = AuditEntry::new("auth.login", "user", user.id);
    if let Some(method) = second_factor {
        entry = entry.after(serde_json::json!({ "second_factor": method }));
    }
    audit::append(&txn, Some(&actor), meta, entry).await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id, "login succeeded");
    Ok(user)
}

/// Audits a refused sign-in step of `user_id` (a wrong password, or a wrong second-factor
/// code) whose attempt [`reserve_attempt`] already counted: one counter for both, so codes
/// cannot be guessed beside the password. `failures`: what the reservation returned (the
/// attempt that reached the threshold set the lock, audited as such).
pub(crate) async fn audit_refused_attempt(
    state: &AppState,
    user_id: i64,
    meta: &AuditMeta,
    action: &str,
    reason: &str,
    failures: i32,
) -> AppResult<()> {
    let entry = if failures >= state.config.login_max_failures {
        tracing::warn!(user_id, failures, "account locked after repeated login failures");
        AuditEntry::new("auth.locked", "user", user_id)
            .after(serde_json::json!({ "failures": failures, "reason": reason }))
            .failed(AuditSeverity::Critical)
    } else {
        tracing::info!(user_id, failures, outcome = reason, "sign-in step refused");
        AuditEntry::new(action, "user", user_id)
            .after(serde_json::json!({ "reason": reason }))
            .failed(AuditSeverity::Warning)
    };
    // Outside the user's write budget: a refused guess is recorded even when it is spent.
    let txn = WriteTxn::begin_unmetered(state).await?;
    audit::append(&txn, None, meta, entry).await?;
    txn.commit().await
}

/// Passwords longer than this are refused before any hashing (argon2's work grows with the
/// input, and nobody types more).
pub const MAX_PASSWORD_LEN: usize = 256;

pub fn check_password_length(password: &str) -> AppResult<()> {
    if password.len() > 4 * MAX_PASSWORD_LEN || password.chars().count() > MAX_PASSWORD_LEN {
        return Err(AppError::validation("password", "La contraseña no puede superar 256 caracteres."));
    }
    Ok(())
}

/// Counts a login attempt on `user_id` as a failure before its password is checked, in one
/// atomic statement: `Some(failures so far, this one included)`, or `None` while the account
/// is locked. The attempt that reaches `login_max_failures` sets the lock in the same
/// statement, so no parallel guess slips in between; a lock that has run out starts the
/// count afresh. A successful login then clears both.
///
/// Like every write, it goes through [`WriteTxn`]: on SQLite that serialises it with the other
/// writers. A bare write on the pool could commit inside another operation's transaction, between
/// its first read and its first write, and that operation would then fail with "database is
/// locked" (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out): a token, a task or a user
/// refused with an internal error because someone signed in at that moment.
pub(crate) async fn reserve_attempt(
    state: &AppState,
    user_id: i64,
    now: chrono::DateTime<Utc>,
) -> AppResult<Option<i32>> {
    use sea_orm::{ConnectionTrait, Statement};
    let lock_end = now + Duration::minutes(state.config.login_lockout_minutes);
    let next = "CASE WHEN locked_until IS NULL THEN failed_login_count + 1 ELSE 1 END";
    let sql = format!(
        "UPDATE users SET failed_login_count = {next}, \
         locked_until = CASE WHEN {next} >= $2 THEN $3 ELSE NULL END \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $4) \
         RETURNING failed_login_count"
    );
    let txn = WriteTxn::begin_unmetered(state).await?;
    let statement = Statement::from_sql_and_values(
        txn.get_database_backend(),
        sql,
        [user_id.into(), state.config.login_max_failures.into(), lock_end.into(), now.into()],
    );
    let row = txn.query_one_raw(statement).await?;
    txn.commit().await?;
    row.map(|r| r.try_get_by_index::<i32>(0)).transpose().map_err(AppError::from)
}

/// Gives back an attempt [`reserve_attempt`] counted, when its password was right but the
/// sign-in goes on to a second factor (`locked`: the attempt set the lock, so it lifts it).
pub(crate) async fn release_attempt(state: &AppState, user_id: i64, locked: bool) -> AppResult<()> {
    let mut update = users::Entity::update_many()
        .col_expr(users::Column::FailedLoginCount, Expr::col(users::Column::FailedLoginCount).sub(1))
        .filter(users::Column::Id.eq(user_id))
        .filter(users::Column::FailedLoginCount.gt(0));
    if locked {
        update = update.col_expr(users::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None));
    }
    // Serialised with the other writers on SQLite (see `reserve_attempt`).
    let txn = WriteTxn::begin_unmetered(state).await?;
    update.exec(&*txn).await?;
    txn.commit().await
}

/// The actor for a signed-in user id; an inactive or deleted user is nobody.
///
/// Every dashboard request asks this, so the answer is kept in `Caches::actors`: any write
/// committed on this replica that may change an account (a deactivation, a role change — all
/// but a task's writes and position reports, see `WriteTxn::leaves_accounts`) invalidates it.
pub async fn actor_for_user(state: &AppState, user_id: i64, channel: Channel) -> AppResult<Actor> {
    let mut actor = state
        .caches
        .actors
        .get_or_compute(&state.events, user_id, || async {
            // The user and their officer record in one statement (at most one: unique user_id).
            let (user, officer) = users::Entity::find_by_id(user_id)
                .filter(users::Column::DeletedAt.is_null())
                .find_also_related(officers::Entity)
                .one(&state.db)
                .await?
                .filter(|(u, _)| u.is_active)
                .ok_or(AppError::Unauthenticated)?;
            // A role that requires two-factor sign-in acts only once enrolled.
            super::twofactor::require_enrolled(state, &user).await?;
            Ok(actor_of(user, officer.filter(|o| o.deleted_at.is_none()), channel))
        })
        .await?;
    // Names the user on the request's log line (`actor_from` does not run on a hit).
    crate::request_user::note(user_id);
    actor.channel = channel;
    Ok(actor)
}

/// The actor a command run on the server acts as (`gad import csv --as`): the active user with
/// `email`. Two-step sign-in does not apply — it guards signing in, and whoever runs a command
/// there already holds the database's own credentials; the audit log names the user.
pub async fn actor_for_operator(state: &AppState, email: &str) -> AppResult<Actor> {
    let email = email.trim().to_lowercase();
    let (user, officer) = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .filter(users::Column::DeletedAt.is_null())
        .find_also_related(officers::Entity)
        .one(&state.db)
        .await?
        .filter(|(u, _)| u.is_active)
        .ok_or(AppError::NotFound)?;
    Ok(actor_of(user, officer.filter(|o| o.deleted_at.is_none()), Channel::System))
}

/// The actor of a dashboard session stamped with `epoch` at sign-in. A session from before
/// the user's last password change, reset, deactivation or deletion is nobody; a user whose
/// password an admin reset may only change it (`for_password_change`) until they do.
pub async fn actor_for_session(
    state: &AppState,
    user_id: i64,
    epoch: i64,
    channel: Channel,
    for_password_change: bool,
) -> AppResult<Actor> {
    let actor = actor_for_user(state, user_id, channel).await?;
    if actor.credential_epoch != epoch {
        return Err(AppError::Unauthenticated);
    }
    if actor.must_change_password && !for_password_change {
        return Err(AppError::PasswordChangeRequired);
    }
    Ok(actor)
}

/// The actor for a linked Telegram account; an unlinked account is nobody. The same account
/// gates as every other door ([`actor_for_user`]): an inactive or deleted user is nobody, a
/// role that requires two-factor sign-in acts only once enrolled. (Every revocation of the
/// user's credentials — a password change or reset, a deactivation — ends the link too.)
pub async fn actor_for_telegram(state: &AppState, telegram_user_id: i64) -> AppResult<Actor> {
    let user_id: i64 = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::TelegramUserId.eq(telegram_user_id))
        .filter(users::Column::DeletedAt.is_null())
        .into_tuple()
        .one(&state.db)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    actor_for_user(state, user_id, Channel::Telegram).await
}

pub(crate) async fn actor_from(state: &AppState, user: users::Model, channel: Channel) -> AppResult<Actor> {
    // Names the user on the request's log line.
    crate::request_user::note(user.id);
    let officer = officers::Entity::find()
        .filter(officers::Column::UserId.eq(user.id))
        .filter(officers::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?;
    Ok(actor_of(user, officer, channel))
}

/// The actor of `user`, an officer if `officer` is their live officer record.
fn actor_of(user: users::Model, officer: Option<officers::Model>, channel: Channel) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        full_name: format!("{} {}", user.first_name, user.last_name),
        email: user.email,
        officer_id: officer.map(|o| o.id),
        telegram_user_id: user.telegram_user_id,
        channel,
        read_only: false,
        via_token: false,
        credential_epoch: user.credential_epoch,
        must_change_password: user.must_change_password,
    }
}

/// The actor for a personal API token (`Authorization: Bearer gad_…`). Revoked, expired
/// (every token has an expiry; one without is refused) or unknown tokens and inactive users
/// are nobody. The actor is marked `via_token`, so it cannot mint further credentials. `last_used_at` is refreshed at most once a
/// minute, so a busy integration does not write on every request.
pub async fn actor_for_token(state: &AppState, token: &str) -> AppResult<Actor> {
    use crate::entities::api_tokens;
    use crate::services::users::{TOKEN_PREFIX, secret_hash};
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let now = Utc::now();
    let row = api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(secret_hash(token)))
        .one(&state.db)
        .await?
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_some_and(|e| e > now))
        .ok_or(AppError::Unauthenticated)?;
    let read_only = !row.scopes.split_whitespace().any(|s| s == "write");
    if row.last_used_at.is_none_or(|t| now - t > Duration::minutes(1)) {
        // Bookkeeping: a database that cannot take writes now (full, read-only) must not
        // refuse the request, which may only read.
        if let Err(error) = touch_token(state, row.id, now).await {
            tracing::warn!(%error, "could not record a token's last use");
        }
    }
    let actor = actor_for_user(state, row.user_id, Channel::Api).await?;
    Ok(Actor { read_only, via_token: true, ..actor })
}

async fn touch_token(state: &AppState, id: i64, now: chrono::DateTime<Utc>) -> AppResult<()> {
    use crate::entities::api_tokens;
    // Serialised with the other writers on SQLite (see `reserve_attempt`).
    let txn = WriteTxn::begin_unmetered(state).await?;
    api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::LastUsedAt, Expr::value(Some(now)))
        .filter(api_tokens::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    txn.commit().await
}

/// Records a logout in the audit log.
pub async fn audit_logout(state: &AppState, actor: &Actor, meta: &AuditMeta) -> AppResult<()> {
    audit::append_alone(state, Some(actor), meta, AuditEntry::new("auth.logout", "user", actor.user_id)).await
}
