//! The Telegram bot's conversation state (wizard steps, pending questions) per chat, kept
//! outside the bot process so that a restart mid-wizard loses nothing: in Redis when it is
//! configured (`gad:bot:conv:<chat id>`, `EX` 30 minutes), else in the `bot_conversations`
//! table with an `expires_at`. The state is opaque JSON owned by the bot.
//!
//! No actor here: the state belongs to a chat, not to a user, and holds only what the chat's
//! own person typed; every business action is still a server function.

use chrono::{Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::WriteTxn;
use crate::entities::bot_conversations;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A conversation left alone this long is forgotten.
pub const TTL_MINUTES: i64 = 30;

fn key(chat_id: i64) -> String {
    format!("gad:bot:conv:{chat_id}")
}

fn redis_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("redis: {e}"))
}

/// The chat's live state, if any. State that no longer parses (an older shape) counts as none.
pub async fn load<T: DeserializeOwned>(state: &AppState, chat_id: i64) -> AppResult<Option<T>> {
    let raw: Option<String> = match &state.redis {
        Some(pool) => {
            let mut conn = pool.get().await.map_err(redis_error)?;
            redis::cmd("GET").arg(key(chat_id)).query_async(&mut *conn).await.map_err(redis_error)?
        }
        None => bot_conversations::Entity::find_by_id(chat_id)
            .filter(bot_conversations::Column::ExpiresAt.gt(Utc::now()))
            .one(&state.db)
            .await?
            .map(|row| row.state),
    };
    Ok(raw.and_then(|raw| match serde_json::from_str(&raw) {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::warn!(chat_id, error = %e, "unreadable bot conversation state dropped");
            None
        }
    }))
}

/// Stores the chat's state for another [`TTL_MINUTES`].
pub async fn save<T: Serialize>(state: &AppState, chat_id: i64, value: &T) -> AppResult<()> {
    let raw = serde_json::to_string(value).map_err(AppError::internal)?;
    match &state.redis {
        Some(pool) => {
            let mut conn = pool.get().await.map_err(redis_error)?;
            redis::cmd("SET")
                .arg(key(chat_id))
                .arg(raw)
                .arg("EX")
                .arg(TTL_MINUTES * 60)
                .query_async::<()>(&mut *conn)
                .await
                .map_err(redis_error)?;
        }
        None => {
            let now = Utc::now();
            let row = bot_conversations::ActiveModel {
                chat_id: Set(chat_id),
                state: Set(raw),
                expires_at: Set(now + Duration::minutes(TTL_MINUTES)),
                updated_at: Set(now),
            };
            let txn = WriteTxn::begin(state).await?;
            bot_conversations::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(bot_conversations::Column::ChatId)
                        .update_columns([
                            bot_conversations::Column::State,
                            bot_conversations::Column::ExpiresAt,
                            bot_conversations::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec(&*txn)
                .await?;
            txn.commit().await?;
        }
    }
    Ok(())
}

/// Forgets the chat's state; whether there was a live one. Atomic: of two clears racing (a
/// double-tapped button, handled by two replicas), exactly one sees the state, so a step that
/// clears before it acts runs once.
pub async fn clear(state: &AppState, chat_id: i64) -> AppResult<bool> {
    match &state.redis {
        Some(pool) => {
            let mut conn = pool.get().await.map_err(redis_error)?;
            let removed: i64 =
                redis::cmd("DEL").arg(key(chat_id)).query_async(&mut *conn).await.map_err(redis_error)?;
            Ok(removed > 0)
        }
        None => {
            // (An expired row is left to `purge_expired`; the next save writes over it.)
            let txn = WriteTxn::begin(state).await?;
            let removed = bot_conversations::Entity::delete_many()
                .filter(bot_conversations::Column::ChatId.eq(chat_id))
                .filter(bot_conversations::Column::ExpiresAt.gt(Utc::now()))
                .exec(&*txn)
                .await?;
            txn.commit().await?;
            Ok(removed.rows_affected > 0)
        }
    }
}

/// Deletes expired rows (database mode; Redis expires keys itself). Returns how many.
pub async fn purge_expired(state: &AppState) -> AppResult<u64> {
    if state.redis.is_some() {
        return Ok(0);
    }
    let txn = WriteTxn::begin(state).await?;
    let result = bot_conversations::Entity::delete_many()
        .filter(bot_conversations::Column::ExpiresAt.lte(Utc::now()))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(result.rows_affected)
}
