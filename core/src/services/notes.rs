//! The operator logbook (SPEC §2, §6.1): each user's own, private notes. Nobody reads another
//! person's logbook, admins included; writing needs a token that may write.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::notes;
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::services::local_time;
use crate::state::AppState;
use contract::Page;
use contract::notes::Note;

/// Longest note, in characters.
pub const MAX_CHARS: usize = 4000;

fn dto(state: &AppState, row: notes::Model) -> Note {
    Note {
        id: row.id,
        body: row.body,
        created_at: row.created_at,
        created_at_local: local_time(row.created_at, state.config.timezone),
    }
}

/// Adds a note to the actor's logbook.
pub async fn create(state: &AppState, actor: &Actor, meta: &AuditMeta, body: &str) -> AppResult<Note> {
    require(actor, Capability::KeepOwnNotes)?;
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::validation("body", "Escriba la nota."));
    }
    if body.chars().count() > MAX_CHARS {
        return Err(AppError::validation("body", "La nota no puede superar los 4000 caracteres."));
    }
    let now = Utc::now();
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let row = notes::ActiveModel {
        user_id: Set(actor.user_id),
        body: Set(body.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    // The audit row records that a note was written, not what it says (it is private).
    audit::append(&txn, Some(actor), meta, AuditEntry::new("note.create", "note", row.id)).await?;
    txn.commit().await?;
    Ok(dto(state, row))
}

/// The actor's own notes, newest first, cursor-paginated by id.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    cursor: Option<String>,
    limit: Option<u32>,
) -> AppResult<Page<Note>> {
    require(actor, Capability::ReadOwnNotes)?;
    let limit = limit.unwrap_or(50).clamp(1, 200);
    let mut query = notes::Entity::find().filter(notes::Column::UserId.eq(actor.user_id));
    if let Some(before) = cursor.filter(|c| !c.is_empty()) {
        let before: i64 = before.parse().map_err(|_| AppError::validation("cursor", "Cursor inválido."))?;
        query = query.filter(notes::Column::Id.lt(before));
    }
    let rows = crate::db::first_rows(&state.db, query.order_by_desc(notes::Column::Id), u64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    let items: Vec<Note> = rows.into_iter().take(limit as usize).map(|r| dto(state, r)).collect();
    let next_cursor = if more { items.last().map(|n| n.id.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}

/// Deletes one of the actor's own notes; another person's note is "not found".
pub async fn delete(state: &AppState, actor: &Actor, meta: &AuditMeta, id: i64) -> AppResult<()> {
    require(actor, Capability::KeepOwnNotes)?;
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let row = notes::Entity::find_by_id(id)
        .filter(notes::Column::UserId.eq(actor.user_id))
        .one(&*txn)
        .await?
        .ok_or(AppError::NotFound)?;
    notes::Entity::delete_by_id(row.id).exec(&*txn).await?;
    audit::append(&txn, Some(actor), meta, AuditEntry::new("note.delete", "note", id)).await?;
    txn.commit().await?;
    Ok(())
}
