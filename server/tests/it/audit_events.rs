//! The audit hash chain detects tampering; the event bus reaches every replica.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{ADMIN_PASSWORD, Backend, TestApp};
use contract::domain::OfficerStatus;
use contract::events::Event;
use gad_core::services::audit;
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, QueryOrder};

async fn audit_chain_detects_tampering(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let failed = app.call(&TestApp::client(), "login", &[("email", "admin@gad.local"), ("password", "nope")]).await;
    assert_eq!(failed.status().as_u16(), 401);
    app.login("supervisor@gad.local", common::DEMO_PASSWORD).await;

    let db = &app.state.db;
    gad_core::sealer::seal_now(db).await.unwrap();
    let report = audit::verify(db).await.unwrap();
    assert_eq!(report.rows, 3, "two logins and one failure are audited");
    assert_eq!(report.unsealed, 0);

    // A sealed row cannot be sealed again (the one UPDATE the log allows is spent).
    let reseal = db.execute_unprepared("UPDATE audit_log SET hash = 'forged', seq = 99 WHERE id = 2").await;
    assert!(reseal.unwrap_err().to_string().contains(migrations::AUDIT_APPEND_ONLY_TOKEN));
    assert_eq!(report.first_broken, None);

    // Before any verification the chain gauges say nothing; the CLI's verification records
    // an intact chain (what the daily job's alerts read).
    let gauges = gad_core::services::gauges::read(&app.state).await.unwrap();
    assert_eq!((gauges.audit_chain_intact, gauges.last_good_audit_verify_unix), (None, None));
    let out = cli_verify(&app);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let gauges = gad_core::services::gauges::read(&app.state).await.unwrap();
    assert_eq!(gauges.audit_chain_intact, Some(true));
    let verified_at = gauges.last_good_audit_verify_unix.expect("an intact verification is recorded");
    assert!((chrono::Utc::now().timestamp() - verified_at).abs() < 60);

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
    let out = cli_verify(&app);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cadena de auditoría ROTA en el registro id 2"));
    // The broken chain is recorded: the gauge turns to 0 (GadAuditChainBroken), the last
    // intact verification stays where it was.
    let gauges = gad_core::services::gauges::read(&app.state).await.unwrap();
    assert_eq!(gauges.audit_chain_intact, Some(false));
    assert_eq!(gauges.last_good_audit_verify_unix, Some(verified_at));
    let first_broken = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT first_broken_id FROM audit_verifications WHERE NOT ok",
        ))
        .await
        .unwrap()
        .map(|row| row.try_get_by_index::<i64>(0).unwrap());
    assert_eq!(first_broken, Some(2));
}
on_both_backends!(audit_chain_detects_tampering);

/// Runs `gad audit verify` on the app's database.
fn cli_verify(app: &TestApp) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gad"))
        .args(["audit", "verify"])
        .env_clear()
        .env("DATABASE_URL", &app.database_url)
        .output()
        .unwrap()
}

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

/// Appends an audit row to `txn` for an event-less operation.
async fn audit_row(txn: &gad_core::db::WriteTxn, action: &str) {
    let meta = gad_core::meta::AuditMeta::internal(contract::domain::Channel::System);
    audit::append(txn, None, &meta, audit::AuditEntry::new(action, "test", 1)).await.unwrap();
}

/// Writers take no global lock on PostgreSQL: a transaction that commits while an earlier one
/// is still open does not wait for it. The sealer puts both in commit order: the late
/// committer's event gets the later id (though its outbox row is older), every event is
/// delivered once, and the audit chain links both rows, intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_do_not_wait_for_each_other_and_are_sealed_in_commit_order() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let mut events = app.state.events.subscribe();
    let early = Event::TaskDeleted { task_id: 1, code: "EARLY".into() };
    let late = Event::TaskDeleted { task_id: 2, code: "LATE".into() };

    // Opened first (older outbox and audit ids), committed last.
    let mut open = gad_core::db::WriteTxn::begin(&app.state).await.unwrap();
    audit_row(&open, "test.open").await;
    open.emit(late.clone());

    let mut quick = gad_core::db::WriteTxn::begin(&app.state).await.unwrap();
    audit_row(&quick, "test.quick").await;
    quick.emit(early.clone());
    tokio::time::timeout(Duration::from_secs(2), quick.commit())
        .await
        .expect("a commit never waits for another open transaction")
        .unwrap();
    let early_id = arrives(&mut events, &early).await;

    open.commit().await.unwrap();
    let late_id = arrives(&mut events, &late).await;
    assert!(late_id > early_id, "commit order: {early_id} then {late_id}");
    // Read back by a durable reader from before both: each once, in commit order.
    let replay = gad_core::events::read_after(&app.state.db, early_id - 1, 10).await.unwrap();
    let ids: Vec<i64> = replay.iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![early_id, late_id]);

    gad_core::sealer::seal_now(&app.state.db).await.unwrap();
    let report = audit::verify(&app.state.db).await.unwrap();
    assert_eq!((report.first_broken, report.unsealed), (None, 0), "{report:?}");
    let chained: Vec<String> = gad_core::entities::audit_log::Entity::find()
        .order_by_asc(gad_core::entities::audit_log::Column::Seq)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.action)
        .filter(|action| action.starts_with("test."))
        .collect();
    assert_eq!(chained, ["test.quick", "test.open"], "the chain follows commit order");
}

/// A write does not notify on PostgreSQL: a notifying transaction holds the server's
/// notification queue lock through its commit's flush, so writes that notified committed one at
/// a time (migration m20261206_000021). Only a sealing pass notifies ('sealed', for the
/// tailers), and the process that wrote seals it without being told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_sends_no_notification_only_its_sealing_does() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let mut events = app.state.events.subscribe();
    // The app's sealer is kept out meanwhile, so nothing but the write itself could notify
    // (a pass that ended before the lock was taken notified before the listener listens).
    let hold = sea_orm::TransactionTrait::begin(&app.state.db).await.unwrap();
    hold.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({})", gad_core::sealer::SEALER_LOCK_KEY))
        .await
        .unwrap();
    let pool = app.state.db.get_postgres_connection_pool().clone();
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await.unwrap();
    listener.listen(gad_core::events::NOTIFY_CHANNEL).await.unwrap();
    let event = Event::TaskDeleted { task_id: 3, code: "QUIET".into() };
    commit_event(&app.state, &event).await;
    let heard = tokio::time::timeout(Duration::from_millis(500), listener.recv()).await;
    assert!(heard.is_err(), "a write notified: {:?}", heard.map(|n| n.map(|n| n.payload().to_owned())));

    hold.commit().await.unwrap();
    arrives(&mut events, &event).await;
    let sealed = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await.expect("the pass notifies");
    assert_eq!(sealed.unwrap().payload(), gad_core::events::NOTIFY_SEALED);
}

/// Audit rows committed while nothing seals (no process running the sealer) are counted as
/// waiting, never as a broken chain, and `gad audit verify` seals them before checking.
async fn unsealed_rows_wait_and_the_cli_seals_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.state.db;
    gad_core::sealer::seal_now(db).await.unwrap();
    // The app's own sealer is kept out by holding its lock (PostgreSQL).
    let hold = sea_orm::TransactionTrait::begin(db).await.unwrap();
    if backend == Backend::Postgres {
        hold.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({})", gad_core::sealer::SEALER_LOCK_KEY))
            .await
            .unwrap();
    }
    // As a writer leaves it: inserted without seq or hash.
    db.execute_unprepared(
        "INSERT INTO audit_log (channel, action, resource_type, success, severity) \
         VALUES ('system', 'test.unsealed', 'test', TRUE, 'info')",
    )
    .await
    .unwrap();
    let report = audit::verify(db).await.unwrap();
    assert_eq!((report.first_broken, report.unsealed), (None, 1), "{report:?}");
    hold.commit().await.unwrap();

    let out = cli_verify(&app);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = audit::verify(db).await.unwrap();
    assert_eq!((report.first_broken, report.unsealed), (None, 0), "{report:?}");
}
on_both_backends!(unsealed_rows_wait_and_the_cli_seals_them);
