//! The database side of `gad backup` / `gad restore` / `gad backup drill`: the record of each
//! successful backup and of each drill (read back by the `gad_backup_last_success_timestamp_seconds`
//! and `gad_backup_last_drill_success_timestamp_seconds` gauges), the per-table digests a
//! backup's manifest carries and a drill compares, and the check that a database is empty
//! before a restore. Dumping and uploading are the binary's job.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

/// Records a backup that reached the bucket, with the SHA-256 of the dump as it was made.
pub async fn record(
    db: &DatabaseConnection,
    finished_at_unix: i64,
    backend: &str,
    object_key: &str,
    size_bytes: u64,
    sha256: &str,
) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(Alias::new("backups"))
        .columns([
            Alias::new("finished_at_unix"),
            Alias::new("backend"),
            Alias::new("object_key"),
            Alias::new("size_bytes"),
            Alias::new("sha256"),
        ])
        .values([finished_at_unix.into(), backend.into(), object_key.into(), (size_bytes as i64).into(), sha256.into()])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    db.execute(&insert).await.map(|_| ())
}

/// What this database recorded of backup `object_key`: `None` if `gad backup` never recorded
/// it here, else its SHA-256 (`None` inside for a backup recorded before digests were kept).
pub async fn recorded_digest(db: &DatabaseConnection, object_key: &str) -> Result<Option<Option<String>>, DbErr> {
    let select = Query::select()
        .column(Alias::new("sha256"))
        .from(Alias::new("backups"))
        .and_where(Expr::col(Alias::new("object_key")).eq(object_key))
        .order_by(Alias::new("id"), sea_orm::Order::Desc)
        .limit(1)
        .to_owned();
    let row = db.query_one(&select).await?;
    row.map(|row| row.try_get::<Option<String>>("", "sha256")).transpose()
}

/// The newest backup of `backend` this database recorded.
pub async fn latest_recorded(db: &DatabaseConnection, backend: &str) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column(Alias::new("object_key"))
        .from(Alias::new("backups"))
        .and_where(Expr::col(Alias::new("backend")).eq(backend))
        .order_by(Alias::new("finished_at_unix"), sea_orm::Order::Desc)
        .order_by(Alias::new("id"), sea_orm::Order::Desc)
        .limit(1)
        .to_owned();
    let row = db.query_one(&select).await?;
    row.map(|row| row.try_get::<String>("", "object_key")).transpose()
}

/// Records a drill (`gad backup drill`), passed or failed; `detail` is cut to 2 000 characters.
pub async fn record_drill(
    db: &DatabaseConnection,
    finished_at_unix: i64,
    object_key: &str,
    ok: bool,
    tables_checked: usize,
    detail: &str,
) -> Result<(), DbErr> {
    let detail: String = detail.chars().take(2000).collect();
    let insert = Query::insert()
        .into_table(Alias::new("backup_drills"))
        .columns([
            Alias::new("finished_at_unix"),
            Alias::new("object_key"),
            Alias::new("ok"),
            Alias::new("tables_checked"),
            Alias::new("detail"),
        ])
        .values([
            finished_at_unix.into(),
            object_key.into(),
            ok.into(),
            (tables_checked.min(i32::MAX as usize) as i32).into(),
            detail.into(),
        ])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    db.execute(&insert).await.map(|_| ())
}

/// How many tables the database's `public` schema holds (0: nothing to overwrite).
pub async fn table_count(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("no answer".into()))?;
    row.try_get_by_index::<i64>(0).map_err(|e| DbErr::Custom(e.to_string()))
}

/// A table's content at the moment of a backup: how many rows and a digest of all of them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableDigest {
    pub rows: i64,
    /// SHA-256 (hex) over the sorted SHA-256s of the rows' text, so neither the physical
    /// order nor the primary key matters; comparable only with a digest from the same backend.
    pub sha256: String,
}

/// Every table of the database (PostgreSQL: the `public` schema without extensions' own
/// tables such as PostGIS's `spatial_ref_sys`) with its [`TableDigest`], read through `db` —
/// inside one snapshot when `db` is a transaction.
pub async fn table_digests(
    db: &sea_orm::DatabaseTransaction,
) -> Result<std::collections::BTreeMap<String, TableDigest>, DbErr> {
    use futures::TryStreamExt;
    use sea_orm::{DatabaseBackend, StreamTrait};
    let backend = ConnectionTrait::get_database_backend(db);
    let list = match backend {
        DatabaseBackend::Postgres => {
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') \
             ORDER BY c.relname"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    };
    let tables: Vec<String> = db
        .query_all_raw(Statement::from_string(backend, list))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    let mut out = std::collections::BTreeMap::new();
    for table in tables {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        // Each row as one text: PostgreSQL's own row literal (times in UTC, whatever the
        // session's zone), SQLite's `quote()` of every column.
        let select = match backend {
            DatabaseBackend::Postgres => format!("SELECT t::text FROM {quoted} AS t"),
            _ => {
                let columns = db
                    .query_all_raw(Statement::from_string(backend, format!("PRAGMA table_info({quoted})")))
                    .await?
                    .iter()
                    .map(|r| r.try_get::<String>("", "name"))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
                let cells: Vec<String> =
                    columns.iter().map(|c| format!("quote(\"{}\")", c.replace('"', "\"\""))).collect();
                format!("SELECT {} FROM {quoted}", cells.join(" || char(31) || "))
            }
        };
        if backend == DatabaseBackend::Postgres {
            db.execute_unprepared("SET LOCAL TimeZone = 'UTC'").await?;
        }
        // Read as a stream: a table of a million rows holds a million 32-byte hashes, not
        // its rows.
        let mut hashes: Vec<[u8; 32]> = Vec::new();
        let mut rows = db.stream_raw(Statement::from_string(backend, select)).await?;
        while let Some(row) = rows.try_next().await? {
            let text = row.try_get_by_index::<Option<String>>(0).map_err(|e| DbErr::Custom(e.to_string()))?;
            hashes.push(sha256(text.unwrap_or_default().as_bytes()));
        }
        drop(rows);
        hashes.sort_unstable();
        let mut all = Vec::with_capacity(hashes.len() * 32);
        for h in &hashes {
            all.extend_from_slice(h);
        }
        out.insert(table, TableDigest { rows: hashes.len() as i64, sha256: hex::encode(sha256(&all)) });
    }
    Ok(out)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// How many backups and drills the backups page lists.
pub const OVERVIEW_ROWS: u64 = 30;

/// The newest backups and drills (admins: [`Capability::RunBackups`]).
///
/// [`Capability::RunBackups`]: crate::permissions::Capability::RunBackups
pub async fn overview(
    state: &crate::state::AppState,
    actor: &crate::actor::Actor,
) -> crate::error::AppResult<contract::backups::BackupsOverview> {
    use contract::backups::{BackupRow, BackupsOverview, DrillRow};
    use sea_orm::sea_query::Order;
    crate::permissions::require(actor, crate::permissions::Capability::RunBackups)?;
    let db = &state.db;
    let at = |unix: i64| chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
    let backups = Query::select()
        .columns([
            Alias::new("finished_at_unix"),
            Alias::new("backend"),
            Alias::new("object_key"),
            Alias::new("size_bytes"),
        ])
        .from(Alias::new("backups"))
        .order_by(Alias::new("finished_at_unix"), Order::Desc)
        .order_by(Alias::new("id"), Order::Desc)
        .limit(OVERVIEW_ROWS)
        .to_owned();
    let backups = db
        .query_all(&backups)
        .await?
        .iter()
        .map(|r| {
            Ok(BackupRow {
                finished_at: at(r.try_get("", "finished_at_unix")?),
                backend: r.try_get("", "backend")?,
                object_key: r.try_get("", "object_key")?,
                size_bytes: r.try_get("", "size_bytes")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let drills = Query::select()
        .columns([
            Alias::new("finished_at_unix"),
            Alias::new("object_key"),
            Alias::new("ok"),
            Alias::new("tables_checked"),
            Alias::new("detail"),
        ])
        .from(Alias::new("backup_drills"))
        .order_by(Alias::new("finished_at_unix"), Order::Desc)
        .order_by(Alias::new("id"), Order::Desc)
        .limit(OVERVIEW_ROWS)
        .to_owned();
    let drills = db
        .query_all(&drills)
        .await?
        .iter()
        .map(|r| {
            Ok(DrillRow {
                finished_at: at(r.try_get("", "finished_at_unix")?),
                object_key: r.try_get("", "object_key")?,
                ok: r.try_get("", "ok")?,
                tables_checked: r.try_get("", "tables_checked")?,
                detail: r.try_get("", "detail")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(BackupsOverview { backups, drills })
}
