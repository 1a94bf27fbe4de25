//! Shared test harness: real databases only.
//!
//! - SQLite: a private in-memory database per test (sea-orm keeps one pooled connection for it).
//! - PostgreSQL: a fresh database `gad_mig_<random>` on the server named by `GAD_TEST_PG_URL`
//!   (default `postgres://postgres@127.0.0.1:5432/postgres`; the role must be allowed to
//!   CREATE DATABASE and CREATE EXTENSION postgis), dropped again when the guard goes out of
//!   scope, also when the test panics. Set `GAD_SKIP_PG_TESTS=1` to skip them explicitly.
#![allow(dead_code)]

pub mod scenarios;

use migrations::sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement, TryGetable,
};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub async fn sqlite() -> DatabaseConnection {
    Database::connect("sqlite::memory:").await.expect("open in-memory SQLite")
}

/// A throwaway PostgreSQL database, dropped on `Drop`.
pub struct PgTestDb {
    pub db: DatabaseConnection,
    pub name: String,
    admin_url: String,
}

pub fn pg_skipped() -> bool {
    let skip = std::env::var("GAD_SKIP_PG_TESTS").is_ok_and(|v| v == "1" || v == "true");
    if skip {
        eprintln!("GAD_SKIP_PG_TESTS set: skipping a PostgreSQL test");
    }
    skip
}

pub fn admin_url() -> String {
    std::env::var("GAD_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// `url` with its database name replaced (keeps any `?query`).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

impl PgTestDb {
    pub async fn create() -> PgTestDb {
        let admin_url = admin_url();
        let name = format!("gad_mig_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at GAD_TEST_PG_URL ({admin_url}): {e}; \
                 start it or set GAD_SKIP_PG_TESTS=1"
            )
        });
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE");
        admin.close().await.ok();
        let db = Database::connect(&with_database(&admin_url, &name)).await.expect("connect to the new test database");
        PgTestDb { db, name, admin_url }
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        // Async work cannot run in Drop on the test's runtime: use a private one on a thread.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for dropping the test database");
            runtime.block_on(async move {
                let admin = Database::connect(&admin_url).await?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

pub async fn exec(db: &DatabaseConnection, sql: &str) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql)).await.map(|_| ())
}

/// Runs an `INSERT ... RETURNING id` and returns the id.
pub async fn insert_id(db: &DatabaseConnection, sql: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(sql.to_owned()))?;
    row.try_get("", "id")
}

pub async fn scalar_i64(db: &DatabaseConnection, sql: &str) -> i64 {
    scalar(db, sql).await
}

/// The first column of the one row `sql` returns.
pub async fn scalar<T: TryGetable>(db: &DatabaseConnection, sql: &str) -> T {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index(0).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Asserts that `sql` fails with an error from the database whose text contains `needle`
/// (case-insensitive).
pub async fn assert_db_error(db: &DatabaseConnection, sql: &str, needle: &str) {
    match exec(db, sql).await {
        Ok(()) => {
            panic!("expected a database error containing {needle:?}, but it succeeded: {sql}")
        }
        Err(e) => {
            assert!(matches!(e, DbErr::Exec(_) | DbErr::Query(_)), "not a database error: {e:?}");
            let text = e.to_string().to_lowercase();
            assert!(
                text.contains(&needle.to_lowercase()),
                "error {text:?} does not contain {needle:?} (statement: {sql})"
            );
        }
    }
}

pub async fn table_names(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        }
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("list tables")
        .into_iter()
        .map(|row| row.try_get::<String>("", "name").expect("table name"))
        .collect()
}

pub const DOMAIN_TABLES: &[&str] = &[
    "api_tokens",
    "audit_log",
    "audit_verifications",
    "backup_drills",
    "backups",
    "bot_conversations",
    "bot_inbox",
    "broadcasts",
    "feedback",
    "feedback_digests",
    "notes",
    "officer_positions",
    "officers",
    "task_assignments",
    "task_status_history",
    "tasks",
    "telegram_groups",
    "telegram_links",
    "users",
];
