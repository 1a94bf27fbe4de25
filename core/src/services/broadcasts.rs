//! Broadcasts (difusiones) to Telegram groups, and the groups themselves.
//!
//! Composing stores the broadcast `pending` and emits `broadcast.created`; the bot process
//! (the only one that talks to Telegram) delivers pending broadcasts and records the result
//! with [`record_delivery`]. Supervisors and admins broadcast; admins manage groups.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{broadcasts, telegram_groups, users};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::state::AppState;
use contract::Page;
use contract::broadcasts::{Broadcast, BroadcastTemplate, TelegramGroup};
use contract::domain::{BroadcastKind, Channel, DeliveryStatus};
use contract::events::Event;

/// Telegram refuses messages longer than this (characters after entity parsing).
pub const TEXT_MAX: usize = 4000;
const NAME_MAX: usize = 60;
const DESCRIPTION_MAX: usize = 300;
/// Broadcast delivery errors are kept this short.
const ERROR_MAX: usize = 300;

fn group_dto(row: telegram_groups::Model) -> TelegramGroup {
    TelegramGroup {
        id: row.id,
        name: row.name,
        chat_id: row.chat_id,
        description: row.description,
        created_at: row.created_at,
    }
}

pub async fn list_groups(state: &AppState, actor: &Actor) -> AppResult<Vec<TelegramGroup>> {
    require(actor, Capability::Broadcast)?;
    let mut rows = telegram_groups::Entity::find().all(&state.db).await?;
    // Alphabetical as people read it, whatever the case and the database's collation.
    rows.sort_by_cached_key(|g| (g.name.to_lowercase(), g.id));
    Ok(rows.into_iter().map(group_dto).collect())
}

/// Whether a Telegram bot is configured to deliver broadcasts (`TELEGRAM_BOT_TOKEN`): what
/// the composer tells the sender will happen to a message.
pub fn bot_configured(state: &AppState, actor: &Actor) -> AppResult<bool> {
    require(actor, Capability::Broadcast)?;
    Ok(state.config.telegram_bot_token.is_some())
}

pub async fn create_group(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    name: String,
    chat_id: i64,
    description: Option<String>,
) -> AppResult<TelegramGroup> {
    require(actor, Capability::ManageGroups)?;
    // Kept as written ("Comisaría Norte"); two names that differ only in case are one group.
    let name = name.trim().to_owned();
    let description = description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    let mut errors = crate::validate::Errors::new();
    let n = name.chars().count();
    if !(2..=NAME_MAX).contains(&n) {
        errors.add("name", "El nombre debe tener entre 2 y 60 caracteres.");
    }
    if chat_id == 0 {
        errors.add("chat_id", "Indique el identificador de chat de Telegram del grupo.");
    }
    if description.as_ref().is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors.add("description", "La descripción admite hasta 300 caracteres.");
    }
    errors.finish()?;
    let now = Utc::now();
    let txn = WriteTxn::begin(state).await?;
    let lower = name.to_lowercase();
    let taken = telegram_groups::Entity::find().all(&*txn).await?.into_iter().find(|g| g.name.to_lowercase() == lower);
    if let Some(other) = taken {
        return Err(AppError::Conflict(format!("Ya existe un grupo llamado {}.", other.name)));
    }
    let row = telegram_groups::ActiveModel {
        name: Set(name),
        chat_id: Set(chat_id),
        description: Set(description),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let entry = AuditEntry::new("telegram_group.create", "telegram_group", row.id)
        .after(serde_json::json!({"name": row.name, "chat_id": row.chat_id}));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(group_dto(row))
}

pub async fn delete_group(state: &AppState, actor: &Actor, meta: &AuditMeta, id: i64) -> AppResult<()> {
    require(actor, Capability::ManageGroups)?;
    let txn = WriteTxn::begin(state).await?;
    let row = telegram_groups::Entity::find_by_id(id).one(&*txn).await?.ok_or(AppError::NotFound)?;
    telegram_groups::Entity::delete_by_id(id).exec(&*txn).await?;
    let entry = AuditEntry::new("telegram_group.delete", "telegram_group", id)
        .before(serde_json::json!({"name": row.name, "chat_id": row.chat_id}));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(())
}

async fn dto(db: &impl ConnectionTrait, row: broadcasts::Model) -> AppResult<Broadcast> {
    let group_name =
        telegram_groups::Entity::find_by_id(row.group_id).one(db).await?.map(|g| g.name).unwrap_or_default();
    let sender = match row.sender_id {
        Some(id) => users::Entity::find_by_id(id).one(db).await?.map(|u| format!("{} {}", u.first_name, u.last_name)),
        None => None,
    };
    Ok(Broadcast {
        id: row.id,
        group_id: row.group_id,
        group_name,
        kind: row.kind,
        text: row.text,
        sender_id: row.sender_id,
        sender,
        created_at: row.created_at,
        sent_at: row.sent_at,
        delivery_status: row.delivery_status,
        delivery_error: row.delivery_error,
    })
}

/// Stores a broadcast `pending` for the bot to deliver.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    group_id: i64,
    kind: BroadcastKind,
    text: String,
) -> AppResult<Broadcast> {
    require(actor, Capability::Broadcast)?;
    let text = text.trim().to_owned();
    let n = text.chars().count();
    if !(1..=TEXT_MAX).contains(&n) {
        return Err(AppError::validation("text", "El mensaje debe tener entre 1 y 4000 caracteres."));
    }
    let mut txn = WriteTxn::begin(state).await?;
    if telegram_groups::Entity::find_by_id(group_id).one(&*txn).await?.is_none() {
        return Err(AppError::validation("group_id", "El grupo de Telegram no existe."));
    }
    let row = broadcasts::ActiveModel {
        group_id: Set(group_id),
        kind: Set(kind),
        text: Set(text),
        sender_id: Set(Some(actor.user_id)),
        sent_at: Set(None),
        delivery_status: Set(DeliveryStatus::Pending),
        delivery_error: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let entry = AuditEntry::new("broadcast.create", "broadcast", row.id)
        .after(serde_json::json!({"group_id": group_id, "kind": kind}));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::BroadcastCreated { broadcast_id: row.id, group_id });
    // The answer is read in the transaction, before the commit: after it, a failed read would
    // answer an error for work that was done (and its retry would do it twice).
    let answer = dto(&*txn, row).await?;
    txn.commit().await?;
    Ok(answer)
}

/// Newest first, keyset-paginated by id.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    group_id: Option<i64>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> AppResult<Page<Broadcast>> {
    require(actor, Capability::Broadcast)?;
    let limit = limit.unwrap_or(50).clamp(1, 200);
    let mut query = broadcasts::Entity::find();
    if let Some(before) = cursor.filter(|c| !c.is_empty()) {
        let before: i64 = before.parse().map_err(|_| AppError::validation("cursor", "Cursor inválido."))?;
        query = query.filter(broadcasts::Column::Id.lt(before));
    }
    if let Some(group_id) = group_id {
        query = query.filter(broadcasts::Column::GroupId.eq(group_id));
    }
    let rows =
        crate::db::first_rows(&state.db, query.order_by_desc(broadcasts::Column::Id), u64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::new();
    for row in rows.into_iter().take(limit as usize) {
        items.push(dto(&state.db, row).await?);
    }
    let next_cursor = if more { items.last().map(|b| b.id.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}

pub fn templates(actor: &Actor) -> AppResult<Vec<BroadcastTemplate>> {
    require(actor, Capability::Broadcast)?;
    let t = |key: &str, name: &str, kind: BroadcastKind, text: &str| BroadcastTemplate {
        key: key.into(),
        name: name.into(),
        kind,
        text: text.into(),
    };
    Ok(vec![
        t(
            "codigo_rojo",
            "Código rojo",
            BroadcastKind::Urgent,
            "CÓDIGO ROJO. Todas las unidades disponibles: diríjanse al punto indicado por la central y \
             confirmen recepción. Mantengan la frecuencia libre.",
        ),
        t(
            "evacuacion",
            "Evacuación",
            BroadcastKind::Alert,
            "EVACUACIÓN. Procedan a evacuar la zona indicada siguiendo el protocolo vigente. \
             Informen novedades a la central.",
        ),
        t(
            "refuerzos",
            "Solicitud de refuerzos",
            BroadcastKind::Urgent,
            "Se solicitan REFUERZOS en la ubicación indicada por la central. \
             Las unidades libres confirmen disponibilidad.",
        ),
        t(
            "fin_operativo",
            "Fin del operativo",
            BroadcastKind::Info,
            "FIN DEL OPERATIVO. Las unidades regresan a sus tareas habituales. Gracias a todos.",
        ),
        t(
            "reunion_supervisores",
            "Reunión urgente de supervisores",
            BroadcastKind::Alert,
            "REUNIÓN URGENTE DE SUPERVISORES en la base en 30 minutos. Confirmen asistencia.",
        ),
    ])
}

// --------------------------------------------------------------- delivery (the bot process)

/// A broadcast waiting to be sent, with what the bot needs to send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingDelivery {
    pub id: i64,
    pub chat_id: i64,
    pub kind: BroadcastKind,
    pub text: String,
    pub sender: Option<String>,
}

/// Pending broadcasts, oldest first (a system job: no actor).
pub async fn pending_deliveries(state: &AppState, limit: u64) -> AppResult<Vec<PendingDelivery>> {
    let rows = broadcasts::Entity::find()
        .filter(broadcasts::Column::DeliveryStatus.eq(DeliveryStatus::Pending))
        .order_by_asc(broadcasts::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let Some(group) = telegram_groups::Entity::find_by_id(row.group_id).one(&state.db).await? else {
            continue;
        };
        let sender = dto(&state.db, row.clone()).await?.sender;
        out.push(PendingDelivery { id: row.id, chat_id: group.chat_id, kind: row.kind, text: row.text, sender });
    }
    Ok(out)
}

/// Records the outcome of one delivery attempt: `Ok` → delivered, `Err(reason)` → failed.
/// Only a pending broadcast changes; returns whether this call recorded it.
pub async fn record_delivery(state: &AppState, id: i64, outcome: Result<(), String>) -> AppResult<bool> {
    let mut txn = WriteTxn::begin(state).await?;
    let Some(row) = broadcasts::Entity::find_by_id(id).one(&*txn).await? else {
        return Ok(false);
    };
    if row.delivery_status != DeliveryStatus::Pending {
        return Ok(false);
    }
    let delivered = outcome.is_ok();
    let mut active: broadcasts::ActiveModel = row.into();
    active.sent_at = Set(Some(Utc::now()));
    active.delivery_status = Set(if delivered { DeliveryStatus::Delivered } else { DeliveryStatus::Failed });
    active.delivery_error = Set(outcome.err().map(|e| e.chars().take(ERROR_MAX).collect()));
    let row = active.update(&*txn).await?;
    let mut entry = AuditEntry::new("broadcast.delivery", "broadcast", id)
        .after(serde_json::json!({"delivery_status": row.delivery_status}));
    if !delivered {
        entry = entry.failed(contract::domain::AuditSeverity::Warning);
    }
    audit::append(&txn, None, &AuditMeta::internal(Channel::System), entry).await?;
    txn.emit(Event::BroadcastDelivered { broadcast_id: id, delivered });
    txn.commit().await?;
    Ok(true)
}
