//! Personal API tokens: hashed, scoped read/write, expiring, revocable; minted only by a
//! signed-in person, never by another token.

use super::*;
use sea_orm::QuerySelect;

pub(super) fn token_info(t: &api_tokens::Model) -> ApiTokenInfo {
    ApiTokenInfo {
        id: t.id,
        user_id: t.user_id,
        name: t.name.clone(),
        scopes: t.scopes.split_whitespace().map(str::to_owned).collect(),
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
        created_at: t.created_at,
    }
}

/// A personal API token: yours, or, for an admin, anyone's but another admin's. The secret is
/// returned once.
pub async fn create_api_token(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    user_id: i64,
    name: &str,
    read_only: bool,
    expires_in_days: Option<u32>,
) -> AppResult<CreatedApiToken> {
    require_interactive(actor)?;
    if user_id == actor.user_id {
        require_write(actor)?;
    } else {
        require(actor, Capability::ManageUsers)?;
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "Ingrese un nombre para el token (hasta 100 caracteres)."));
    }
    let days = expires_in_days.unwrap_or(TOKEN_DEFAULT_DAYS);
    if days == 0 || days > TOKEN_MAX_DAYS {
        return Err(AppError::validation("expires_in_days", "La vigencia debe estar entre 1 y 365 días."));
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let token = format!("{TOKEN_PREFIX}{}", random_string(40, ALPHABET));
    let now = Utc::now();
    let txn = WriteTxn::begin(state).await?;
    // The user's row locked (on PostgreSQL) so that two creations count in turn.
    let owner = users::Entity::find_by_id(user_id)
        .filter(users::Column::DeletedAt.is_null())
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(&*txn)
        .await?
        .ok_or(AppError::NotFound)?;
    ensure_actor_current(&*txn, actor, &owner).await?;
    // What a token does is recorded as its owner's doing: another admin's would let one admin
    // act in a colleague's name (and past that colleague's second factor).
    if owner.role == contract::domain::Role::Admin && user_id != actor.user_id {
        return Err(AppError::Refused(
            "Cada administrador crea sus propios tokens: no puede crearlos para otro administrador.".into(),
        ));
    }
    let live = api_tokens::Entity::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .filter(api_tokens::Column::ExpiresAt.gt(now))
        .count(&*txn)
        .await?;
    if live >= TOKEN_MAX_LIVE {
        return Err(AppError::Conflict(format!(
            "Ya hay {TOKEN_MAX_LIVE} tokens vigentes para este usuario: revoque alguno antes de crear otro."
        )));
    }
    let row = api_tokens::ActiveModel {
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        token_hash: Set(secret_hash(&token)),
        scopes: Set(if read_only { "read" } else { "read write" }.into()),
        expires_at: Set(Some(now + chrono::Duration::days(i64::from(days)))),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let info = token_info(&row);
    audit::append(&txn, Some(actor), meta, AuditEntry::new("api_token.create", "api_token", row.id).after(&info))
        .await?;
    txn.commit().await?;
    Ok(CreatedApiToken { token, info })
}

pub async fn list_api_tokens(state: &AppState, actor: &Actor, user_id: i64) -> AppResult<Vec<ApiTokenInfo>> {
    if user_id != actor.user_id {
        require(actor, Capability::ManageUsers)?;
    }
    find_user(&state.db, user_id).await?;
    let rows = api_tokens::Entity::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .order_by_desc(api_tokens::Column::Id)
        .all(&state.db)
        .await?;
    Ok(rows.iter().map(token_info).collect())
}

pub async fn revoke_api_token(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    token_id: i64,
) -> AppResult<ApiTokenInfo> {
    let txn = WriteTxn::begin(state).await?;
    let row = api_tokens::Entity::find_by_id(token_id).one(&*txn).await?.ok_or(AppError::NotFound)?;
    if row.user_id == actor.user_id {
        require_write(actor)?;
    } else {
        // Someone else's token is answered as if it did not exist: token ids reveal nothing.
        require(actor, Capability::ManageUsers).map_err(|_| AppError::NotFound)?;
    }
    let row = if row.revoked_at.is_none() {
        let mut active: api_tokens::ActiveModel = row.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(&*txn).await?
    } else {
        row
    };
    audit::append(&txn, Some(actor), meta, AuditEntry::new("api_token.revoke", "api_token", token_id)).await?;
    txn.commit().await?;
    Ok(token_info(&row))
}
