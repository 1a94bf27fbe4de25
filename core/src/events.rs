//! Domain events through a transactional outbox.
//!
//! A business transaction ([`crate::db::WriteTxn`]) writes its events into `event_outbox` in
//! the same transaction as the change they report, so an event exists exactly when its change
//! committed. From there:
//!
//! - every process runs a **tailer** ([`EventBus::start`]) that reads the outbox past the last
//!   id it delivered and hands each event to this process's subscribers (the live streams, the
//!   caches) in id order. It wakes at once after a local sealing pass (on SQLite: a local
//!   commit), on PostgreSQL's `NOTIFY gad_events, 'sealed'` (sent by every sealing pass that
//!   numbered events, on any replica), and every [`poll_interval`] whatever happens — the wake-ups only make it fast, the outbox is the
//!   truth, so a lost notification or a dropped listener connection delays an event, never
//!   loses it. On SQLite the polling carries events between processes sharing one file
//!   (`gad serve` and `gad bot`);
//! - a **durable consumer** ([`Consumer`], the Telegram notifier) keeps its cursor in
//!   `event_consumers` and holds a lease there while it delivers, so one process at a time
//!   sends, a restarted or replacement process resumes after the last event acknowledged, and
//!   nothing is sent twice except the one event in flight when a process dies.
//!
//! Event ids (`seq`) are handed out in commit order by the sealer ([`crate::sealer`]) once
//! the writing transaction has committed — writers take no lock — so a tailer that has seen id
//! `n` never meets a smaller id later.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tokio::sync::{Notify, broadcast};

use crate::entities::{event_consumers, event_outbox};
use crate::error::{AppError, AppResult};
use contract::events::Event;

/// The PostgreSQL notification channel of the outbox: a sealing pass notifies with
/// [`NOTIFY_SEALED`], which wakes every process's tailer. Writers never notify: a notifying
/// transaction holds PostgreSQL's notification queue lock through its commit's flush, so writes
/// would commit one at a time (migration m20261206_000021). A process's sealer is woken by its
/// own commits ([`EventBus::wake_sealer`]) and polls every second for those of processes that
/// run no sealer (a `gad` command).
pub const NOTIFY_CHANNEL: &str = "gad_events";
/// The payload of a sealing pass's notification.
pub const NOTIFY_SEALED: &str = "sealed";
const LOCAL_CAPACITY: usize = 1024;
/// Events read from the outbox per query.
const BATCH: u64 = 500;
/// Events older than this are deleted from the outbox.
const RETENTION: chrono::Duration = chrono::Duration::days(7);

/// How often a tailer reads the outbox without a wake-up: the whole delivery path between
/// processes on SQLite, a safety net behind `NOTIFY` on PostgreSQL.
pub fn poll_interval(backend: DatabaseBackend) -> Duration {
    match backend {
        DatabaseBackend::Sqlite => Duration::from_millis(200),
        _ => Duration::from_secs(1),
    }
}

/// An event as stored in the outbox: its id orders every event of the system.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivered {
    pub id: i64,
    pub event: Event,
}

fn is_position(event: &Event) -> bool {
    matches!(event, Event::OfficerPosition { .. })
}

#[derive(Clone)]
pub struct EventBus(Arc<Inner>);

struct Inner {
    local: broadcast::Sender<Delivered>,
    /// Bumped before subscribers receive each event and by every local commit (see
    /// [`crate::cache`]).
    generation: AtomicU64,
    /// Like `generation`, but still when only officers' positions changed.
    task_generation: AtomicU64,
    /// Bumped only by local commits that may have changed an account (see
    /// [`EventBus::account_generation`]).
    account_generation: AtomicU64,
    /// The id of the last event delivered here.
    head: AtomicI64,
    /// Wakes the tailer.
    wake: Notify,
    /// Wakes the sealer (PostgreSQL).
    seal: Notify,
}

impl Default for EventBus {
    fn default() -> Self {
        Self(Arc::new(Inner {
            local: broadcast::channel(LOCAL_CAPACITY).0,
            generation: AtomicU64::new(0),
            task_generation: AtomicU64::new(0),
            account_generation: AtomicU64::new(0),
            head: AtomicI64::new(0),
            wake: Notify::new(),
            seal: Notify::new(),
        }))
    }
}

impl EventBus {
    /// How many changes this process has seen so far: it moves when anything may have changed.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::SeqCst)
    }

    /// Like [`EventBus::generation`], but it stays put when only officers' positions changed
    /// (reported every few seconds by every officer on duty): for views that show no
    /// position (the overview, task lists, who a user is), which would otherwise be
    /// recomputed many times a second.
    pub fn task_generation(&self) -> u64 {
        self.0.task_generation.load(Ordering::SeqCst)
    }

    /// Moves when an account (a user, their officer profile, their two-factor enrolment) may
    /// have changed: on every local commit except those of operations declared to leave
    /// accounts alone ([`crate::db::WriteTxn::leaves_accounts`]: a task's writes, a position
    /// report), which are the many. No event describes an account, so another replica's
    /// change is seen here through the actor cache's time-to-live.
    pub fn account_generation(&self) -> u64 {
        self.0.account_generation.load(Ordering::SeqCst)
    }

    /// Marks everything this process has cached stale.
    pub fn invalidate(&self) {
        self.invalidate_accounts();
        self.invalidate_after(&[]);
    }

    /// Marks the cached actors stale: a local commit may have changed an account.
    pub fn invalidate_accounts(&self) {
        self.0.account_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Marks stale what a commit or event that wrote `events` may have changed, accounts
    /// aside: every view, unless it wrote only positions.
    pub fn invalidate_after(&self, events: &[Event]) {
        if events.is_empty() || !events.iter().all(is_position) {
            self.0.task_generation.fetch_add(1, Ordering::SeqCst);
        }
        self.0.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Wakes the tailer: events have just been sealed (or, on SQLite, committed).
    pub fn poke(&self) {
        self.0.wake.notify_one();
    }

    /// Wakes the sealer: a transaction has just committed rows to seal.
    pub fn wake_sealer(&self) {
        self.0.seal.notify_one();
    }

    pub(crate) async fn sealer_woken(&self) {
        self.0.seal.notified().await;
    }

    /// The id of the last event delivered to this process's subscribers.
    pub fn head(&self) -> i64 {
        self.0.head.load(Ordering::SeqCst)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Delivered> {
        self.0.local.subscribe()
    }

    fn deliver(&self, delivered: Delivered) {
        self.invalidate_after(std::slice::from_ref(&delivered.event));
        self.0.head.store(delivered.id, Ordering::SeqCst);
        metrics::counter!("gad_events_delivered_total").increment(1);
        // No subscriber is not an error.
        let _ = self.0.local.send(delivered);
    }

    /// Starts delivering the outbox's new events to this process (from the current end on),
    /// with a `LISTEN gad_events` connection and a sealer on PostgreSQL. Call once, after
    /// migrating.
    pub async fn start(&self, db: &DatabaseConnection) -> AppResult<()> {
        self.0.head.store(latest_id(db).await?, Ordering::SeqCst);
        if db.get_database_backend() == DatabaseBackend::Postgres {
            tokio::spawn(listen(db.get_postgres_connection_pool().clone(), self.clone()));
            tokio::spawn(crate::sealer::run(db.clone(), self.clone()));
        }
        tokio::spawn(tail(db.clone(), self.clone()));
        Ok(())
    }
}

/// The id of the newest event in the outbox (0 when empty).
pub async fn latest_id(db: &impl ConnectionTrait) -> AppResult<i64> {
    let newest = event_outbox::Entity::find()
        .select_only()
        .column_as(event_outbox::Column::Seq.max(), "max")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?;
    Ok(newest.flatten().unwrap_or(0))
}

/// Events after `after`, oldest first, at most `limit`.
pub async fn read_after(db: &impl ConnectionTrait, after: i64, limit: u64) -> AppResult<Vec<Delivered>> {
    let rows = event_outbox::Entity::find()
        .filter(event_outbox::Column::Seq.gt(after))
        .order_by_asc(event_outbox::Column::Seq)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let id = row.seq?;
            match serde_json::from_str::<Event>(&row.payload) {
                Ok(event) => Some(Delivered { id, event }),
                Err(e) => {
                    // Written by a newer release during a rolling upgrade: skipped, not fatal.
                    tracing::warn!(id, kind = %row.kind, error = %e, "unreadable event in the outbox");
                    None
                }
            }
        })
        .collect())
}

/// The oldest id still in the outbox (None when empty): a cursor below it may have missed
/// pruned events.
pub async fn oldest_id(db: &impl ConnectionTrait) -> AppResult<Option<i64>> {
    let oldest = event_outbox::Entity::find()
        .select_only()
        .column_as(event_outbox::Column::Seq.min(), "min")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?;
    Ok(oldest.flatten())
}

/// The outbox insert of `events` (none for none), unsealed: staged by [`crate::db::WriteTxn`]
/// and sent inside the operation's transaction.
pub(crate) fn outbox_insert(events: &[Event]) -> AppResult<Option<sea_orm::sea_query::InsertStatement>> {
    use sea_orm::QueryTrait;
    if events.is_empty() {
        return Ok(None);
    }
    let now = Utc::now();
    let rows = events
        .iter()
        .map(|event| {
            let payload =
                serde_json::to_string(event).map_err(|e| AppError::internal(format!("event encoding: {e}")))?;
            Ok(event_outbox::ActiveModel {
                kind: Set(event.kind().to_owned()),
                payload: Set(payload),
                created_at: Set(now),
                ..Default::default()
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Some(event_outbox::Entity::insert_many(rows).into_query()))
}

/// Reads new events into the local bus until the process ends; prunes old ones hourly.
async fn tail(db: DatabaseConnection, bus: EventBus) {
    let poll = poll_interval(db.get_database_backend());
    let mut failing = false;
    let mut pruned_at = tokio::time::Instant::now();
    loop {
        match read_after(&db, bus.head(), BATCH).await {
            Ok(events) => {
                if failing {
                    tracing::info!("event tailer reads the outbox again");
                    failing = false;
                }
                let full = events.len() as u64 == BATCH;
                for delivered in events {
                    bus.deliver(delivered);
                }
                if full {
                    continue;
                }
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "event tailer cannot read the outbox; retrying");
                    failing = true;
                }
            }
        }
        if pruned_at.elapsed() > Duration::from_secs(3600) {
            pruned_at = tokio::time::Instant::now();
            prune(&db).await;
        }
        tokio::select! {
            () = bus.0.wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

async fn prune(db: &DatabaseConnection) {
    let cutoff = Utc::now() - RETENTION;
    // The newest event stays, however old: the sealer numbers new events after it, so ids are
    // never handed out twice (and unsealed rows, whose seq is NULL, are never matched).
    let newest = match latest_id(db).await {
        Ok(id) => id,
        Err(error) => return tracing::warn!(%error, "old events not pruned"),
    };
    let old = event_outbox::Entity::delete_many()
        .filter(event_outbox::Column::CreatedAt.lt(cutoff))
        .filter(event_outbox::Column::Seq.lt(newest));
    match old.exec(db).await {
        Ok(done) if done.rows_affected > 0 => tracing::info!(rows = done.rows_affected, "old events pruned"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "old events not pruned"),
    }
}

/// Wakes the tailer on every `NOTIFY gad_events`; reconnects when the connection drops.
async fn listen(pool: sea_orm::sqlx::PgPool, bus: EventBus) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut backoff = Duration::from_millis(200);
    loop {
        let result: Result<(), sea_orm::sqlx::Error> = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            backoff = Duration::from_millis(200);
            // Anything committed while we were not listening.
            bus.wake_sealer();
            bus.poke();
            loop {
                match listener.try_recv().await? {
                    Some(n) if n.payload() == NOTIFY_SEALED => bus.poke(),
                    Some(_) => {}
                    // After a reconnection: notifications may have been missed meanwhile.
                    None => {
                        bus.wake_sealer();
                        bus.poke();
                    }
                }
            }
        }
        .await;
        if let Err(error) = result {
            tracing::debug!(%error, "event listener lost PostgreSQL; polling meanwhile");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// A durable consumer of the outbox: a cursor and a lease in `event_consumers`.
///
/// Use: [`Consumer::claim`] (take or renew the lease; only the holder delivers), then
/// [`Consumer::pending`] and [`Consumer::ack`] each event once handled. A process that dies
/// leaves its lease to expire ([`Consumer::lease`]); one that stops calls
/// [`Consumer::release`] so another takes over at once.
pub struct Consumer {
    db: DatabaseConnection,
    name: String,
    owner: String,
    lease: Duration,
}

impl Consumer {
    /// `owner` names this process among those that may run the consumer.
    pub fn new(db: DatabaseConnection, name: &str, owner: String, lease: Duration) -> Self {
        Self { db, name: name.to_owned(), owner, lease }
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn lease_until(&self) -> chrono::DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.lease).unwrap_or_else(|_| chrono::Duration::seconds(30))
    }

    /// Takes the lease when free or expired, or renews ours; `true` while we hold it. A new
    /// consumer starts after the newest event: it does not replay history.
    pub async fn claim(&self) -> AppResult<bool> {
        let now = Utc::now();
        let start = latest_id(&self.db).await?;
        event_consumers::Entity::insert(event_consumers::ActiveModel {
            name: Set(self.name.clone()),
            last_id: Set(start),
            owner: Set(None),
            lease_until: Set(None),
            updated_at: Set(now),
        })
        .on_conflict(OnConflict::column(event_consumers::Column::Name).do_nothing().to_owned())
        .exec_without_returning(&self.db)
        .await?;
        let taken = event_consumers::Entity::update_many()
            .col_expr(event_consumers::Column::Owner, Expr::value(self.owner.clone()))
            .col_expr(event_consumers::Column::LeaseUntil, Expr::value(self.lease_until()))
            .col_expr(event_consumers::Column::UpdatedAt, Expr::value(now))
            .filter(event_consumers::Column::Name.eq(&self.name))
            .filter(
                Condition::any()
                    .add(event_consumers::Column::Owner.eq(&self.owner))
                    .add(event_consumers::Column::Owner.is_null())
                    .add(event_consumers::Column::LeaseUntil.lt(now)),
            )
            .exec(&self.db)
            .await?;
        Ok(taken.rows_affected == 1)
    }

    /// The events after our cursor, oldest first.
    pub async fn pending(&self, limit: u64) -> AppResult<Vec<Delivered>> {
        read_after(&self.db, self.cursor().await?, limit).await
    }

    pub async fn cursor(&self) -> AppResult<i64> {
        let row = event_consumers::Entity::find_by_id(self.name.clone()).one(&self.db).await?;
        Ok(row.map_or(0, |r| r.last_id))
    }

    /// Moves the cursor past `id` and renews the lease; `false` when we no longer hold it
    /// (another process took over: stop delivering).
    pub async fn ack(&self, id: i64) -> AppResult<bool> {
        let done = event_consumers::Entity::update_many()
            .col_expr(event_consumers::Column::LastId, Expr::value(id))
            .col_expr(event_consumers::Column::LeaseUntil, Expr::value(self.lease_until()))
            .col_expr(event_consumers::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(event_consumers::Column::Name.eq(&self.name))
            .filter(event_consumers::Column::Owner.eq(&self.owner))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Gives the lease up (on shutdown), so another process takes over without waiting.
    pub async fn release(&self) -> AppResult<()> {
        event_consumers::Entity::update_many()
            .col_expr(event_consumers::Column::Owner, Expr::value(Option::<String>::None))
            .col_expr(event_consumers::Column::LeaseUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .filter(event_consumers::Column::Name.eq(&self.name))
            .filter(event_consumers::Column::Owner.eq(&self.owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// How far each durable consumer is behind: (name, events waiting, age in seconds of the
/// oldest waiting event). Read by the metrics refresher.
pub async fn consumer_lag(db: &impl ConnectionTrait) -> AppResult<Vec<(String, i64, f64)>> {
    let mut lag = Vec::new();
    for consumer in event_consumers::Entity::find().all(db).await? {
        let waiting = event_outbox::Entity::find()
            .filter(event_outbox::Column::Seq.gt(consumer.last_id))
            .order_by_asc(event_outbox::Column::Seq)
            .limit(1)
            .one(db)
            .await?;
        let (count, age) = match waiting {
            None => (0, 0.0),
            Some(first) => {
                let newest = latest_id(db).await?;
                let age = (Utc::now() - first.created_at).num_milliseconds().max(0) as f64 / 1000.0;
                (newest - consumer.last_id, age)
            }
        };
        lag.push((consumer.name, count, age));
    }
    Ok(lag)
}
