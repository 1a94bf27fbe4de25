//! Database connection and schema checks, for SQLite (embedded) and PostgreSQL.

use std::time::Duration;

use migrations::sea_orm_migration::MigratorTrait;
use migrations::{Migrator, SchemaStatus};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityName, TransactionTrait};

use crate::config::Config;
use crate::error::{AppError, AppResult};

/// The statement of `query` with `LIMIT n` written into its text instead of bound. PostgreSQL
/// estimates a bound LIMIT as a tenth of the rows, so the generic plan a prepared statement
/// would settle on after five runs always looks costlier than a custom one and is never
/// chosen: every call is planned afresh (the task list's query ran at 6 800–7 000 TPS with its
/// LIMIT bound, 9 700–9 950 with it written, pgbench, 16 connections). `query` must have no
/// limit of its own; `n` is a number of ours, never text from a request.
pub fn with_literal_limit(query: impl sea_orm::QueryTrait, backend: sea_orm::DbBackend, n: u64) -> sea_orm::Statement {
    let mut statement = query.build(backend);
    statement.sql.push_str(&format!(" LIMIT {n}"));
    statement
}

/// The first `n` rows of `query` (which has no limit of its own), with the LIMIT written
/// ([`with_literal_limit`]): how the paged lists read a page.
pub async fn first_rows<E: sea_orm::EntityTrait>(
    db: &DatabaseConnection,
    query: sea_orm::Select<E>,
    n: u64,
) -> AppResult<Vec<E::Model>> {
    let statement = with_literal_limit(query, db.get_database_backend(), n);
    Ok(E::find().from_raw_sql(statement).all(db).await?)
}

/// The rows of `statement`, planned for its own values on PostgreSQL: for queries whose best
/// plan depends on them (a search's text, a map's box). A prepared statement settles on a
/// generic plan after five runs, made for no value in particular; this one runs as the
/// unnamed statement (parse, then bind and execute; never cached), which the server always
/// plans for the values bound — two round trips, where a transaction with `SET LOCAL
/// plan_cache_mode = force_custom_plan` around a prepared one took four. Other backends run
/// it as any query.
pub async fn query_planned<M: sea_orm::FromQueryResult>(
    db: &DatabaseConnection,
    statement: sea_orm::Statement,
) -> AppResult<Vec<M>> {
    use sea_orm::{DbErr, QueryResult, RuntimeErr, sqlx};
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(M::find_by_statement(statement).all(db).await?);
    }
    let mut conn = db.get_postgres_connection_pool().acquire().await.map_err(|e| match e {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed),
        e => DbErr::Conn(RuntimeErr::SqlxError(e.into())),
    })?;
    let values = sea_query_sqlx::SqlxValues(statement.values.unwrap_or(sea_orm::Values(Vec::new())));
    let rows = sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), values)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e.into())))?;
    Ok(rows.into_iter().map(|row| M::from_query_result(&QueryResult::from(row), "")).collect::<Result<_, _>>()?)
}

/// Opens the pool. For a SQLite file the parent directory is created and WAL is enabled.
pub async fn connect(config: &Config) -> AppResult<DatabaseConnection> {
    let url = config.database_url.expose();
    if let Some(path) = sqlite_file_path(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if config.is_sqlite() { 8 } else { 20 })
        .min_connections(1)
        // No idle reaping and no lifetime: sqlx 0.9.0's maintenance task, which does both, can
        // spin a core for ever once its idle count wraps below zero (a race in the pool's
        // release; launchbadge/sqlx#3645, fixed upstream after 0.9.0) — seen here as a
        // `gad backup` that never exited. A connection idle for a second or more is tested
        // before use, so one the server dropped is replaced on demand.
        .idle_timeout(None::<Duration>)
        .max_lifetime(None::<Duration>)
        // sqlx tests every connection on its way back to the pool (a round trip, off the
        // request's path) and, by default, again on its way out (a round trip before every
        // statement run outside a transaction). A connection back for less than a second has
        // just passed the first test: only one idle longer is tested again.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    // No JIT compilation: GAD's queries read a few rows through indexes, and PostgreSQL's JIT
    // (on by default) compiles any plan whose estimate passes `jit_above_cost` — a LIMIT over
    // a filtered index scan often does — for 15–20 ms a call, 40× the query itself.
    options.map_sqlx_postgres_opts(|pg| pg.options([("jit", "off")]));
    if config.is_sqlite() {
        // After an error that made SQLite roll a transaction back by itself (a full disk), the
        // driver's own ROLLBACK fails and it goes on counting the transaction as open: that
        // connection would run later writes as savepoints of a transaction that does not
        // exist (a held lock, "database is locked" for everyone else). The pool closes such a
        // connection instead of handing it out again (the ping lets a queued rollback finish).
        options.map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_release(|conn, _| {
                Box::pin(async move {
                    use sea_orm::sqlx::Connection;
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
        });
    }
    let db = Database::connect(options).await?;
    if config.is_sqlite() && sqlite_file_path(url).is_some() {
        db.execute_unprepared("PRAGMA journal_mode=WAL;").await?;
    }
    Ok(db)
}

/// `sqlite://path?query` → `path` (None for in-memory databases or other backends).
fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// Applies pending migrations, refusing a database migrated by a newer GAD.
pub async fn migrate(db: &DatabaseConnection) -> AppResult<()> {
    match migrations::schema_status(db).await? {
        SchemaStatus::Newer(unknown) => Err(AppError::Internal(newer_schema_message(&unknown))),
        // Nothing to do, and nothing attempted: the running app's role may not create tables.
        SchemaStatus::Current => Ok(()),
        SchemaStatus::Pending(_) => Ok(Migrator::up(db, None).await?),
    }
}

/// Gives the role the running app connects as (PostgreSQL) exactly what it needs: read and
/// write the tables, use the sequences, read the migration history — and on the audit log
/// only read, append and seal. The role owns nothing, so it cannot disable the log's append-only
/// triggers, drop them, or alter the table; migrations run as the owner (`gad migrate`),
/// which calls this after every upgrade so new tables are covered.
pub async fn grant_app_role(db: &DatabaseConnection, role: &str) -> AppResult<()> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Err(AppError::Internal("GAD_DB_APP_ROLE applies to PostgreSQL only".into()));
    }
    check_role_name(role)?;
    let owns_or_super = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT r.rolsuper OR EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND t.tableowner = r.rolname) AS unsafe
             FROM pg_roles r WHERE r.rolname = $1",
            [role.into()],
        ))
        .await?;
    match owns_or_super.map(|row| row.try_get::<bool>("", "unsafe")).transpose()? {
        None => return Err(AppError::Internal(format!("the role {role} does not exist"))),
        Some(true) => {
            return Err(AppError::Internal(format!(
                "the role {role} is a superuser or owns tables: the app needs a role that owns nothing"
            )));
        }
        Some(false) => {}
    }
    let audit = crate::entities::audit_log::Entity.table_name().to_owned();
    let txn = db.begin().await?;
    for sql in [
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON {audit} FROM {role}"),
        // The sealer's one UPDATE per row (the table's trigger refuses any other).
        format!("GRANT UPDATE (seq, prev_hash, hash) ON {audit} TO {role}"),
        format!("REVOKE INSERT, UPDATE, DELETE ON seaql_migrations FROM {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ] {
        txn.execute_unprepared(&sql).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// A role name that is safe to write into SQL unquoted: a lowercase identifier.
pub fn check_role_name(role: &str) -> AppResult<()> {
    let valid = role.len() <= 63
        && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(AppError::Internal("GAD_DB_APP_ROLE must be a lowercase PostgreSQL identifier".into()));
    }
    Ok(())
}

pub fn newer_schema_message(unknown: &[String]) -> String {
    format!(
        "the database schema is newer than this gad binary (unknown migrations: {}); \
         run a gad release that includes them",
        unknown.join(", ")
    )
}

/// Statements staged before [`WriteTxn::stage`] sends them: a bound on one statement's size.
const STAGE_LIMIT: usize = 16;

/// A write staged in a [`WriteTxn`]: an insert of rows the operation only appends, or an
/// update whose new row the operation already knows (a task's status change).
pub enum Staged {
    Insert(sea_orm::sea_query::InsertStatement),
    Update(sea_orm::sea_query::UpdateStatement),
}

impl From<sea_orm::sea_query::InsertStatement> for Staged {
    fn from(insert: sea_orm::sea_query::InsertStatement) -> Self {
        Self::Insert(insert)
    }
}

impl From<sea_orm::sea_query::UpdateStatement> for Staged {
    fn from(update: sea_orm::sea_query::UpdateStatement) -> Self {
        Self::Update(update)
    }
}

/// Begins a transaction in a task of its own and waits for it, so that a caller dropped while
/// its `BEGIN` is on the wire (a client that hangs up, a deadline) cannot leave a transaction
/// open on a pooled connection. sqlx 0.9 counts a transaction only once the server has answered
/// its `BEGIN`, and rolls back only the transactions it counted: a `BEGIN` whose answer was
/// never read left the server in a transaction the pool did not know of, and the connection's
/// next users ran their statements inside it — seen under load as every creation waiting
/// seconds on a task-code counter row that such a transaction had updated, and worse, their
/// writes at the mercy of whichever later statement ended it. The task always reads the answer:
/// a transaction nobody awaits any more is dropped there, and sqlx rolls a counted one back
/// before the connection is used again.
pub(crate) async fn begin_detached(
    db: &DatabaseConnection,
    options: Option<sea_orm::TransactionOptions>,
) -> AppResult<sea_orm::DatabaseTransaction> {
    let db = db.clone();
    let begun = tokio::spawn(async move {
        match options {
            Some(options) => db.begin_with_options(options).await,
            None => db.begin().await,
        }
    })
    .await
    .map_err(|e| AppError::internal(format!("beginning a transaction: {e}")))?;
    Ok(begun?)
}

/// One business operation's transaction. On SQLite, writers are serialised in-process and the
/// transaction holds the file's write lock from its start (`BEGIN IMMEDIATE`), which keeps the
/// read-then-write checks free of `SQLITE_BUSY` races, across processes on one file too
/// (`gad serve` and `gad bot`); on PostgreSQL, row locks do that job and no global lock is
/// taken. Events emitted during the operation are written to the outbox in this same
/// transaction (see [`crate::events`]), so they exist exactly when the change does. The rows
/// an operation only appends and does not read back before it ends (its audit row, its task
/// history, its events), and an update whose new row it computed itself (a status change),
/// are staged ([`WriteTxn::stage`]) and written together in one statement on PostgreSQL (a
/// `WITH` of `UPDATE`s and `INSERT`s, one round trip) when the operation next reads through
/// [`WriteTxn::flushed`] or commits. Events and
/// audit rows are written unsealed and put in commit order by [`crate::sealer`]: inside this
/// transaction on SQLite (one writer at a time), after it commits on PostgreSQL. The commit
/// marks this process's cached views stale ([`crate::cache`]) and wakes its sealer and tailer.
pub struct WriteTxn {
    txn: sea_orm::DatabaseTransaction,
    events: Vec<contract::events::Event>,
    /// How many of `events` are in `staged` or written.
    events_staged: usize,
    /// Writes not yet sent ([`WriteTxn::stage`]); a mutex only so that `stage` takes `&self`.
    staged: std::sync::Mutex<Vec<Staged>>,
    /// Declared by [`WriteTxn::leaves_accounts`].
    leaves_accounts: bool,
    bus: crate::events::EventBus,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTxn {
    type Target = sea_orm::DatabaseTransaction;
    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

impl WriteTxn {
    /// Begins a write; a dashboard user's write spends their budget first
    /// ([`crate::ratelimit::spend_write`]).
    pub async fn begin(state: &crate::state::AppState) -> AppResult<Self> {
        crate::ratelimit::spend_write().await?;
        Self::begin_unmetered(state).await
    }

    /// [`WriteTxn::begin`] without spending the write budget: the sign-in bookkeeping (failed
    /// guesses, lockouts, last use), which must be written whatever the budget says — a wrong
    /// password refused as "too many requests" instead of counted would be a free guess.
    pub async fn begin_unmetered(state: &crate::state::AppState) -> AppResult<Self> {
        let (writer, txn) = match state.db.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => {
                let writer = state.sqlite_writer.clone().lock_owned().await;
                // IMMEDIATE takes the file's write lock now (waiting for another process's
                // writer, within the busy timeout), instead of at the first write, where a
                // snapshot another process wrote past would fail with SQLITE_BUSY_SNAPSHOT.
                let options = sea_orm::TransactionOptions {
                    sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                    ..Default::default()
                };
                (Some(writer), begin_detached(&state.db, Some(options)).await?)
            }
            _ => (None, begin_detached(&state.db, None).await?),
        };
        Ok(Self {
            txn,
            events: Vec::new(),
            events_staged: 0,
            staged: std::sync::Mutex::new(Vec::new()),
            leaves_accounts: false,
            bus: state.events.clone(),
            _writer: writer,
        })
    }

    /// Adds an event to the operation: written to the outbox when it commits.
    /// For an operation that writes thousands of rows into tables it also reads (`gad import`):
    /// on PostgreSQL every statement is planned for the tables as they are then. A
    /// connection's prepared statements otherwise settle on a generic plan after five runs,
    /// made while the tables were still small (a sequential scan), and keep it while the
    /// transaction grows them: every later row would read all the rows before it.
    pub async fn plan_for_growing_tables(&self) -> AppResult<()> {
        if self.txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            self.txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan").await?;
        }
        Ok(())
    }

    /// Declares that this operation changes no account — no user, officer profile or
    /// two-factor enrolment that decides who a signed-in user is — so its commit leaves the
    /// cached actors valid ([`crate::events::EventBus::account_generation`]). For the many
    /// writes of an operations room (a task's lifecycle, a position report); any other
    /// operation drops every cached actor of this process when it commits.
    pub fn leaves_accounts(&mut self) {
        self.leaves_accounts = true;
    }

    pub fn emit(&mut self, event: contract::events::Event) {
        self.events.push(event);
    }

    /// Stages a write this operation does not read back before [`WriteTxn::flushed`] or its
    /// commit: sent then with the others, in order, in one statement on PostgreSQL. A long
    /// operation's stage is sent as it fills, so no statement grows without bound. A staged
    /// update's errors (a CHECK, a trigger's refusal) surface when the stage is sent.
    pub async fn stage(&self, write: impl Into<Staged>) -> AppResult<()> {
        let full = {
            let mut staged = self.staged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            staged.push(write.into());
            staged.len() >= STAGE_LIMIT
        };
        if full { self.send_staged().await } else { Ok(()) }
    }

    /// The transaction, for a read that must see this operation's staged rows (its history,
    /// say): sends them, with the events emitted so far, first.
    pub async fn flushed(&mut self) -> AppResult<&sea_orm::DatabaseTransaction> {
        self.stage_events()?;
        self.send_staged().await?;
        Ok(&self.txn)
    }

    /// Moves the events emitted since the last call into the stage, as one outbox insert.
    fn stage_events(&mut self) -> AppResult<()> {
        if let Some(insert) = crate::events::outbox_insert(&self.events[self.events_staged..])? {
            self.staged.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).push(insert.into());
        }
        self.events_staged = self.events.len();
        Ok(())
    }

    /// Sends the stage: on PostgreSQL as one statement, the writes but the last in a `WITH`
    /// (PostgreSQL runs every data-modifying `WITH` to completion, read or not, with one
    /// snapshot: the staged writes never touch the same row twice); on SQLite, which has no
    /// such `WITH` and no round trip, one after the other.
    async fn send_staged(&self) -> AppResult<()> {
        use sea_orm::sea_query::{Alias, CommonTableExpression, WithClause};
        let mut writes = std::mem::take(&mut *self.staged.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let backend = self.txn.get_database_backend();
        if backend != sea_orm::DatabaseBackend::Postgres {
            for write in &writes {
                match write {
                    Staged::Insert(insert) => self.txn.execute(insert).await?,
                    Staged::Update(update) => self.txn.execute(update).await?,
                };
            }
            return Ok(());
        }
        let Some(last) = writes.pop() else { return Ok(()) };
        let alone = writes.is_empty();
        let mut with = WithClause::new();
        for (i, write) in writes.into_iter().enumerate() {
            let mut cte = CommonTableExpression::new();
            match write {
                Staged::Insert(insert) => cte.query(insert),
                Staged::Update(update) => cte.query(update),
            };
            with.cte(cte.table_name(Alias::new(format!("staged{i}"))).to_owned());
        }
        match (last, alone) {
            (Staged::Insert(insert), true) => self.txn.execute(&insert).await?,
            (Staged::Update(update), true) => self.txn.execute(&update).await?,
            (Staged::Insert(insert), false) => self.txn.execute(&insert.with(with)).await?,
            (Staged::Update(update), false) => self.txn.execute(&update.with(with)).await?,
        };
        Ok(())
    }

    pub async fn commit(mut self) -> AppResult<()> {
        self.stage_events()?;
        self.send_staged().await?;
        let WriteTxn { txn, events, leaves_accounts, bus, _writer, .. } = self;
        let sqlite = txn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite;
        if sqlite {
            crate::sealer::seal_all_in(&txn).await?;
        }
        txn.commit().await?;
        drop(_writer);
        if !leaves_accounts {
            bus.invalidate_accounts();
        }
        bus.invalidate_after(&events);
        if sqlite {
            if !events.is_empty() {
                bus.poke();
            }
        } else {
            bus.wake_sealer();
        }
        Ok(())
    }
}
