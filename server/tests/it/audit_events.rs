//! The audit hash chain detects tampering; the event bus reaches every replica.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{ADMIN_PASSWORD, Backend, TestApp};
use contract::domain::OfficerStatus;
use contract::events::Event;
use gad_core::services::audit;
use sea_orm::{ConnectionTrait, DatabaseBackend};

async fn audit_chain_detects_tampering(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let failed = app.call(&TestApp::client(), "login", &[("email", "admin@gad.local"), ("password", "nope")]).await;
    assert_eq!(failed.status().as_u16(), 401);
    app.login("supervisor@gad.local", common::DEMO_PASSWORD).await;

    let db = &app.state.db;
    let report = audit::verify(db).await.unwrap();
    assert_eq!(report.rows, 3, "two logins and one failure are audited");
    assert_eq!(report.first_broken, None);

    // The database refuses edits to the log…
    let edit = db.execute_unprepared("UPDATE audit_log SET action = 'x' WHERE id = 2").await;
    assert!(edit.unwrap_err().to_string().contains(migrations::AUDIT_APPEND_ONLY_TOKEN));

    // …so an attacker with DDL rights must disable the guard first; the chain still tells.
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.execute_unprepared("ALTER TABLE audit_log DISABLE TRIGGER USER").await.unwrap();
        }
        _ => {
            let triggers: Vec<String> = db
                .query_all_raw(sea_orm::Statement::from_string(
                    DatabaseBackend::Sqlite,
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'",
                ))
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.try_get::<String>("", "name").unwrap())
                .collect();
            for t in triggers {
                db.execute_unprepared(&format!("DROP TRIGGER {t}")).await.unwrap();
            }
        }
    }
    db.execute_unprepared("UPDATE audit_log SET user_agent = 'forged' WHERE id = 2").await.unwrap();
    let report = audit::verify(db).await.unwrap();
    assert_eq!(report.first_broken, Some(2));

    // The CLI says so too, with a failing exit code.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gad"))
        .args(["audit", "verify"])
        .env_clear()
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken at row id 2"));
}
on_both_backends!(audit_chain_detects_tampering);

/// Commits `event` alone, as a business operation would.
async fn commit_event(state: &gad_core::state::AppState, event: &Event) {
    let mut txn = gad_core::db::WriteTxn::begin(state).await.unwrap();
    txn.emit(event.clone());
    txn.commit().await.unwrap();
}

/// Waits for `event` on `receiver`; its outbox id.
async fn arrives(receiver: &mut tokio::sync::broadcast::Receiver<gad_core::events::Delivered>, event: &Event) -> i64 {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let delivered = receiver.recv().await.unwrap();
            if &delivered.event == event {
                return delivered.id;
            }
        }
    })
    .await
    .expect("event delivered within 5 s")
}

/// Two replicas (or `gad serve` and `gad bot`) on one database: an event committed by one
/// reaches both, with one id — through NOTIFY on PostgreSQL, polling on a SQLite file.
async fn events_reach_every_process_on_one_database(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let second = TestApp::spawn_on(&first.database_url, &[]).await;
    let mut on_first = first.state.events.subscribe();
    let mut on_second = second.state.events.subscribe();
    let event = Event::OfficerStatusChanged { officer_id: 7, status: OfficerStatus::OffDuty };
    commit_event(&first.state, &event).await;
    let id = arrives(&mut on_first, &event).await;
    assert_eq!(arrives(&mut on_second, &event).await, id);
    // The other way round too.
    let back = Event::TaskDeleted { task_id: 1, code: "PATROL-2026-0001".into() };
    commit_event(&second.state, &back).await;
    assert!(arrives(&mut on_first, &back).await > id);
}
on_both_backends!(events_reach_every_process_on_one_database);

/// An event is written with its change or not at all: a transaction that rolls back leaves
/// no event behind, and nothing is delivered.
async fn a_rolled_back_operation_leaves_no_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = gad_core::events::latest_id(&app.state.db).await.unwrap();
    let mut txn = gad_core::db::WriteTxn::begin(&app.state).await.unwrap();
    txn.emit(Event::TaskDeleted { task_id: 99, code: "X".into() });
    drop(txn);
    assert_eq!(gad_core::events::latest_id(&app.state.db).await.unwrap(), before);
}
on_both_backends!(a_rolled_back_operation_leaves_no_event);
