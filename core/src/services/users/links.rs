//! Telegram link codes: one-time, hashed, 15 minutes, redeemed once by one conditional UPDATE.

use super::*;

/// A one-time code that links a Telegram account to `user_id` (admins for anyone, a user for
/// themselves). Only its hash is stored; earlier unused codes of the user stop working.
pub async fn create_link_code(state: &AppState, actor: &Actor, meta: &AuditMeta, user_id: i64) -> AppResult<LinkCode> {
    require_interactive(actor)?;
    if user_id == actor.user_id {
        require_write(actor)?;
    } else {
        require(actor, Capability::ManageUsers)?;
    }
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let code = random_string(10, ALPHABET);
    let now = Utc::now();
    let expires_at = now + chrono::Duration::minutes(LINK_CODE_MINUTES);
    let txn = WriteTxn::begin(state).await?;
    let owner = find_user_locked(&*txn, user_id).await?;
    ensure_actor_current(&*txn, actor, &owner).await?;
    // What a linked Telegram account does is recorded as the user's doing, past their second
    // factor: a code for another admin would let one admin act in a colleague's name (as an
    // API token would: see `tokens::create_api_token`).
    if owner.role == contract::domain::Role::Admin && user_id != actor.user_id {
        return Err(AppError::Refused(
            "Cada administrador vincula su propia cuenta de Telegram: no puede hacerlo por otro administrador.".into(),
        ));
    }
    telegram_links::Entity::update_many()
        .col_expr(telegram_links::Column::UsedAt, sea_orm::sea_query::Expr::value(Some(now)))
        .filter(telegram_links::Column::UserId.eq(user_id))
        .filter(telegram_links::Column::UsedAt.is_null())
        .exec(&*txn)
        .await?;
    telegram_links::ActiveModel {
        user_id: Set(user_id),
        code_hash: Set(secret_hash(&code)),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    audit::append(&txn, Some(actor), meta, AuditEntry::new("telegram.link_code", "user", user_id)).await?;
    txn.commit().await?;
    let deep_link = state.config.telegram_bot_username.as_ref().map(|bot| format!("https://t.me/{bot}?start={code}"));
    Ok(LinkCode { code, deep_link, expires_at })
}

/// Redeems a link code for a Telegram account (the bot's `/start <code>`). Unknown, used and
/// expired codes are refused alike. A Telegram account linked to someone else does not move
/// (a code passed on by its user would otherwise take over whoever taps it: their positions,
/// alerts and emergencies would become the code's user's): its holder unlinks it first
/// ([`unlink_telegram`], the bot's `/desvincular`), and the code stays unused.
pub async fn redeem_link_code(state: &AppState, code: &str, telegram_user_id: i64) -> AppResult<UserSummary> {
    let now = Utc::now();
    let invalid = || AppError::Conflict("El código de vinculación no es válido o ya venció.".into());
    let meta = AuditMeta::internal(contract::domain::Channel::Telegram);
    let hash = secret_hash(code.trim().to_uppercase().as_str());
    // A made-up code is refused by a plain read: guesses sent in bulk take no writer's turn.
    let live = telegram_links::Entity::find()
        .filter(telegram_links::Column::CodeHash.eq(hash.as_str()))
        .filter(telegram_links::Column::UsedAt.is_null())
        .filter(telegram_links::Column::ExpiresAt.gt(now))
        .one(&state.db)
        .await?;
    if live.is_none() {
        return Err(invalid());
    }
    let txn = WriteTxn::begin(state).await?;
    let link = telegram_links::Entity::find()
        .filter(telegram_links::Column::CodeHash.eq(hash))
        .one(&*txn)
        .await?
        .ok_or_else(invalid)?;
    // The user's row first, the link's after: the order a promotion takes them in
    // (`end_credentials_made_for`), so the two wait for each other instead of deadlocking.
    let user = find_user_locked(&*txn, link.user_id).await?;
    let held_by_other = users::Entity::find()
        .filter(users::Column::TelegramUserId.eq(telegram_user_id))
        .filter(users::Column::Id.ne(user.id))
        .one(&*txn)
        .await?;
    if held_by_other.is_some() {
        return Err(AppError::Refused(
            "Esta cuenta de Telegram ya está vinculada a otro usuario de GAD: para vincularla a este, \
             envíe primero /desvincular y luego el código de nuevo."
                .into(),
        ));
    }
    // Used up by one conditional UPDATE: of two redemptions racing, only one changes the row
    // (PostgreSQL re-checks the condition after the first commits; SQLite runs one at a time).
    let claimed = telegram_links::Entity::update_many()
        .col_expr(telegram_links::Column::UsedAt, sea_orm::sea_query::Expr::value(Some(now)))
        .filter(telegram_links::Column::Id.eq(link.id))
        .filter(telegram_links::Column::UsedAt.is_null())
        .filter(telegram_links::Column::ExpiresAt.gt(now))
        .exec(&*txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(invalid());
    }
    if !user.is_active {
        return Err(invalid());
    }
    users::Entity::update_many()
        .col_expr(users::Column::TelegramUserId, sea_orm::sea_query::Expr::value(Option::<i64>::None))
        .filter(users::Column::TelegramUserId.eq(telegram_user_id))
        .exec(&*txn)
        .await?;
    let mut active: users::ActiveModel = user.into();
    active.telegram_user_id = Set(Some(telegram_user_id));
    active.updated_at = Set(now);
    let user = active.update(&*txn).await?;
    // The audit's actor: the user as they are (linking is allowed before a required two-factor
    // enrolment; acting through the bot is not, see `auth::actor_for_telegram`).
    let actor = crate::services::auth::actor_from(state, user.clone(), contract::domain::Channel::Telegram).await?;
    audit::append(&txn, Some(&actor), &meta, AuditEntry::new("telegram.link", "user", user.id)).await?;
    txn.commit().await?;
    Ok(summary(&user))
}

/// Unlinks the actor's own Telegram account (the bot's `/desvincular`): the bot no longer
/// knows it until a new code links it. Audited.
pub async fn unlink_telegram(state: &AppState, actor: &Actor, meta: &AuditMeta) -> AppResult<()> {
    let txn = WriteTxn::begin(state).await?;
    let user = find_user_locked(&*txn, actor.user_id).await?;
    if user.telegram_user_id.is_none() {
        return Err(AppError::Conflict("Su cuenta de Telegram no está vinculada.".into()));
    }
    let mut active: users::ActiveModel = user.into();
    active.telegram_user_id = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(&*txn).await?;
    audit::append(&txn, Some(actor), meta, AuditEntry::new("telegram.unlink", "user", actor.user_id)).await?;
    txn.commit().await
}
