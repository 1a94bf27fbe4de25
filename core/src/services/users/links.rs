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
/// expired codes are refused alike; the account moves if it was linked to someone else.
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
