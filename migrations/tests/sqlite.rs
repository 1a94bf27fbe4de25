//! The schema on SQLite (the embedded default), in a private in-memory database per test.

mod common;

use common::{scenarios, sqlite};
use migrations::Migrator;
use migrations::sea_orm_migration::MigratorTrait;

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let db = sqlite().await;
    scenarios::up_down_up(&db).await;
}

#[tokio::test]
async fn constraint_violations_are_database_errors() {
    let db = sqlite().await;
    Migrator::up(&db, None).await.expect("up");
    scenarios::constraints(&db).await;
}

#[tokio::test]
async fn schema_status_reports_pending_current_and_newer() {
    let db = sqlite().await;
    scenarios::status_lifecycle(&db).await;
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    let db = sqlite().await;
    Migrator::up(&db, None).await.expect("up");
    assert!(
        common::exec(&db, "INSERT INTO task_assignments (task_id, officer_id) VALUES (4242, 4242)").await.is_err(),
        "sqlx must turn PRAGMA foreign_keys on"
    );
}
