//! The Telegram bot's inbox (`bot_inbox`): updates stored before Telegram is told we have them,
//! handed to the bot in `update_id` order, marked handled when the bot is done, and remembered
//! [`KEEP_HANDLED`] after, so an update Telegram sends again is recognised. The bot's
//! `inbox` module runs the loop; this is its storage.
//!
//! No actor here: an update belongs to a chat, not yet to a user; every business action it
//! leads to is still a server function.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::Value;

use crate::entities::bot_inbox;
use crate::error::AppResult;

/// How long a handled update is remembered (Telegram gives up re-sending well before).
pub const KEEP_HANDLED: Duration = Duration::from_secs(600);
/// The largest update kept; Telegram's are a few kilobytes (a larger one is skipped, logged).
pub const UPDATE_MAX_BYTES: usize = 64 * 1024;

/// Keeps what Telegram sent until it is handled: `false` when it cannot be (no `update_id`, or
/// too large), which the caller acknowledges all the same (Telegram would send it forever).
/// Keeping an update twice (Telegram sending it again) keeps one row.
pub async fn keep(db: &DatabaseConnection, raw: &Value, body_len: usize) -> AppResult<bool> {
    let Some(update_id) = raw.get("update_id").and_then(Value::as_i64) else {
        tracing::warn!("telegram update without an update_id skipped");
        return Ok(false);
    };
    if body_len > UPDATE_MAX_BYTES {
        tracing::warn!(update_id, bytes = body_len, "telegram update too large; skipped");
        return Ok(false);
    }
    let row = bot_inbox::ActiveModel {
        update_id: Set(update_id),
        body: Set(raw.to_string()),
        received_at: Set(Utc::now()),
        handled_at: Set(None),
    };
    bot_inbox::Entity::insert(row)
        .on_conflict(OnConflict::column(bot_inbox::Column::UpdateId).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(true)
}

/// The ids of the oldest updates not yet handled, at most `limit`, oldest first (read often:
/// ids only, from the index of the waiting).
pub async fn waiting(db: &DatabaseConnection, limit: u64) -> AppResult<Vec<i64>> {
    Ok(bot_inbox::Entity::find()
        .select_only()
        .column(bot_inbox::Column::UpdateId)
        .filter(bot_inbox::Column::HandledAt.is_null())
        .order_by_asc(bot_inbox::Column::UpdateId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// The updates with these ids, oldest first: (update id, the update).
pub async fn bodies(db: &DatabaseConnection, ids: &[i64]) -> AppResult<Vec<(i64, Value)>> {
    let rows: Vec<(i64, String)> = bot_inbox::Entity::find()
        .select_only()
        .columns([bot_inbox::Column::UpdateId, bot_inbox::Column::Body])
        .filter(bot_inbox::Column::UpdateId.is_in(ids.iter().copied()))
        .order_by_asc(bot_inbox::Column::UpdateId)
        .into_tuple()
        .all(db)
        .await?;
    // A body that no longer parses is handed out as `null`: the bot counts it malformed.
    Ok(rows.into_iter().map(|(id, body)| (id, serde_json::from_str(&body).unwrap_or(Value::Null))).collect())
}

/// Marks an update handled.
pub async fn mark_handled(db: &DatabaseConnection, update_id: i64) -> AppResult<()> {
    bot_inbox::Entity::update_many()
        .col_expr(bot_inbox::Column::HandledAt, Expr::value(Some(Utc::now())))
        .filter(bot_inbox::Column::UpdateId.eq(update_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets the updates handled more than [`KEEP_HANDLED`] ago.
pub async fn purge_handled(db: &DatabaseConnection) -> AppResult<u64> {
    let before = Utc::now() - chrono::Duration::from_std(KEEP_HANDLED).unwrap_or_default();
    let gone = bot_inbox::Entity::delete_many().filter(bot_inbox::Column::HandledAt.lt(before)).exec(db).await?;
    Ok(gone.rows_affected)
}
