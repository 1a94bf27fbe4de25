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

/// Two replicas on one PostgreSQL and Redis: an event published by one reaches both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_every_replica_through_redis() {
    let redis = common::redis_url();
    let first = TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", &redis)]).await;
    let second = TestApp::spawn_on(&first.database_url, &[("REDIS_URL", &redis)]).await;
    let mut on_first = first.state.events.subscribe();
    let mut on_second = second.state.events.subscribe();
    // A unique id so events of concurrent test runs on a shared Redis are told apart.
    let officer_id = i64::from(std::process::id()) * 1000 + 7;
    let event = Event::OfficerStatusChanged { officer_id, status: OfficerStatus::OffDuty };
    first.state.events.publish(event.clone()).await;
    for receiver in [&mut on_first, &mut on_second] {
        let got = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let e = receiver.recv().await.unwrap();
                if e == event {
                    return e;
                }
            }
        })
        .await
        .expect("event delivered within 5 s");
        assert_eq!(got, event);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_bus_delivers_locally() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut rx = app.state.events.subscribe();
    let event = Event::TaskDeleted { task_id: 1, code: "PATROL-2026-0001".into() };
    app.state.events.publish(event.clone()).await;
    assert_eq!(rx.recv().await.unwrap(), event);
}
