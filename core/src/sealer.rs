//! Puts committed writes in order, after they commit, so writers never wait for each other.
//!
//! Writers insert their events (`event_outbox`) and audit rows (`audit_log`) *unsealed*:
//! without `seq`, and audit rows without their chain hash. The sealer then takes the
//! committed unsealed rows, oldest id first, and
//!
//! - numbers the events (`seq`): the event id every tailer, live stream and durable consumer
//!   reads in order. A row that committed late gets a later number than rows sealed before it
//!   became visible, so a reader past `n` never meets a smaller number later;
//! - chains the audit rows: `seq`, `prev_hash` (the hash of the row sealed just before) and
//!   `hash` ([`crate::services::audit::row_hash`]), the one UPDATE the audit log's trigger
//!   allows.
//!
//! One sealer runs at a time: on PostgreSQL every process runs [`run`], and a pass holds an
//! advisory lock that only sealers take (writers never do); on SQLite, where writers run one
//! at a time anyway, [`crate::db::WriteTxn::commit`] seals inside the writing transaction, so
//! nothing there is ever left unsealed.

use std::time::Duration;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait, Value,
};

use crate::entities::audit_log;
use crate::error::AppResult;
use crate::events::{EventBus, NOTIFY_CHANNEL, NOTIFY_SEALED};

/// Arbitrary constant naming the sealer's lock on PostgreSQL.
pub const SEALER_LOCK_KEY: i64 = 0x0067_4144_5345_414c; // "gADSEAL"
/// Rows of each kind sealed per pass.
const BATCH: u64 = 1000;
/// Audit rows per UPDATE statement (4 parameters each).
const AUDIT_CHUNK: usize = 200;
/// How often the sealer looks without a wake-up.
const POLL: Duration = Duration::from_secs(1);
/// How long a woken sealer lets other commits arrive before its pass: under load one pass
/// seals many writes instead of one each (the events reach readers this much later).
const GATHER: Duration = Duration::from_millis(3);

/// What one pass sealed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sealed {
    pub events: u64,
    pub audit: u64,
}

/// Seals the committed unsealed rows visible to `conn` (at most [`BATCH`] of each kind). The
/// caller serialises sealing: a SQLite write transaction, or the sealer lock ([`seal_now`]).
pub(crate) async fn seal_in(conn: &impl ConnectionTrait) -> AppResult<Sealed> {
    let backend = conn.get_database_backend();
    let events = conn
        .execute_raw(Statement::from_string(
            backend,
            format!(
                "UPDATE event_outbox AS o SET seq = b.base + r.n
                   FROM (SELECT id, row_number() OVER (ORDER BY id) AS n
                           FROM event_outbox WHERE seq IS NULL ORDER BY id LIMIT {BATCH}) AS r,
                        (SELECT COALESCE(MAX(seq), 0) AS base FROM event_outbox) AS b
                  WHERE o.id = r.id"
            ),
        ))
        .await?
        .rows_affected();
    let audit = seal_audit(conn).await?;
    Ok(Sealed { events, audit })
}

/// [`seal_in`] until nothing visible is left unsealed (a transaction may write more than one
/// batch).
pub(crate) async fn seal_all_in(conn: &impl ConnectionTrait) -> AppResult<Sealed> {
    let mut total = Sealed::default();
    loop {
        let sealed = seal_in(conn).await?;
        total.events += sealed.events;
        total.audit += sealed.audit;
        if sealed.events < BATCH && sealed.audit < BATCH {
            return Ok(total);
        }
    }
}

async fn seal_audit(conn: &impl ConnectionTrait) -> AppResult<u64> {
    let mut rows = audit_log::Entity::find()
        .filter(audit_log::Column::Seq.is_null())
        .order_by_asc(audit_log::Column::Id)
        .limit(BATCH)
        .all(conn)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let last = audit_log::Entity::find()
        .filter(audit_log::Column::Seq.is_not_null())
        .order_by_desc(audit_log::Column::Seq)
        .one(conn)
        .await?;
    let (mut seq, mut prev) = last.map_or((0, None), |row| (row.seq.unwrap_or(0), row.hash));
    for row in &mut rows {
        seq += 1;
        row.seq = Some(seq);
        row.prev_hash = prev.take();
        let hash = crate::services::audit::row_hash(row);
        row.hash = Some(hash.clone());
        prev = Some(hash);
    }
    let backend = conn.get_database_backend();
    for chunk in rows.chunks(AUDIT_CHUNK) {
        let mut values = Vec::with_capacity(chunk.len() * 4);
        let tuples: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, row)| {
                values.extend([
                    Value::from(row.id),
                    Value::from(row.seq),
                    Value::from(row.prev_hash.clone()),
                    Value::from(row.hash.clone()),
                ]);
                let p = i * 4;
                match backend {
                    // Typed, or PostgreSQL takes the NULL of the first row's prev_hash as text
                    // only by luck.
                    DatabaseBackend::Postgres => {
                        format!("(${}::bigint, ${}::bigint, ${}::text, ${}::text)", p + 1, p + 2, p + 3, p + 4)
                    }
                    _ => "(?, ?, ?, ?)".to_owned(),
                }
            })
            .collect();
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE audit_log AS a SET seq = v.column2, prev_hash = v.column3, hash = v.column4
                   FROM (VALUES {}) AS v
                  WHERE a.id = v.column1 AND a.seq IS NULL",
                tuples.join(", ")
            ),
            values,
        ))
        .await?;
    }
    Ok(rows.len() as u64)
}

/// Sealing passes, each in its own short transaction (so a long backlog never holds the
/// sealer lock for long), until nothing is left. On PostgreSQL a pass that sealed events sends
/// `NOTIFY gad_events`, which wakes every process's tailer; on SQLite the tailers' polling
/// finds them.
pub async fn seal_now(db: &DatabaseConnection) -> AppResult<Sealed> {
    let backend = db.get_database_backend();
    let mut total = Sealed::default();
    loop {
        let txn = match backend {
            DatabaseBackend::Sqlite => {
                db.begin_with_options(sea_orm::TransactionOptions {
                    sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?
            }
            _ => db.begin().await?,
        };
        if backend == DatabaseBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "SELECT pg_advisory_xact_lock($1)",
                [SEALER_LOCK_KEY.into()],
            ))
            .await?;
        }
        let sealed = seal_in(&txn).await?;
        if sealed.events > 0 && backend == DatabaseBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "SELECT pg_notify($1, $2)",
                [NOTIFY_CHANNEL.into(), NOTIFY_SEALED.into()],
            ))
            .await?;
        }
        txn.commit().await?;
        total.events += sealed.events;
        total.audit += sealed.audit;
        if sealed.events < BATCH && sealed.audit < BATCH {
            return Ok(total);
        }
    }
}

/// The sealer of a PostgreSQL process: seals when woken ([`EventBus::wake_sealer`], by this
/// process's commits and after its listener reconnects) and every second, until the process
/// ends.
pub(crate) async fn run(db: DatabaseConnection, bus: EventBus) {
    let mut failing = false;
    loop {
        match seal_now(&db).await {
            Ok(sealed) => {
                if failing {
                    tracing::info!("the sealer seals again");
                    failing = false;
                }
                if sealed.events > 0 {
                    bus.poke();
                }
                metrics::counter!("gad_sealed_rows_total", "kind" => "event").increment(sealed.events);
                metrics::counter!("gad_sealed_rows_total", "kind" => "audit").increment(sealed.audit);
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "the sealer cannot seal; retrying");
                    failing = true;
                }
            }
        }
        tokio::select! {
            () = bus.sealer_woken() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
