//! Deadlines and escalation over REST and through the escalator, on SQLite and PostgreSQL:
//! targets per type and priority, a task's due times, the three escalation steps taken once
//! (two escalators racing included), acknowledging stops them, the overdue filter, sort,
//! banner and gauge; who may do what.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, Rest, TestApp, problem_fields};
use contract::events::Event;
use contract::sla::SlaTargetKind;
use gad_core::db::WriteTxn;
use gad_core::entities::{sla_escalations, task_status_history, tasks};
use gad_core::events::Consumer;
use gad_core::services::sla;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn steps(app: &TestApp, task_id: i64) -> Vec<(String, i32)> {
    let mut rows: Vec<(String, i32)> = sla_escalations::Entity::find()
        .filter(sla_escalations::Column::TaskId.eq(task_id))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.target, r.level))
        .collect();
    rows.sort();
    rows
}

async fn deadlines_escalate_once_and_stop_when_met(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let (_, me) = officer.get("/me/officer").await;
    let ef1 = me["id"].as_i64().unwrap();

    // Targets: the defaults per priority, and a patrol's own critical row set by an admin.
    let (status, targets) = sup.get("/sla/targets").await;
    assert_eq!(status, StatusCode::OK, "{targets}");
    assert!(targets.as_array().unwrap().iter().any(|t| t["task_type"].is_null() && t["priority"] == "critical"));
    let row = json!({ "task_type": "patrol", "priority": "critical", "ack_minutes": 5, "start_minutes": 10, "finish_minutes": 60 });
    assert_eq!(sup.put("/sla/targets", &row).await.0, StatusCode::FORBIDDEN, "admins set targets");
    let (status, set) = admin.put("/sla/targets", &row).await;
    assert_eq!((status, set["ack_minutes"].as_i64()), (StatusCode::OK, Some(5)), "{set}");
    let (status, body) = admin.put("/sla/targets", &json!({ "priority": "high", "ack_minutes": 0 })).await;
    assert_eq!((status, problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["ack_minutes".to_owned()]));
    assert_eq!(officer.get("/sla/targets").await.0, StatusCode::FORBIDDEN);

    // A critical patrol assigned to EF-001 at creation: its due times follow the patrol row.
    let (status, task) = sup
        .post(
            "/tasks",
            &json!({ "title": "Robo en curso", "task_type": "patrol", "priority": "critical",
                "officer_ids": [ef1], "allow_overlap": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let id = task["id"].as_i64().unwrap();
    let created = at(&task["created_at"]);
    let due: Vec<(String, DateTime<Utc>)> = task["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["kind"].as_str().unwrap().to_owned(), at(&d["due_at"])))
        .collect();
    let minutes = |k: &str| (due.iter().find(|(kind, _)| kind == k).unwrap().1 - created).num_minutes();
    assert_eq!((minutes("ack"), minutes("start"), minutes("finish")), (5, 10, 60), "{due:?}");
    assert_eq!(task["can_acknowledge"], false, "the supervisor is not assigned");
    // Written with the row: recomputing them changes nothing.
    let stored = tasks::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    let txn = WriteTxn::begin(&app.state).await.unwrap();
    assert_eq!(sla::apply(&txn, stored.clone()).await.unwrap(), stored, "due times written at creation");
    drop(txn);

    // 24 minutes on: acknowledge is 19 late (its steps are due at 5, 20 and 35 minutes: two),
    // start 14 late (10, 25, 40: one). Each step once, with its history line, audit entry and
    // event.
    let mut events = common::EventLog::mark(&app.state).await;
    let later = created + Duration::minutes(24);
    let taken = sla::escalate(&app.state, later).await.unwrap();
    assert_eq!(taken.len(), 3, "{taken:?}");
    assert_eq!(steps(&app, id).await, [("ack".to_owned(), 1), ("ack".to_owned(), 2), ("start".to_owned(), 1)]);
    assert!(sla::escalate(&app.state, later).await.unwrap().is_empty(), "never twice");
    let overdue: Vec<Event> =
        events.take(&app.state).await.into_iter().filter(|e| matches!(e, Event::TaskOverdue { .. })).collect();
    assert_eq!(overdue.len(), 3, "{overdue:?}");
    assert!(overdue.contains(&Event::TaskOverdue {
        task_id: id,
        code: task["code"].as_str().unwrap().to_owned(),
        priority: contract::domain::TaskPriority::Critical,
        target: "ack".into(),
        level: 2,
    }));
    let lines = task_status_history::Entity::find()
        .filter(task_status_history::Column::TaskId.eq(id))
        .filter(task_status_history::Column::Reason.like("Objetivo vencido%"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(lines, 3);
    let (_, audit) = admin.get("/audit?action=task.sla_escalated").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 3);

    // The officer confirms receipt: acknowledging stops its steps; start still escalates.
    let (status, body) = sup.post(&format!("/tasks/{id}/acknowledge"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "a supervisor may confirm for them: {body}");
    let (_, detail) = officer.get(&format!("/tasks/{id}")).await;
    assert!(detail["acknowledged_at"].is_string());
    assert_eq!(detail["can_acknowledge"], false);
    let much_later = created + Duration::minutes(120);
    let taken = sla::escalate(&app.state, much_later).await.unwrap();
    assert!(taken.iter().all(|(_, target, _)| *target != SlaTargetKind::Ack), "{taken:?}");
    assert_eq!(
        steps(&app, id).await,
        [
            ("ack".to_owned(), 1),
            ("ack".to_owned(), 2),
            ("finish".to_owned(), 1),
            ("finish".to_owned(), 2),
            ("finish".to_owned(), 3),
            ("start".to_owned(), 1),
            ("start".to_owned(), 2),
            ("start".to_owned(), 3),
        ]
    );
    // Completed: nothing is due any more.
    let (status, _) = officer.post(&format!("/tasks/{id}/transitions"), &json!({ "to": "in_progress" })).await;
    assert_eq!(status, StatusCode::OK);
    let stored = tasks::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(stored.sla_due_at, stored.finish_due_at, "started: finishing is what is due");
    let (status, done) = officer.post(&format!("/tasks/{id}/transitions"), &json!({ "to": "completed" })).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let stored = tasks::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(stored.sla_due_at, None, "completed: nothing is due");
    assert!(done["deadlines"].as_array().unwrap().iter().all(|d| !d["met_at"].is_null()));
    assert!(sla::escalate(&app.state, much_later + Duration::days(1)).await.unwrap().is_empty());

    // An officer acknowledges their own task; one not theirs does not exist for them.
    let (_, mine) = sup
        .post("/tasks", &json!({ "title": "Apoyo", "task_type": "patrol", "priority": "urgent", "officer_ids": [ef1], "allow_overlap": true }))
        .await;
    let mine_id = mine["id"].as_i64().unwrap();
    let (_, seen) = officer.get(&format!("/tasks/{mine_id}")).await;
    assert_eq!(seen["can_acknowledge"], true);
    let (status, acked) = officer.post(&format!("/tasks/{mine_id}/acknowledge"), &json!({})).await;
    assert_eq!((status, acked["can_acknowledge"].as_bool()), (StatusCode::OK, Some(false)), "{acked}");
    let (_, other) = sup.post("/tasks", &json!({ "title": "Ajena", "task_type": "patrol" })).await;
    let other_id = other["id"].as_i64().unwrap();
    assert_eq!(officer.post(&format!("/tasks/{other_id}/acknowledge"), &json!({})).await.0, StatusCode::NOT_FOUND);
}
on_both_backends!(deadlines_escalate_once_and_stop_when_met);

async fn overdue_tasks_are_listed_sorted_bannered_and_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    // A critical task scheduled two hours ago and never started: its start target (15 min by
    // default) is long past. An urgent one an hour ago: past too, and less so.
    let mut ids = Vec::new();
    for (title, priority, hours) in [("Vencida crítica", "critical", 2), ("Vencida urgente", "urgent", 1)] {
        let (status, task) = sup
            .post(
                "/tasks",
                &json!({ "title": title, "task_type": "surveillance", "priority": priority,
                    "scheduled_start": ts(Utc::now() - Duration::hours(hours)) }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        ids.push(task["id"].as_i64().unwrap());
    }
    let (status, page) = sup.get("/tasks?sla=overdue&sort=due").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed: Vec<i64> = page["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, ids, "most overdue first, nothing else overdue");
    assert!(page["items"][0]["sla_due_at"].is_string());
    let (_, at_risk) = sup.get("/tasks?sla=at_risk").await;
    assert!(at_risk["items"].as_array().unwrap().iter().all(|t| !ids.contains(&t["id"].as_i64().unwrap())));
    let (status, body) = sup.get("/tasks?sla=pronto").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The banner's alerts: both (urgent and critical); an officer sees none of them.
    let (_, alerts) = sup.get("/sla/alerts").await;
    let codes: Vec<i64> = alerts.as_array().unwrap().iter().map(|a| a["task_id"].as_i64().unwrap()).collect();
    assert_eq!(codes, ids);
    let (_, none) = officer.get("/sla/alerts").await;
    assert_eq!(none, json!([]));
    // The gauge counts them.
    assert_eq!(sla::overdue_count(&app.state.db, Utc::now()).await.unwrap(), 2);

    // The server's own escalator takes the start steps 1–3 of each (both are more than 30
    // minutes late), each once; more escalators racing it (other replicas) add nothing.
    let total = || async {
        let mut n = 0;
        for id in &ids {
            n += steps(&app, *id).await.len();
        }
        n
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while total().await < 6 {
        assert!(std::time::Instant::now() < deadline, "the escalator took {} steps", total().await);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let lease = std::time::Duration::from_secs(30);
    let a = Consumer::new(app.state.db.clone(), "sla-escalator", "replica-a".into(), lease);
    let b = Consumer::new(app.state.db.clone(), "sla-escalator", "replica-b".into(), lease);
    let (ra, rb) = tokio::join!(gad_server::sla::pass(&app.state, &a), gad_server::sla::pass(&app.state, &b));
    assert_eq!((ra.unwrap(), rb.unwrap()), (0, 0));
    // Three hours on, the critical one's finish deadline (4 h from its start) has all three
    // steps due: two escalators at once take them once between them.
    let later = Utc::now() + Duration::hours(3);
    let (x, y) = tokio::join!(sla::escalate(&app.state, later), sla::escalate(&app.state, later));
    assert_eq!(x.unwrap().len() + y.unwrap().len(), 3);
    assert_eq!(total().await, 9);
    // One lease holder at a time.
    let c = Consumer::new(app.state.db.clone(), "sla-lease-test", "replica-c".into(), lease);
    let d = Consumer::new(app.state.db.clone(), "sla-lease-test", "replica-d".into(), lease);
    let (rc, rd) = tokio::join!(c.claim(), d.claim());
    assert!(rc.unwrap() ^ rd.unwrap(), "exactly one claims the lease");
}
on_both_backends!(overdue_tasks_are_listed_sorted_bannered_and_counted);

/// An acknowledgment racing a cancellation takes its turn on the task's row: it either lands
/// before (and the cancellation then clears every due time) or finds the task finished (409);
/// never a cancelled task left with a deadline that would still escalate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_acknowledgment_racing_a_cancellation_leaves_nothing_due() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let (_, me) = officer.get("/me/officer").await;
    let ef1 = me["id"].as_i64().unwrap();
    let mut ids = Vec::new();
    for n in 0..12 {
        let (status, task) = sup
            .post(
                "/tasks",
                &json!({ "title": format!("Carrera {n}"), "task_type": "patrol", "priority": "critical",
                    "officer_ids": [ef1], "allow_overlap": true }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        ids.push(task["id"].as_i64().unwrap());
    }
    let cancel = json!({ "to": "cancelled", "reason": "Se resolvió sin intervención" });
    let races = ids.iter().map(|id| {
        let (ack, end) = (format!("/tasks/{id}/acknowledge"), format!("/tasks/{id}/transitions"));
        let (officer, sup, cancel) = (&officer, &sup, &cancel);
        async move {
            let empty = json!({});
            tokio::join!(officer.post(&ack, &empty), sup.post(&end, cancel))
        }
    });
    for ((ack, _), (cancelled, body)) in futures::future::join_all(races).await {
        assert_eq!(cancelled, StatusCode::OK, "{body}");
        assert!(ack == StatusCode::OK || ack == StatusCode::CONFLICT, "{ack}");
    }
    for id in ids {
        let task = tasks::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(task.status, contract::domain::TaskStatus::Cancelled);
        assert_eq!(task.sla_due_at, None, "task {id}: cancelled, yet something is due");
    }
    assert!(sla::escalate(&app.state, Utc::now() + Duration::days(1)).await.unwrap().is_empty());
}

/// The first escalation step reaches the task's supervisor only while they supervise: one made
/// an officer since sees no such task anywhere, and the bot does not tell them either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_reaches_a_supervisor_only_while_they_supervise() {
    use gad_core::entities::users;
    use gad_core::services::notifications::escalation_chats;
    use sea_orm::{ActiveModelTrait, Set};
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let (status, task) =
        sup.post("/tasks", &json!({ "title": "Control vehicular", "task_type": "patrol", "priority": "high" })).await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let id = task["id"].as_i64().unwrap();
    let db = &app.state.db;
    let user = users::Entity::find().filter(users::Column::Email.eq("supervisor@gad.local")).one(db).await;
    let user = user.unwrap().unwrap();
    assert_eq!(task["supervisor_id"].as_i64(), Some(user.id), "{task}");
    let mut linked: users::ActiveModel = user.clone().into();
    linked.telegram_user_id = Set(Some(424_242));
    linked.update(db).await.unwrap();
    assert_eq!(escalation_chats(&app.state, id, 1).await.unwrap(), vec![424_242]);
    let (status, body) = admin.patch(&format!("/users/{}", user.id), &json!({ "role": "officer" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(escalation_chats(&app.state, id, 1).await.unwrap(), Vec::<i64>::new());
    assert!(!escalation_chats(&app.state, id, 2).await.unwrap().contains(&424_242));
}

/// A task stays overdue until its target is met: two hundred neglected ones, every step long
/// taken, do not keep a new overdue task from escalating (the escalator reads tasks with a step
/// still to take, not the oldest overdue).
async fn neglected_tasks_do_not_keep_a_new_one_from_escalating(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::spawn(backend).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let create = async |title: String| {
        let body = json!({ "title": title, "task_type": "patrol", "priority": "critical" });
        let (status, task) = sup.post("/tasks", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        task["id"].as_i64().unwrap()
    };
    for n in 0..200 {
        create(format!("Vieja {n}")).await;
    }
    let new = create("Nueva".to_owned()).await;
    // Only the finish target, a day from now (the server's own escalator, on the clock, stays
    // out of it): the old ones due first, every step recorded; the new one a minute later.
    let db = &app.state.db;
    let backend_kind = db.get_database_backend();
    let t0 = Utc::now() + Duration::days(1);
    let run = async |sql: &str, values: Vec<sea_orm::Value>| {
        db.execute_raw(Statement::from_sql_and_values(backend_kind, sql, values)).await.unwrap();
    };
    run("UPDATE tasks SET ack_due_at = NULL, start_due_at = NULL, finish_due_at = NULL, sla_due_at = NULL", vec![])
        .await;
    run("UPDATE tasks SET finish_due_at = $1, sla_due_at = $1 WHERE title LIKE 'Vieja %'", vec![t0.into()]).await;
    run(
        "UPDATE tasks SET finish_due_at = $1, sla_due_at = $1 WHERE id = $2",
        vec![(t0 + Duration::minutes(1)).into(), new.into()],
    )
    .await;
    for level in 1..=3 {
        run(
            "INSERT INTO sla_escalations (task_id, target, level, due_at, notified_at) \
             SELECT id, 'finish', $1, finish_due_at, finish_due_at FROM tasks WHERE title LIKE 'Vieja %'",
            vec![level.into()],
        )
        .await;
    }
    let taken = sla::escalate(&app.state, t0 + Duration::hours(2)).await.unwrap();
    assert_eq!(
        taken,
        [(new, SlaTargetKind::Finish, 1), (new, SlaTargetKind::Finish, 2), (new, SlaTargetKind::Finish, 3)],
        "only the new task had steps to take"
    );
}
on_both_backends!(neglected_tasks_do_not_keep_a_new_one_from_escalating);
