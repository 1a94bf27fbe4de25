//! The append-only audit log with a hash chain.
//!
//! Each row's `hash` is SHA-256 over its predecessor's hash and the row's own content in a
//! canonical form, so editing, deleting or reordering rows breaks the chain at that point
//! (the database refuses UPDATE/DELETE as well). A row is appended inside the business
//! transaction, so an operation and its audit row commit together or not at all, and is
//! chained after it commits by the sealer ([`crate::sealer`]): writers take no lock.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder, Set, Statement};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::audit_log;
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::state::AppState;
use contract::domain::AuditSeverity;

/// What happened, to be appended.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub success: bool,
    pub severity: AuditSeverity,
}

impl AuditEntry {
    pub fn new(action: &str, resource_type: &str, resource_id: impl ToString) -> Self {
        Self {
            action: action.into(),
            resource_type: resource_type.into(),
            resource_id: Some(resource_id.to_string()),
            before: None,
            after: None,
            success: true,
            severity: AuditSeverity::Info,
        }
    }

    pub fn before(mut self, value: impl serde::Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: impl serde::Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }

    pub fn failed(mut self, severity: AuditSeverity) -> Self {
        self.success = false;
        self.severity = severity;
        self
    }
}

/// Appends one row, unsealed, inside `txn`.
pub async fn append(txn: &WriteTxn, actor: Option<&Actor>, meta: &AuditMeta, entry: AuditEntry) -> AppResult<()> {
    let row = audit_log::ActiveModel {
        user_id: Set(actor.map(|a| a.user_id)),
        telegram_user_id: Set(actor.and_then(|a| a.telegram_user_id)),
        channel: Set(actor.map(|a| a.channel).unwrap_or(meta.channel)),
        action: Set(entry.action),
        resource_type: Set(entry.resource_type),
        resource_id: Set(entry.resource_id),
        before_value: Set(entry.before),
        after_value: Set(entry.after),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta.user_agent.clone()),
        success: Set(entry.success),
        severity: Set(entry.severity),
        // Microseconds: what both backends store exactly, so the hash can be recomputed.
        created_at: Set(Utc::now().trunc_subsecs(6)),
        prev_hash: Set(None),
        hash: Set(None),
        seq: Set(None),
        ..Default::default()
    };
    txn.stage(sea_orm::QueryTrait::into_query(audit_log::Entity::insert(row))).await
}

/// Appends one row in its own transaction (for events that change nothing else, e.g. logins).
pub async fn append_alone(
    state: &AppState,
    actor: Option<&Actor>,
    meta: &AuditMeta,
    entry: AuditEntry,
) -> AppResult<()> {
    let txn = WriteTxn::begin(state).await?;
    append(&txn, actor, meta, entry).await?;
    txn.commit().await
}

/// The chain's hash of `row` (its `id` and `hash` fields are not part of it).
pub fn row_hash(row: &audit_log::Model) -> String {
    let mut h = Sha256::new();
    let mut field = |value: &str| {
        h.update((value.len() as u64).to_be_bytes());
        h.update(value.as_bytes());
    };
    let opt = |v: Option<String>| v.unwrap_or_else(|| "\u{0}".into());
    field(&opt(row.prev_hash.clone()));
    field(&timestamp(row.created_at));
    field(&opt(row.user_id.map(|v| v.to_string())));
    field(&opt(row.telegram_user_id.map(|v| v.to_string())));
    field(row.channel.as_str());
    field(&row.action);
    field(&row.resource_type);
    field(&opt(row.resource_id.clone()));
    field(&opt(row.before_value.as_ref().map(canonical_json)));
    field(&opt(row.after_value.as_ref().map(canonical_json)));
    field(&opt(row.ip.clone()));
    field(&opt(row.user_agent.clone()));
    field(if row.success { "1" } else { "0" });
    field(row.severity.as_str());
    hex::encode(h.finalize())
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// JSON with object keys sorted at every level, so PostgreSQL's JSONB reordering does not
/// change the hash.
fn canonical_json(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sort(v))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

/// Result of [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Sealed rows read.
    pub rows: u64,
    /// The id of the first row whose hash or link does not match, if any.
    pub first_broken: Option<i64>,
    /// Rows committed but not chained yet (the sealer is behind, or no process runs it).
    pub unsealed: u64,
}

/// Walks the whole chain in order, a page at a time, recomputing every hash.
pub async fn verify(db: &impl ConnectionTrait) -> AppResult<ChainReport> {
    const PAGE: u64 = 1000;
    let unsealed = audit_log::Entity::find().filter(audit_log::Column::Seq.is_null()).count(db).await?;
    let mut rows = 0;
    let mut after = 0_i64;
    let mut prev: Option<String> = None;
    loop {
        let page = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.gt(after))
            .order_by_asc(audit_log::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        let full = page.len() as u64 == PAGE;
        for row in page {
            rows += 1;
            if row.prev_hash != prev || row.hash.as_deref() != Some(row_hash(&row).as_str()) {
                return Ok(ChainReport { rows, first_broken: Some(row.id), unsealed });
            }
            after = row.seq.unwrap_or(after);
            prev = row.hash;
        }
        if !full {
            return Ok(ChainReport { rows, first_broken: None, unsealed });
        }
    }
}

/// Records a verification's outcome in `audit_verifications` (what the chain gauges and alerts
/// read), at `finished_at_unix`.
pub async fn record_verification(
    db: &impl ConnectionTrait,
    finished_at_unix: i64,
    report: &ChainReport,
) -> AppResult<()> {
    use sea_orm::sea_query::{Alias, Query};
    let insert = Query::insert()
        .into_table(Alias::new("audit_verifications"))
        .columns([
            Alias::new("finished_at_unix"),
            Alias::new("ok"),
            Alias::new("rows_checked"),
            Alias::new("first_broken_id"),
        ])
        .values([
            finished_at_unix.into(),
            report.first_broken.is_none().into(),
            (report.rows.min(i64::MAX as u64) as i64).into(),
            report.first_broken.into(),
        ])
        .map_err(|e| AppError::Internal(e.to_string()))?
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// What the recorded verifications say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verifications {
    /// Unix seconds of the newest verification that found the chain intact.
    pub last_intact_unix: Option<i64>,
    /// The newest verification's finding (none before the first).
    pub newest_intact: Option<bool>,
}

/// Reads the newest verification and the newest intact one.
pub async fn verifications(db: &impl ConnectionTrait) -> AppResult<Verifications> {
    let backend = db.get_database_backend();
    let last_intact_unix = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT MAX(finished_at_unix) AS t FROM audit_verifications WHERE ok",
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten());
    let newest_intact = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT ok FROM audit_verifications ORDER BY finished_at_unix DESC, id DESC LIMIT 1",
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<bool>(0).ok());
    Ok(Verifications { last_intact_unix, newest_intact })
}

// ---------------------------------------------------------------------------------------------
// Reading (admins only).

use crate::entities::users;
use crate::permissions::{Capability, require};
use contract::Page;
use contract::audit::{AuditFilter, AuditRow, ChainStatus};
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};

use crate::services::csv::{Cell, CsvStream, PAGE_ROWS, Sheet};

const CSV_HEADER: [&str; 10] =
    ["id", "fecha", "usuario", "canal", "accion", "recurso", "id_recurso", "exito", "severidad", "ip"];

fn filtered(filter: &AuditFilter) -> AppResult<sea_orm::Select<audit_log::Entity>> {
    let mut q = audit_log::Entity::find();
    if let Some(action) = filter.action.as_deref().filter(|a| !a.is_empty()) {
        q = if action.ends_with('.') {
            q.filter(audit_log::Column::Action.starts_with(action))
        } else {
            q.filter(audit_log::Column::Action.eq(action))
        };
    }
    if let Some(user_id) = filter.user_id {
        q = q.filter(audit_log::Column::UserId.eq(user_id));
    }
    if let Some(t) = filter.resource_type.as_deref().filter(|t| !t.is_empty()) {
        q = q.filter(audit_log::Column::ResourceType.eq(t));
    }
    if let Some(id) = filter.resource_id.as_deref().filter(|t| !t.is_empty()) {
        q = q.filter(audit_log::Column::ResourceId.eq(id));
    }
    if let Some(success) = filter.success {
        q = q.filter(audit_log::Column::Success.eq(success));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_log::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit_log::Column::CreatedAt.lt(to));
    }
    if let Some(cursor) = filter.cursor.as_deref().filter(|c| !c.is_empty()) {
        let before: i64 =
            cursor.parse().map_err(|_| crate::error::AppError::validation("cursor", "Cursor inválido."))?;
        q = q.filter(audit_log::Column::Id.lt(before));
    }
    Ok(q.order_by_desc(audit_log::Column::Id))
}

async fn rows_to_dto(state: &AppState, rows: Vec<audit_log::Model>) -> AppResult<Vec<AuditRow>> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.user_id).collect();
    let names: std::collections::HashMap<i64, String> = if ids.is_empty() {
        Default::default()
    } else {
        users::Entity::find()
            .filter(users::Column::Id.is_in(ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|u| (u.id, format!("{} {}", u.first_name, u.last_name)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|r| AuditRow {
            id: r.id,
            at: r.created_at,
            user: r.user_id.and_then(|id| names.get(&id).cloned()),
            user_id: r.user_id,
            telegram_user_id: r.telegram_user_id,
            channel: r.channel,
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            before: r.before_value,
            after: r.after_value,
            ip: r.ip,
            success: r.success,
            severity: r.severity,
        })
        .collect())
}

/// Newest first, cursor-paginated.
pub async fn list(state: &AppState, actor: &Actor, filter: AuditFilter) -> AppResult<Page<AuditRow>> {
    require(actor, Capability::ReadAudit)?;
    let limit = filter.limit.unwrap_or(50).clamp(1, 500);
    let rows = crate::db::first_rows(&state.db, filtered(&filter)?, u64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    let items = rows_to_dto(state, rows.into_iter().take(limit as usize).collect()).await?;
    let next_cursor = if more { items.last().map(|r| r.id.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}

/// The filtered log as CSV, newest first, times in the configured time zone; read a page at a
/// time as the stream is polled.
pub async fn export_csv(state: &AppState, actor: &Actor, filter: AuditFilter) -> AppResult<CsvStream> {
    require(actor, Capability::ReadAudit)?;
    let filter = AuditFilter { cursor: None, ..filter };
    filtered(&filter)?;
    let state = state.clone();
    Ok(CsvStream::paged(&CSV_HEADER, move |before: Option<i64>| {
        let (state, filter) = (state.clone(), filter.clone());
        async move {
            let page = AuditFilter { cursor: before.map(|id| id.to_string()), ..filter };
            let rows = crate::db::first_rows(&state.db, filtered(&page)?, u64::from(PAGE_ROWS) + 1).await?;
            let more = rows.len() > PAGE_ROWS as usize;
            let rows = rows_to_dto(&state, rows.into_iter().take(PAGE_ROWS as usize).collect()).await?;
            let next = if more { rows.last().map(|r| r.id) } else { None };
            let mut sheet = Sheet::new();
            for r in rows {
                let (id, at) = (r.id.to_string(), crate::services::local_time(r.at, state.config.timezone));
                // Names, actions and resource ids can all carry someone's text: every cell
                // but the numbers, dates and fixed words is guarded against spreadsheet formulas.
                sheet.row([
                    Cell::Plain(&id),
                    Cell::Plain(&at),
                    Cell::Text(r.user.as_deref().unwrap_or_default()),
                    Cell::Plain(r.channel.as_str()),
                    Cell::Text(&r.action),
                    Cell::Text(&r.resource_type),
                    Cell::Text(r.resource_id.as_deref().unwrap_or_default()),
                    Cell::Plain(if r.success { "si" } else { "no" }),
                    Cell::Plain(r.severity.as_str()),
                    Cell::Text(r.ip.as_deref().unwrap_or_default()),
                ]);
            }
            Ok((sheet.take()?, next))
        }
    }))
}

pub async fn chain_status(state: &AppState, actor: &Actor) -> AppResult<ChainStatus> {
    require(actor, Capability::ReadAudit)?;
    let report = verify(&state.db).await?;
    Ok(ChainStatus {
        rows: report.rows,
        intact: report.first_broken.is_none(),
        first_broken: report.first_broken,
        unsealed: report.unsealed,
    })
}
