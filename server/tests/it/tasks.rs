//! The task part of the operations core: lifecycle (SPEC §4), permissions (SPEC §5) through
//! the server functions, assignments and overlaps, queries with cursor pagination, CSV export,
//! events after commit, and emergencies. Every scenario runs on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use app::api::emergency::raise_emergency;
use app::api::tasks::{
    assign_officers, create_task, delete_task, list_tasks, query_tasks, task_detail, transition_task, unassign_officer,
    update_task,
};
use app::server::harness::call_as;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::{Backend, DEMO_PASSWORD, TestApp};
use contract::domain::{AuditSeverity, Channel, OfficerStatus, PositionSource, TaskPriority, TaskStatus, TaskType};
use contract::emergency::EmergencyAssign;
use contract::events::Event;
use contract::tasks::{NewTask, TaskDetail, TaskFilter, TaskScope, TaskSort, TaskSummary, TaskUpdate};
use contract::{ErrorCode, Page};
use gad_core::actor::Actor;
use gad_core::entities::{audit_log, officers, task_assignments, task_status_history, tasks, users};
use gad_core::error::AppError;
use gad_core::meta::AuditMeta;
use gad_core::services::{self, audit};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

// ----------------------------------------------------------------------------------- helpers

struct Ctx {
    app: TestApp,
    admin: Actor,
    supervisor: Actor,
    /// efectivo1@gad.local (EF-001).
    officer: Actor,
    /// efectivo2@gad.local (EF-002).
    other_officer: Actor,
}

async fn actor(app: &TestApp, email: &str) -> Actor {
    let user = users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap();
    services::auth::actor_for_user(&app.state, user.id, Channel::Web).await.unwrap()
}

async fn ctx(backend: Backend) -> Ctx {
    let app = TestApp::spawn(backend).await;
    let admin = actor(&app, "admin@gad.local").await;
    let supervisor = actor(&app, "supervisor@gad.local").await;
    let officer = actor(&app, "efectivo1@gad.local").await;
    let other_officer = actor(&app, "efectivo2@gad.local").await;
    Ctx { app, admin, supervisor, officer, other_officer }
}

fn meta() -> AuditMeta {
    AuditMeta::internal(Channel::Web)
}

/// A new available officer without a user or a position.
async fn new_officer(app: &TestApp, code: &str) -> i64 {
    let now = Utc::now();
    officers::ActiveModel {
        user_id: Set(None),
        code: Set(code.into()),
        first_name: Set("Prueba".into()),
        last_name: Set(code.into()),
        rank: Set("Agente".into()),
        unit: Set("Unidad de pruebas".into()),
        specialty: Set(None),
        status: Set(OfficerStatus::Available),
        status_changed_at: Set(now),
        last_lat: Set(None),
        last_lon: Set(None),
        last_position_at: Set(None),
        last_position_source: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap()
    .id
}

async fn officer_id(app: &TestApp, code: &str) -> i64 {
    officers::Entity::find().filter(officers::Column::Code.eq(code)).one(&app.state.db).await.unwrap().unwrap().id
}

async fn task_row(app: &TestApp, id: i64) -> tasks::Model {
    tasks::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap()
}

async fn officer_row(app: &TestApp, id: i64) -> officers::Model {
    officers::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap()
}

async fn history(app: &TestApp, task_id: i64) -> Vec<task_status_history::Model> {
    task_status_history::Entity::find()
        .filter(task_status_history::Column::TaskId.eq(task_id))
        .order_by_asc(task_status_history::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn audit_count(app: &TestApp) -> u64 {
    audit_log::Entity::find().count(&app.state.db).await.unwrap()
}

async fn last_audit(app: &TestApp) -> audit_log::Model {
    audit_log::Entity::find().order_by_desc(audit_log::Column::Id).one(&app.state.db).await.unwrap().unwrap()
}

async fn assert_chain_intact(app: &TestApp) {
    gad_core::sealer::seal_now(&app.state.db).await.unwrap();
    let report = audit::verify(&app.state.db).await.unwrap();
    assert_eq!(report.first_broken, None, "audit chain broken: {report:?}");
}

/// Sets `paused_at` back by `seconds`, as if the pause had started earlier.
async fn backdate_pause(app: &TestApp, id: i64, seconds: i64) {
    let row = task_row(app, id).await;
    let mut active: tasks::ActiveModel = row.clone().into();
    active.paused_at = Set(Some(row.paused_at.unwrap() - Duration::seconds(seconds)));
    active.update(&app.state.db).await.unwrap();
}

fn code_of<T>(result: Result<T, AppError>) -> ErrorCode {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.code(),
    }
}

async fn create(c: &Ctx, new: NewTask) -> TaskDetail {
    services::tasks::create(&c.app.state, &c.supervisor, &meta(), new).await.unwrap()
}

async fn go(c: &Ctx, id: i64, to: TaskStatus) -> Result<TaskDetail, AppError> {
    let reason = (to == TaskStatus::Cancelled).then(|| "Motivo de prueba".to_owned());
    services::tasks::transition(&c.app.state, &c.supervisor, &meta(), id, to, reason).await
}

/// Moves a fresh task to `status` along the shortest legal path.
async fn drive(c: &Ctx, id: i64, status: TaskStatus) {
    use TaskStatus::*;
    let path: &[TaskStatus] = match status {
        Scheduled => &[],
        InProgress => &[InProgress],
        Paused => &[InProgress, Paused],
        Completed => &[InProgress, Completed],
        Cancelled => &[Cancelled],
    };
    for to in path {
        go(c, id, *to).await.unwrap();
    }
}

fn close_to_now(at: Option<DateTime<Utc>>) -> bool {
    at.is_some_and(|t| (Utc::now() - t).num_seconds().abs() < 30)
}

// ------------------------------------------------------------------------------- lifecycle

/// Every pair of statuses: allowed transitions change exactly what SPEC §4 says, forbidden
/// ones are a conflict and change nothing.
async fn every_transition_pair(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    for from in TaskStatus::ALL {
        for to in TaskStatus::ALL {
            let label = format!("{from} -> {to}");
            let officer = new_officer(app, &format!("T-{}-{}", from.as_str(), to.as_str()).to_uppercase()).await;
            let mut new = NewTask::new(format!("Transición {label}"), TaskType::Patrol);
            new.officer_ids = vec![officer];
            let task = create(&c, new).await;
            drive(&c, task.id, *from).await;
            if *from == TaskStatus::Paused {
                backdate_pause(app, task.id, 90).await;
            }
            let before = task_row(app, task.id).await;
            let before_officer = officer_row(app, officer).await;
            let history_before = history(app, task.id).await.len();
            let audit_before = audit_count(app).await;

            let result = go(&c, task.id, *to).await;
            let after = task_row(app, task.id).await;
            let after_officer = officer_row(app, officer).await;
            let rows = history(app, task.id).await;

            if !from.can_transition_to(*to) {
                assert_eq!(code_of(result), ErrorCode::Conflict, "{label}");
                assert_eq!(after, before, "{label}: the task must not change");
                assert_eq!(after_officer, before_officer, "{label}: the officer must not change");
                assert_eq!(rows.len(), history_before, "{label}: no history row");
                assert_eq!(audit_count(app).await, audit_before, "{label}: no audit row");
                continue;
            }
            let detail = result.unwrap_or_else(|e| panic!("{label}: {e:?}"));
            assert_eq!(detail.status, *to, "{label}");
            assert_eq!(after.status, *to, "{label}");
            assert_eq!(rows.len(), history_before + 1, "{label}: one history row");
            let last = rows.last().unwrap();
            assert_eq!((last.from_status, last.to_status), (Some(*from), *to), "{label}");
            assert_eq!(last.changed_by, Some(c.supervisor.user_id));
            assert_eq!(last.channel, Channel::Web);
            assert_eq!(audit_count(app).await, audit_before + 1, "{label}: one audit row");
            let entry = last_audit(app).await;
            assert_eq!(entry.action, "task.transition");
            assert_eq!(entry.resource_id.as_deref(), Some(task.id.to_string().as_str()));
            assert_eq!(entry.before_value.as_ref().unwrap()["status"], from.as_str());
            assert_eq!(entry.after_value.as_ref().unwrap()["task"]["status"], to.as_str());
            assert!(entry.before_value.as_ref().unwrap().get("title").is_none(), "{label}: only what changed");

            use TaskStatus::*;
            match (from, to) {
                (Scheduled, InProgress) => {
                    assert!(close_to_now(after.actual_start), "{label}");
                    assert_eq!(after.actual_end, None);
                    assert_eq!(after_officer.status, OfficerStatus::OnTask, "{label}");
                    assert!(after_officer.status_changed_at > before_officer.status_changed_at);
                }
                (InProgress, Paused) => {
                    assert!(close_to_now(after.paused_at), "{label}");
                    assert_eq!(after.paused_seconds, 0);
                    assert_eq!(after.actual_start, before.actual_start);
                    assert_eq!(after_officer.status, OfficerStatus::OnTask, "{label}: still on task");
                }
                (Paused, InProgress) => {
                    assert_eq!(after.paused_at, None, "{label}");
                    assert!((90..100).contains(&after.paused_seconds), "{label}: {}", after.paused_seconds);
                    assert_eq!(after.actual_start, before.actual_start);
                    assert_eq!(after_officer.status, OfficerStatus::OnTask);
                }
                (InProgress | Paused, Completed) => {
                    assert!(close_to_now(after.actual_end), "{label}");
                    assert_eq!(after.paused_at, None);
                    let paused = if *from == Paused { 90 } else { 0 };
                    assert!((paused..paused + 10).contains(&after.paused_seconds), "{label}: {}", after.paused_seconds);
                    let expected =
                        (after.actual_end.unwrap() - after.actual_start.unwrap()).num_seconds() - after.paused_seconds;
                    assert_eq!(detail.duration_seconds, Some(expected.max(0)), "{label}");
                    assert_eq!(after_officer.status, OfficerStatus::Available, "{label}: freed");
                }
                (_, Cancelled) => {
                    assert_eq!(last.reason.as_deref(), Some("Motivo de prueba"));
                    assert_eq!(after.paused_at, None);
                    assert_eq!(after.actual_end.is_some(), after.actual_start.is_some(), "{label}");
                    assert_eq!(after_officer.status, OfficerStatus::Available, "{label}: freed");
                }
                _ => unreachable!("{label}"),
            }
        }
    }
    assert_chain_intact(app).await;
}
on_both_backends!(every_transition_pair);

async fn cancel_needs_a_reason(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let task = create(&c, NewTask::new("Cancelar sin motivo", TaskType::Training)).await;
    let audit_before = audit_count(app).await;
    for reason in [None, Some("   ".to_owned())] {
        let err =
            services::tasks::transition(&app.state, &c.supervisor, &meta(), task.id, TaskStatus::Cancelled, reason)
                .await
                .unwrap_err();
        match err {
            AppError::Validation(fields) => assert_eq!(fields[0].field, "reason"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
    assert_eq!(task_row(app, task.id).await.status, TaskStatus::Scheduled);
    assert_eq!(history(app, task.id).await.len(), 1);
    assert_eq!(audit_count(app).await, audit_before);
    // The same through the server function, with its Spanish message.
    let err = call_as(&app.state, Some(c.admin.clone()), || transition_task(task.id, TaskStatus::Cancelled, None))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(err.fields[0].message, "Indique el motivo de la cancelación.");
    let ok = call_as(&app.state, Some(c.admin.clone()), || {
        transition_task(task.id, TaskStatus::Cancelled, Some("Suspendida por lluvia".into()))
    })
    .await
    .unwrap();
    assert_eq!(ok.status, TaskStatus::Cancelled);
    assert_eq!(ok.history.last().unwrap().reason.as_deref(), Some("Suspendida por lluvia"));
}
on_both_backends!(cancel_needs_a_reason);

/// An officer operates only tasks assigned to them; others do not exist for them.
async fn officers_operate_only_their_tasks(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let me = c.officer.officer_id.unwrap();
    let mut mine = NewTask::new("Tarea del efectivo 1", TaskType::Patrol);
    mine.officer_ids = vec![me];
    let mine = create(&c, mine).await;
    let mut theirs = NewTask::new("Tarea del efectivo 2", TaskType::Patrol);
    theirs.officer_ids = vec![c.other_officer.officer_id.unwrap()];
    let theirs = create(&c, theirs).await;

    let as_officer = |id: i64, to: TaskStatus, reason: Option<String>| {
        let state = app.state.clone();
        let officer = c.officer.clone();
        async move { call_as(&state, Some(officer), || transition_task(id, to, reason)).await }
    };
    // Someone else's task: not found, and unchanged.
    assert_eq!(as_officer(theirs.id, TaskStatus::InProgress, None).await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(task_row(app, theirs.id).await.status, TaskStatus::Scheduled);
    // Their own: start, pause, resume, complete.
    for to in [TaskStatus::InProgress, TaskStatus::Paused, TaskStatus::InProgress] {
        let d = as_officer(mine.id, to, None).await.unwrap();
        assert_eq!(d.status, to);
        assert_eq!(d.history.last().unwrap().by_user_id, Some(c.officer.user_id));
    }
    // Cancelling is for supervisors, even on their own task.
    let err = as_officer(mine.id, TaskStatus::Cancelled, Some("No puedo".into())).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden);
    let d = as_officer(mine.id, TaskStatus::Completed, None).await.unwrap();
    assert_eq!(d.status, TaskStatus::Completed);
    assert!(d.duration_seconds.is_some());
    // A read-only token cannot operate even its own tasks.
    let mut again = NewTask::new("Otra del efectivo 1", TaskType::Patrol);
    again.officer_ids = vec![me];
    let again = create(&c, again).await;
    let read_only = Actor { read_only: true, ..c.officer.clone() };
    let err = services::tasks::transition(&app.state, &read_only, &meta(), again.id, TaskStatus::InProgress, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_chain_intact(app).await;
}
on_both_backends!(officers_operate_only_their_tasks);

/// An officer on two active tasks stays on task until the last one ends.
async fn officers_stay_busy_while_another_task_is_active(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let officer = new_officer(app, "OCUPADO-1").await;
    let mut ids = Vec::new();
    for title in ["Primera tarea activa", "Segunda tarea activa"] {
        let mut new = NewTask::new(title, TaskType::Surveillance);
        new.officer_ids = vec![officer];
        let t = create(&c, new).await;
        go(&c, t.id, TaskStatus::InProgress).await.unwrap();
        ids.push(t.id);
    }
    assert_eq!(officer_row(app, officer).await.status, OfficerStatus::OnTask);
    go(&c, ids[0], TaskStatus::Completed).await.unwrap();
    assert_eq!(officer_row(app, officer).await.status, OfficerStatus::OnTask, "still on the second task");
    go(&c, ids[1], TaskStatus::Paused).await.unwrap();
    assert_eq!(officer_row(app, officer).await.status, OfficerStatus::OnTask, "a paused task is still active");
    go(&c, ids[1], TaskStatus::Cancelled).await.unwrap();
    assert_eq!(officer_row(app, officer).await.status, OfficerStatus::Available);

    // Officers off duty are left alone when a task ends.
    let off = new_officer(app, "LIBRE-1").await;
    let mut new = NewTask::new("Tarea con efectivo fuera de servicio", TaskType::Surveillance);
    new.officer_ids = vec![off];
    let t = create(&c, new).await;
    go(&c, t.id, TaskStatus::InProgress).await.unwrap();
    let mut row: officers::ActiveModel = officer_row(app, off).await.into();
    row.status = Set(OfficerStatus::OffDuty);
    row.update(&app.state.db).await.unwrap();
    go(&c, t.id, TaskStatus::Completed).await.unwrap();
    assert_eq!(officer_row(app, off).await.status, OfficerStatus::OffDuty);
}
on_both_backends!(officers_stay_busy_while_another_task_is_active);

/// Who a signed-in user is stays cached across the writes of an operations room (a task's
/// lifecycle, a position report): every request would otherwise read its user again after
/// each. Any other write drops the cached actors at once (the role test in `auth.rs` shows it
/// from the outside), and the task views still follow every write.
async fn task_writes_keep_the_cached_actors(backend: Backend) {
    let c = ctx(backend).await;
    let state = &c.app.state;
    let officer = c.officer.officer_id.unwrap();
    let accounts = state.events.account_generation();
    let views = state.events.task_generation();
    let mut new = NewTask::new("Tarea que no toca cuentas", TaskType::Patrol);
    new.officer_ids = vec![officer];
    let t = create(&c, new).await;
    services::sla::acknowledge(state, &c.officer, &meta(), t.id).await.unwrap();
    for to in [TaskStatus::InProgress, TaskStatus::Paused, TaskStatus::InProgress, TaskStatus::Completed] {
        go(&c, t.id, to).await.unwrap();
    }
    services::officers::update_position(
        state,
        &c.officer,
        &meta(),
        officer,
        -34.6,
        -58.4,
        None,
        PositionSource::Web,
        None,
    )
    .await
    .unwrap();
    assert_eq!(state.events.account_generation(), accounts, "a task's writes leave the cached actors valid");
    assert!(state.events.task_generation() > views, "the task views follow them");

    let supervisor = c.supervisor.user_id;
    services::users::set_active(state, &c.admin, &meta(), supervisor, false).await.unwrap();
    assert!(state.events.account_generation() > accounts, "an account's change drops the cached actors");
    let err = services::auth::actor_for_user(state, supervisor, Channel::Web).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthenticated, "and applies to the next request");
}
on_both_backends!(task_writes_keep_the_cached_actors);

/// Two concurrent starts of one task: exactly one wins, the other is a conflict.
async fn concurrent_transitions_serialise(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    for round in 0..3 {
        let task = create(&c, NewTask::new(format!("Carrera {round}"), TaskType::Patrol)).await;
        let calls = (0..2).map(|_| {
            let state = app.state.clone();
            let actor = c.supervisor.clone();
            tokio::spawn(async move {
                services::tasks::transition(&state, &actor, &meta(), task.id, TaskStatus::InProgress, None).await
            })
        });
        let results: Vec<_> = futures_join(calls.collect()).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}: {results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(AppError::Conflict(_)))));
        assert_eq!(history(app, task.id).await.len(), 2, "one creation and one start");
    }
    assert_chain_intact(app).await;
}
on_both_backends!(concurrent_transitions_serialise);

/// Two tasks that share officers, assigned in opposite orders, resumed at the same moment
/// again and again: each start puts both officers on task, and neither waits forever for
/// the other (the officers' rows are locked in id order, whatever the assignment order).
async fn tasks_sharing_officers_resume_together(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let (a, b) = (new_officer(app, "COMPARTIDO-A").await, new_officer(app, "COMPARTIDO-B").await);
    let mut ids = Vec::new();
    for (title, officers) in [("Compartida uno", vec![a, b]), ("Compartida dos", vec![b, a])] {
        let mut new = NewTask::new(title, TaskType::Patrol);
        new.officer_ids = officers;
        new.allow_overlap = true;
        let t = create(&c, new).await;
        go(&c, t.id, TaskStatus::InProgress).await.unwrap();
        ids.push(t.id);
    }
    for round in 0..8 {
        for &id in &ids {
            go(&c, id, TaskStatus::Paused).await.unwrap();
        }
        for &officer in &[a, b] {
            let mut row: officers::ActiveModel = officer_row(app, officer).await.into();
            row.status = Set(OfficerStatus::Available);
            row.update(&app.state.db).await.unwrap();
        }
        let calls = ids.iter().map(|&id| {
            let state = app.state.clone();
            let actor = c.supervisor.clone();
            tokio::spawn(async move {
                services::tasks::transition(&state, &actor, &meta(), id, TaskStatus::InProgress, None).await
            })
        });
        let results = tokio::time::timeout(StdDuration::from_secs(30), futures_join(calls.collect()))
            .await
            .expect("the two resumes finish");
        assert!(results.iter().all(Result::is_ok), "round {round}: {results:?}");
        for &officer in &[a, b] {
            assert_eq!(officer_row(app, officer).await.status, OfficerStatus::OnTask, "round {round}");
        }
    }
}
on_both_backends!(tasks_sharing_officers_resume_together);

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

// ------------------------------------------------------------------------ create and update

async fn create_validates_and_generates_codes(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let fields = |e: AppError| match e {
        AppError::Validation(f) => f.into_iter().map(|f| f.field).collect::<Vec<_>>(),
        other => panic!("expected a validation error, got {other:?}"),
    };
    let start = Utc::now() + Duration::days(30);
    let mut bad = NewTask::new("ab", TaskType::Patrol);
    bad.code = Some("patrol-1".into());
    bad.scheduled_start = Some(start);
    bad.scheduled_end = Some(start - Duration::hours(1));
    bad.lat = Some(-34.6);
    bad.officer_ids = vec![999_999];
    bad.description = Some("x".repeat(5001));
    let err = services::tasks::create(state, &c.supervisor, &meta(), bad).await.unwrap_err();
    let mut got = fields(err);
    got.sort();
    assert_eq!(got, ["code", "description", "lon", "officer_ids", "scheduled_end", "title"]);
    let mut far = NewTask::new("Fuera de rango", TaskType::Patrol);
    far.lat = Some(95.0);
    far.lon = Some(-58.0);
    assert_eq!(fields(services::tasks::create(state, &c.supervisor, &meta(), far).await.unwrap_err()), ["lat"]);

    // Generated codes: <TYPE>-<YEAR>-<SEQ>, following the demo's.
    let year = Utc::now().with_timezone(&state.config.timezone).format("%Y").to_string();
    let a = create(&c, NewTask::new("Primera investigación", TaskType::Investigation)).await;
    let b = create(&c, NewTask::new("Segunda investigación", TaskType::Investigation)).await;
    let seq = |code: &str| code.rsplit('-').next().unwrap().parse::<u32>().unwrap();
    assert!(a.code.starts_with(&format!("INV-{year}-")), "{}", a.code);
    assert_eq!(seq(&b.code), seq(&a.code) + 1);

    // A code given by hand that looks generated moves the counter past it: no later
    // generated code collides with it.
    let mut ahead = NewTask::new("Código adelantado", TaskType::Investigation);
    ahead.code = Some(format!("INV-{year}-0500"));
    create(&c, ahead).await;
    let after = create(&c, NewTask::new("Tras el código adelantado", TaskType::Investigation)).await;
    assert_eq!(after.code, format!("INV-{year}-0501"));
    // Concurrent creations of one type never share a code.
    let audit_meta = meta();
    let many = futures::future::join_all((0..8).map(|n| {
        let new = NewTask::new(format!("Simultánea {n}"), TaskType::Investigation);
        services::tasks::create(state, &c.supervisor, &audit_meta, new)
    }))
    .await;
    let mut codes: Vec<String> = many.into_iter().map(|r| r.unwrap().code).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 8, "{codes:?}");

    // A given code is kept; a repeated one is a conflict.
    let mut given = NewTask::new("Con código propio", TaskType::Training);
    given.code = Some("CAP-ESPECIAL-01".into());
    let given = create(&c, given).await;
    assert_eq!(given.code, "CAP-ESPECIAL-01");
    let mut again = NewTask::new("Código repetido", TaskType::Training);
    again.code = Some("CAP-ESPECIAL-01".into());
    let err = services::tasks::create(state, &c.supervisor, &meta(), again).await.unwrap_err();
    assert!(matches!(&err, AppError::Conflict(m) if m.contains("CAP-ESPECIAL-01")), "{err:?}");

    // The delegado defaults to a supervisor creator; an admin names one or none.
    assert_eq!(a.supervisor_id, Some(c.supervisor.user_id));
    assert_eq!(a.supervisor.as_deref(), Some("Laura Gómez"));
    let by_admin =
        services::tasks::create(state, &c.admin, &meta(), NewTask::new("Del admin", TaskType::Administrative))
            .await
            .unwrap();
    assert_eq!(by_admin.supervisor_id, None);
    let mut bad_supervisor = NewTask::new("Delegado efectivo", TaskType::Administrative);
    bad_supervisor.supervisor_id = Some(c.officer.user_id);
    assert_eq!(
        fields(services::tasks::create(state, &c.admin, &meta(), bad_supervisor).await.unwrap_err()),
        ["supervisor_id"]
    );

    // The creation: history row None → scheduled, audit task.create.
    let mut full = NewTask::new("  Operativo completo  ", TaskType::Intervention);
    full.priority = TaskPriority::Urgent;
    full.description = Some("Descripción".into());
    full.scheduled_start = Some(start);
    full.scheduled_end = Some(start + Duration::hours(2));
    full.lat = Some(-34.6);
    full.lon = Some(-58.4);
    full.location_text = Some("Obelisco".into());
    full.officer_ids = vec![officer_id(app, "EF-006").await];
    let d = create(&c, full).await;
    assert_eq!(d.title, "Operativo completo");
    assert_eq!(d.status, TaskStatus::Scheduled);
    assert_eq!(d.assignments.len(), 1);
    assert_eq!(d.assignments[0].code, "EF-006");
    assert_eq!(d.assignments[0].name, "Sofía Medina");
    assert!(!d.assignments[0].overlap_override);
    assert_eq!(d.history.len(), 1);
    assert_eq!((d.history[0].from, d.history[0].to), (None, TaskStatus::Scheduled));
    assert_eq!(d.history[0].by.as_deref(), Some("Laura Gómez"));
    assert_eq!(d.scheduled_start_local, Some(services::local_time(start, state.config.timezone)));
    let entry = last_audit(app).await;
    assert_eq!((entry.action.as_str(), entry.resource_type.as_str()), ("task.create", "task"));
    assert_eq!(entry.after_value.as_ref().unwrap()["task"]["title"], "Operativo completo");
    assert_eq!(entry.user_id, Some(c.supervisor.user_id));
    assert_chain_intact(app).await;
}
on_both_backends!(create_validates_and_generates_codes);

async fn update_changes_only_given_fields(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let mut new = NewTask::new("Antes del cambio", TaskType::Patrol);
    new.description = Some("Texto original".into());
    new.notes = Some("Nota".into());
    let task = create(&c, new).await;

    let changes = TaskUpdate {
        title: Some("Después del cambio".into()),
        description: Some(None),
        priority: Some(TaskPriority::High),
        ..Default::default()
    };
    let d = services::tasks::update(state, &c.supervisor, &meta(), task.id, changes).await.unwrap();
    assert_eq!(d.title, "Después del cambio");
    assert_eq!(d.description, None);
    assert_eq!(d.priority, TaskPriority::High);
    assert_eq!(d.notes.as_deref(), Some("Nota"), "untouched");
    assert_eq!(d.task_type, TaskType::Patrol, "untouched");
    let entry = last_audit(app).await;
    assert_eq!(entry.action, "task.update");
    assert_eq!(entry.before_value.as_ref().unwrap()["title"], "Antes del cambio");
    assert_eq!(entry.after_value.as_ref().unwrap()["title"], "Después del cambio");
    assert_eq!(entry.after_value.as_ref().unwrap()["description"], serde_json::Value::Null);
    // The audit keeps what changed (and the code), not two copies of the task.
    for value in [&entry.before_value, &entry.after_value] {
        let fields = value.as_ref().unwrap().as_object().unwrap();
        let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "description", "priority", "title"]);
        assert_eq!(fields["code"], task.code.as_str());
    }

    // JSON `null` clears, an absent field is left alone (what the dashboard sends).
    let parsed: TaskUpdate = serde_json::from_str(r#"{"notes": null}"#).unwrap();
    assert_eq!(parsed, TaskUpdate { notes: Some(None), ..Default::default() });

    // Schedule rules hold against the stored values too.
    let start = Utc::now() + Duration::days(40);
    let ok = TaskUpdate { scheduled_start: Some(Some(start)), ..Default::default() };
    services::tasks::update(state, &c.supervisor, &meta(), task.id, ok).await.unwrap();
    let bad = TaskUpdate { scheduled_end: Some(Some(start - Duration::minutes(1))), ..Default::default() };
    let err = services::tasks::update(state, &c.supervisor, &meta(), task.id, bad).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation);
    let bad = TaskUpdate { lon: Some(Some(-58.0)), ..Default::default() };
    assert_eq!(
        services::tasks::update(state, &c.supervisor, &meta(), task.id, bad).await.unwrap_err().code(),
        ErrorCode::Validation
    );

    // Final tasks are not edited.
    go(&c, task.id, TaskStatus::Cancelled).await.unwrap();
    let before = task_row(app, task.id).await;
    let err = services::tasks::update(
        state,
        &c.supervisor,
        &meta(),
        task.id,
        TaskUpdate { title: Some("Tarde".into()), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, AppError::Conflict(m) if m.contains("cancelada")), "{err:?}");
    assert_eq!(task_row(app, task.id).await, before);
    assert_chain_intact(app).await;
}
on_both_backends!(update_changes_only_given_fields);

// ------------------------------------------------------------------ permissions by role

/// Each role against each server function, called through the harness as the bot does.
async fn roles_against_server_functions(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let me = c.officer.officer_id.unwrap();
    let spare = new_officer(app, "ROL-1").await;

    let roles: [(&str, Option<Actor>); 4] = [
        ("officer", Some(c.officer.clone())),
        ("supervisor", Some(c.supervisor.clone())),
        ("admin", Some(c.admin.clone())),
        ("anonymous", None),
    ];
    for (name, who) in roles {
        let manager = matches!(name, "supervisor" | "admin");
        // Fresh tasks for each role: one assigned to the officer, one not.
        let mut own = NewTask::new(format!("Propia del efectivo ({name})"), TaskType::Patrol);
        own.officer_ids = vec![me];
        let own = create(&c, own).await;
        let foreign = create(&c, NewTask::new(format!("Ajena al efectivo ({name})"), TaskType::Patrol)).await;
        let expect = |result: Result<(), ErrorCode>, allowed: bool, denied: ErrorCode, what: &str| {
            let wanted = if allowed {
                Ok(())
            } else if who.is_none() {
                Err(ErrorCode::Unauthenticated)
            } else {
                Err(denied)
            };
            assert_eq!(result, wanted, "{name}: {what}");
        };

        let created =
            call_as(state, who.clone(), || create_task(NewTask::new(format!("Creada por {name}"), TaskType::Patrol)))
                .await;
        expect(created.as_ref().map(|_| ()).map_err(|e| e.code), manager, ErrorCode::Forbidden, "create");
        let target = created.map(|d| d.id).unwrap_or(foreign.id);
        let changes = TaskUpdate { notes: Some(Some(format!("Nota de {name}"))), ..Default::default() };
        let r = call_as(state, who.clone(), || update_task(target, changes)).await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::Forbidden, "update");
        let r = call_as(state, who.clone(), || assign_officers(target, vec![spare], false)).await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::Forbidden, "assign");
        let r = call_as(state, who.clone(), || unassign_officer(target, spare)).await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::Forbidden, "unassign");

        // Detail and query: the officer sees their own task only.
        let r = call_as(state, who.clone(), || task_detail(own.id)).await;
        expect(r.map(|_| ()).map_err(|e| e.code), who.is_some(), ErrorCode::Forbidden, "detail of own");
        let r = call_as(state, who.clone(), || task_detail(foreign.id)).await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::NotFound, "detail of foreign");
        let r =
            call_as(state, who.clone(), || query_tasks(TaskFilter { limit: Some(200), ..Default::default() })).await;
        match (&who, r) {
            (None, r) => assert_eq!(r.unwrap_err().code, ErrorCode::Unauthenticated),
            (Some(_), Ok(page)) => {
                let ids: HashSet<i64> = page.items.iter().map(|t| t.id).collect();
                assert!(ids.contains(&own.id), "{name}");
                assert_eq!(ids.contains(&foreign.id), manager, "{name} sees foreign tasks");
                if !manager {
                    assert!(page.items.iter().all(|t| t.officer_ids.contains(&me)), "{name}");
                }
            }
            (Some(_), Err(e)) => panic!("{name} query: {e:?}"),
        }
        if let Some(actor) = &who {
            let csv = services::tasks::export_csv(state, actor, TaskFilter::default()).await.unwrap().text().await;
            let rows = parse_csv(&csv.unwrap());
            assert_eq!(rows.iter().any(|r| r[0] == foreign.code), manager, "{name} exports foreign tasks");
            assert!(rows.iter().any(|r| r[0] == own.code), "{name} exports their own");
        }

        // Transitions: the officer only their own task; cancelling only managers.
        let r = call_as(state, who.clone(), || transition_task(foreign.id, TaskStatus::InProgress, None)).await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::NotFound, "start foreign");
        let r = call_as(state, who.clone(), || transition_task(own.id, TaskStatus::InProgress, None)).await;
        expect(r.map(|_| ()).map_err(|e| e.code), who.is_some(), ErrorCode::Forbidden, "start own");
        let r =
            call_as(state, who.clone(), || transition_task(own.id, TaskStatus::Cancelled, Some("Fin".into()))).await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::Forbidden, "cancel");

        let r = call_as(state, who.clone(), || delete_task(target)).await;
        expect(r.map_err(|e| e.code), manager, ErrorCode::Forbidden, "delete");

        let r = call_as(state, who.clone(), || raise_emergency(-34.6, -58.4, None, EmergencyAssign::default())).await;
        expect(r.map(|_| ()).map_err(|e| e.code), who.is_some(), ErrorCode::Forbidden, "raise emergency");
        let r = call_as(state, who.clone(), || raise_emergency(-34.6, -58.4, None, EmergencyAssign::None)).await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::Forbidden, "rank emergency candidates");
        let r = call_as(state, who.clone(), || raise_emergency(-34.6, -58.4, None, EmergencyAssign::Nearest(3))).await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::Forbidden, "dispatch several");
        let r =
            call_as(state, who.clone(), || raise_emergency(-34.6, -58.4, None, EmergencyAssign::Officers(vec![spare])))
                .await;
        expect(r.map(|_| ()).map_err(|e| e.code), manager, ErrorCode::Forbidden, "emergency with chosen officers");
    }
    assert_chain_intact(app).await;
}
on_both_backends!(roles_against_server_functions);

/// The detail lists officers and history, and offers only what this viewer may do.
async fn detail_offers_the_viewers_transitions(backend: Backend) {
    use TaskStatus::*;
    let c = ctx(backend).await;
    let app = &c.app;
    let mut new = NewTask::new("Detalle de tarea", TaskType::Patrol);
    new.officer_ids = vec![c.officer.officer_id.unwrap(), officer_id(app, "EF-003").await];
    let task = create(&c, new).await;
    let view = |who: &Actor| {
        let (state, who) = (app.state.clone(), who.clone());
        async move { services::tasks::detail(&state, &who, task.id).await }
    };
    assert_eq!(view(&c.supervisor).await.unwrap().allowed_transitions, [InProgress, Cancelled]);
    assert_eq!(view(&c.officer).await.unwrap().allowed_transitions, [InProgress]);
    assert!(view(&c.supervisor).await.unwrap().can_manage);
    assert!(!view(&c.officer).await.unwrap().can_manage);
    assert_eq!(code_of(view(&c.other_officer).await), ErrorCode::NotFound);
    go(&c, task.id, InProgress).await.unwrap();
    assert_eq!(view(&c.admin).await.unwrap().allowed_transitions, [Paused, Completed, Cancelled]);
    assert_eq!(view(&c.officer).await.unwrap().allowed_transitions, [Paused, Completed]);
    go(&c, task.id, Completed).await.unwrap();
    let d = view(&c.officer).await.unwrap();
    assert!(d.allowed_transitions.is_empty());
    let codes: Vec<&str> = d.assignments.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, ["EF-001", "EF-003"]);
    let statuses: Vec<OfficerStatus> = d.assignments.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [OfficerStatus::OnTask, OfficerStatus::Available], "EF-001 is still on a demo task");
    let steps: Vec<(Option<TaskStatus>, TaskStatus)> = d.history.iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(steps, [(None, Scheduled), (Some(Scheduled), InProgress), (Some(InProgress), Completed)]);
    assert!(d.history.windows(2).all(|w| w[0].at <= w[1].at), "newest last");
    assert!(d.history.iter().all(|h| h.by.as_deref() == Some("Laura Gómez")));
    assert!(d.actual_end_local.is_some());
}
on_both_backends!(detail_offers_the_viewers_transitions);

// ------------------------------------------------------------------- assignments, overlaps

async fn overlaps_need_an_override(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let officer = new_officer(app, "SUPERPUESTO-1").await;
    let start = Utc::now() + Duration::days(10);
    let slot = |from_h: i64, to_h: i64, title: &str| {
        let mut t = NewTask::new(title, TaskType::Surveillance);
        t.scheduled_start = Some(start + Duration::hours(from_h));
        t.scheduled_end = Some(start + Duration::hours(to_h));
        t
    };
    let mut first = slot(0, 4, "Turno base");
    first.officer_ids = vec![officer];
    create(&c, first).await;

    // Creating an overlapping task with the same officer: refused, nothing written.
    let tasks_before = tasks::Entity::find().count(&state.db).await.unwrap();
    let audit_before = audit_count(app).await;
    let mut clash = slot(2, 6, "Turno superpuesto");
    clash.officer_ids = vec![officer];
    let err = services::tasks::create(state, &c.supervisor, &meta(), clash.clone()).await.unwrap_err();
    assert!(matches!(&err, AppError::Conflict(m) if m.contains("otra tarea")), "{err:?}");
    assert_eq!(tasks::Entity::find().count(&state.db).await.unwrap(), tasks_before);
    assert_eq!(audit_count(app).await, audit_before);
    // With the override: accepted and recorded.
    clash.allow_overlap = true;
    let d = create(&c, clash).await;
    assert!(d.assignments[0].overlap_override);
    assert!(d.history[0].reason.as_deref().unwrap().contains("SUPERPUESTO-1"), "{:?}", d.history);

    // Assigning later: the same rule.
    let later = create(&c, slot(3, 5, "Turno asignado luego")).await;
    let err = services::tasks::assign(state, &c.supervisor, &meta(), later.id, vec![officer], false).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(
        task_assignments::Entity::find()
            .filter(task_assignments::Column::TaskId.eq(later.id))
            .one(&state.db)
            .await
            .unwrap()
            .is_none()
    );
    let d = services::tasks::assign(state, &c.supervisor, &meta(), later.id, vec![officer], true).await.unwrap();
    assert!(d.assignments[0].overlap_override);
    let last = d.history.last().unwrap();
    assert_eq!((last.from, last.to), (Some(TaskStatus::Scheduled), TaskStatus::Scheduled));
    assert!(last.reason.as_deref().unwrap().contains("Superposición"));
    assert_eq!(last_audit(app).await.action, "task.assign");

    // Rescheduling onto the officer's slot: refused.
    let mut apart = slot(10, 12, "Turno aparte");
    apart.officer_ids = vec![officer];
    let apart = create(&c, apart).await;
    let onto = TaskUpdate { scheduled_start: Some(Some(start + Duration::hours(1))), ..Default::default() };
    let err = services::tasks::update(state, &c.supervisor, &meta(), apart.id, onto).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(task_row(app, apart.id).await.scheduled_start, apart.scheduled_start);

    // Unassign, then the slot is free; unknown or deleted officers are refused.
    services::tasks::unassign(state, &c.supervisor, &meta(), later.id, officer).await.unwrap();
    let err = services::tasks::unassign(state, &c.supervisor, &meta(), later.id, officer).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    let gone = new_officer(app, "BORRADO-1").await;
    let mut row: officers::ActiveModel = officer_row(app, gone).await.into();
    row.deleted_at = Set(Some(Utc::now()));
    row.update(&state.db).await.unwrap();
    let err = services::tasks::assign(state, &c.supervisor, &meta(), later.id, vec![gone], false).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation);
    assert_chain_intact(app).await;
}
on_both_backends!(overlaps_need_an_override);

/// Assigning to a task being worked on puts the officer on task; unassigning frees them.
async fn assignment_follows_the_task_state(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let a = new_officer(app, "ASIG-A").await;
    let b = new_officer(app, "ASIG-B").await;
    let mut new = NewTask::new("Tarea en curso", TaskType::Patrol);
    new.officer_ids = vec![a];
    let task = create(&c, new).await;
    go(&c, task.id, TaskStatus::InProgress).await.unwrap();
    let d = services::tasks::assign(state, &c.supervisor, &meta(), task.id, vec![a, b], false).await.unwrap();
    assert_eq!(d.assignments.len(), 2, "the already assigned officer is not duplicated");
    assert_eq!(officer_row(app, b).await.status, OfficerStatus::OnTask);
    services::tasks::unassign(state, &c.supervisor, &meta(), task.id, b).await.unwrap();
    assert_eq!(officer_row(app, b).await.status, OfficerStatus::Available);
    go(&c, task.id, TaskStatus::Completed).await.unwrap();
    let err = services::tasks::assign(state, &c.supervisor, &meta(), task.id, vec![b], false).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "no assignments on final tasks");
    let err = services::tasks::unassign(state, &c.supervisor, &meta(), task.id, a).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
}
on_both_backends!(assignment_follows_the_task_state);

// ---------------------------------------------------------------------------- soft delete

async fn deleted_tasks_are_invisible(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let officer = new_officer(app, "BORRAR-1").await;
    let mut new = NewTask::new("Tarea a borrar zzqx", TaskType::Patrol);
    new.officer_ids = vec![officer, c.officer.officer_id.unwrap()];
    let task = create(&c, new).await;
    go(&c, task.id, TaskStatus::InProgress).await.unwrap();
    assert_eq!(officer_row(app, officer).await.status, OfficerStatus::OnTask);

    services::tasks::delete(state, &c.supervisor, &meta(), task.id).await.unwrap();
    assert!(task_row(app, task.id).await.deleted_at.is_some());
    assert_eq!(officer_row(app, officer).await.status, OfficerStatus::Available, "freed like on cancel");
    assert_eq!(last_audit(app).await.action, "task.delete");

    for who in [&c.admin, &c.supervisor, &c.officer] {
        assert_eq!(code_of(services::tasks::detail(state, who, task.id).await), ErrorCode::NotFound);
        let page =
            services::tasks::query(state, who, TaskFilter { limit: Some(200), ..Default::default() }).await.unwrap();
        assert!(page.items.iter().all(|t| t.id != task.id));
        let found = services::tasks::query(state, who, TaskFilter { text: Some("zzqx".into()), ..Default::default() })
            .await
            .unwrap();
        assert!(found.items.is_empty());
        let csv = services::tasks::export_csv(state, who, TaskFilter::default()).await.unwrap().text().await.unwrap();
        assert!(!csv.contains("zzqx"));
    }
    for scope in [TaskScope::Mine, TaskScope::All] {
        let listed = services::tasks::list(state, &c.supervisor, scope).await.unwrap();
        assert!(listed.iter().all(|t| t.id != task.id));
    }
    assert_eq!(code_of(go(&c, task.id, TaskStatus::Completed).await), ErrorCode::NotFound);
    assert_eq!(code_of(services::tasks::delete(state, &c.supervisor, &meta(), task.id).await), ErrorCode::NotFound);
    let update = TaskUpdate { title: Some("Nuevo".into()), ..Default::default() };
    assert_eq!(
        code_of(services::tasks::update(state, &c.supervisor, &meta(), task.id, update).await),
        ErrorCode::NotFound
    );
    assert_chain_intact(app).await;
}
on_both_backends!(deleted_tasks_are_invisible);

// -------------------------------------------------------------------------------- queries

async fn all_pages(state: &gad_core::state::AppState, who: &Actor, filter: TaskFilter) -> Vec<TaskSummary> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = services::tasks::query(state, who, TaskFilter { cursor, ..filter.clone() }).await.unwrap();
        assert!(page.items.len() <= filter.limit.unwrap_or(50) as usize);
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn ids(items: &[TaskSummary]) -> Vec<i64> {
    items.iter().map(|t| t.id).collect()
}

async fn query_filters_sorts_and_pages(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let tz = state.config.timezone;
    // 30 more tasks: varied types, priorities and schedules, some without a schedule, some
    // sharing a start time (ties are broken by id).
    let base = tz.with_ymd_and_hms(2031, 5, 10, 9, 0, 0).unwrap().with_timezone(&Utc);
    let types = [TaskType::Patrol, TaskType::Investigation, TaskType::Training];
    for i in 0..30_i64 {
        let mut t = NewTask::new(format!("Consulta número {i:02}"), types[i as usize % 3]);
        t.priority = TaskPriority::ALL[i as usize % 5];
        if i % 4 != 0 {
            t.scheduled_start = Some(base + Duration::hours(6 * (i / 2)));
        }
        t.description = (i == 7).then(|| "Cerca de la PLAZA San Martín 100% segura".to_owned());
        create(&c, t).await;
    }
    let all = services::tasks::query(state, &c.admin, TaskFilter { limit: Some(200), ..Default::default() })
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 40);

    // Every sort, both directions, walked in pages of 7: the same rows as one big page, in order.
    for sort in [TaskSort::ScheduledStart, TaskSort::Priority, TaskSort::CreatedAt, TaskSort::Code, TaskSort::Due] {
        for descending in [false, true] {
            let label = format!("{sort:?} desc={descending}");
            let filter = TaskFilter { sort, descending, limit: Some(7), ..Default::default() };
            let walked = all_pages(state, &c.supervisor, filter.clone()).await;
            let one =
                services::tasks::query(state, &c.supervisor, TaskFilter { limit: Some(200), ..filter }).await.unwrap();
            assert_eq!(ids(&walked), ids(&one.items), "{label}");
            assert_eq!(walked.len(), 40, "{label}: no gaps");
            assert_eq!(ids(&walked).into_iter().collect::<HashSet<_>>().len(), 40, "{label}: no duplicates");
            for w in walked.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                let ordered = match sort {
                    TaskSort::ScheduledStart => match (a.scheduled_start_at, b.scheduled_start_at) {
                        (Some(x), Some(y)) => {
                            if descending {
                                x >= y
                            } else {
                                x <= y
                            }
                        }
                        (Some(_), None) => true,
                        (None, Some(_)) => false,
                        (None, None) => true,
                    },
                    TaskSort::Due => match (a.sla_due_at, b.sla_due_at) {
                        (Some(x), Some(y)) => {
                            if descending {
                                x >= y
                            } else {
                                x <= y
                            }
                        }
                        (Some(_), None) => true,
                        (None, Some(_)) => false,
                        (None, None) => true,
                    },
                    TaskSort::Priority => {
                        if descending {
                            a.priority >= b.priority
                        } else {
                            a.priority <= b.priority
                        }
                    }
                    TaskSort::CreatedAt => {
                        if descending {
                            a.created_at >= b.created_at
                        } else {
                            a.created_at <= b.created_at
                        }
                    }
                    TaskSort::Code => {
                        if descending {
                            a.code >= b.code
                        } else {
                            a.code <= b.code
                        }
                    }
                };
                assert!(ordered, "{label}: {} before {}", a.code, b.code);
            }
        }
    }

    // Stable under inserts: rows added while walking never duplicate or hide others.
    let filter = TaskFilter { sort: TaskSort::CreatedAt, limit: Some(6), ..Default::default() };
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut inserted = 0;
    loop {
        let page = services::tasks::query(state, &c.admin, TaskFilter { cursor, ..filter.clone() }).await.unwrap();
        seen.extend(ids(&page.items));
        if inserted < 3 {
            create(&c, NewTask::new(format!("Insertada durante el recorrido {inserted}"), TaskType::Patrol)).await;
            inserted += 1;
        }
        match page.next_cursor {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert!(ids(&all).iter().all(|id| unique.contains(id)), "no gaps");
    assert_eq!(seen.len(), 43, "rows created later (newest) come at the end");

    // A cursor belongs to its query.
    let first =
        services::tasks::query(state, &c.admin, TaskFilter { limit: Some(5), ..Default::default() }).await.unwrap();
    let wrong = TaskFilter { sort: TaskSort::Code, cursor: first.next_cursor.clone(), ..Default::default() };
    assert_eq!(code_of(services::tasks::query(state, &c.admin, wrong).await), ErrorCode::Validation);
    let garbage = TaskFilter { cursor: Some("zz-not-hex".into()), ..Default::default() };
    assert_eq!(code_of(services::tasks::query(state, &c.admin, garbage).await), ErrorCode::Validation);
    // Page size is kept within 1–200.
    let one =
        services::tasks::query(state, &c.admin, TaskFilter { limit: Some(0), ..Default::default() }).await.unwrap();
    assert_eq!(one.items.len(), 1);
    let default = services::tasks::query(state, &c.admin, TaskFilter::default()).await.unwrap();
    assert_eq!(default.items.len(), 43);

    // Filters.
    let q = |filter: TaskFilter| all_pages(state, &c.admin, TaskFilter { limit: Some(200), ..filter });
    let several =
        q(TaskFilter { statuses: vec![TaskStatus::InProgress, TaskStatus::Paused], ..Default::default() }).await;
    assert_eq!(several.len(), 2, "the demo has one in progress and one paused");
    assert!(several.iter().all(|t| t.status.is_active()));
    let training = q(TaskFilter { task_type: Some(TaskType::Training), ..Default::default() }).await;
    assert_eq!(training.len(), 10 + 1, "ten created, one demo");
    assert!(training.iter().all(|t| t.task_type == TaskType::Training));
    let critical = q(TaskFilter { priority: Some(TaskPriority::Critical), ..Default::default() }).await;
    assert!(critical.iter().all(|t| t.priority == TaskPriority::Critical) && critical.len() == 6 + 1);
    let by_admin = services::tasks::create(state, &c.admin, &meta(), NewTask::new("Sin delegado", TaskType::Patrol))
        .await
        .unwrap();
    let supervised = q(TaskFilter { supervisor_id: Some(c.supervisor.user_id), ..Default::default() }).await;
    assert_eq!(supervised.len(), 43);
    assert!(supervised.iter().all(|t| t.id != by_admin.id));
    let ef3 = officer_id(app, "EF-003").await;
    let with_ef3 = q(TaskFilter { officer_id: Some(ef3), ..Default::default() }).await;
    assert_eq!(with_ef3.len(), 2, "EF-003 has two demo tasks");
    assert!(with_ef3.iter().all(|t| t.officer_ids.contains(&ef3)));

    // Date range: whole days in the configured time zone, both ends included.
    let late = tz.with_ymd_and_hms(2031, 5, 9, 23, 30, 0).unwrap().with_timezone(&Utc);
    let mut t = NewTask::new("Tarde del día nueve", TaskType::Patrol);
    t.scheduled_start = Some(late);
    let late_task = create(&c, t).await;
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let ninth =
        q(TaskFilter { date_from: Some(day(2031, 5, 9)), date_to: Some(day(2031, 5, 9)), ..Default::default() }).await;
    assert_eq!(ids(&ninth), [late_task.id], "23:30 local on the 9th is the 10th in UTC, still the 9th here");
    let tenth =
        q(TaskFilter { date_from: Some(day(2031, 5, 10)), date_to: Some(day(2031, 5, 10)), ..Default::default() })
            .await;
    // Starts at 09:00, 09:00, 15:00, 15:00, 21:00, 21:00 local on the 10th, minus the unscheduled (i % 4 == 0).
    let expected: Vec<i64> = all
        .iter()
        .filter(|t| t.scheduled_start_at.is_some_and(|s| s.with_timezone(&tz).date_naive() == day(2031, 5, 10)))
        .map(|t| t.id)
        .collect();
    assert_eq!(ids(&tenth).into_iter().collect::<HashSet<_>>(), expected.into_iter().collect::<HashSet<_>>());
    assert!(!tenth.is_empty());
    let range =
        q(TaskFilter { date_from: Some(day(2031, 5, 9)), date_to: Some(day(2031, 5, 12)), ..Default::default() }).await;
    assert!(range.iter().all(|t| {
        let d = t.scheduled_start_at.unwrap().with_timezone(&tz).date_naive();
        d >= day(2031, 5, 9) && d <= day(2031, 5, 12)
    }));
    let backwards =
        TaskFilter { date_from: Some(day(2031, 5, 12)), date_to: Some(day(2031, 5, 9)), ..Default::default() };
    assert_eq!(code_of(services::tasks::query(state, &c.admin, backwards).await), ErrorCode::Validation);

    // Text search: code, title, description; any case; `%` and `_` are literal.
    let found = q(TaskFilter { text: Some("plaza".into()), ..Default::default() }).await;
    let titles: HashSet<&str> = found.iter().map(|t| t.title.as_str()).collect();
    assert!(titles.contains("Vigilancia Plaza de Mayo"), "{titles:?}");
    assert!(titles.contains("Consulta número 07"), "matched in the description: {titles:?}");
    assert!(titles.contains("Control de disturbios en Recoleta"), "description 'Plaza Francia': {titles:?}");
    assert_eq!(ids(&q(TaskFilter { text: Some("PLAZA".into()), ..Default::default() }).await), ids(&found));
    let by_code = q(TaskFilter { text: Some(all[0].code.to_lowercase()), ..Default::default() }).await;
    assert!(by_code.iter().any(|t| t.id == all[0].id));
    assert_eq!(ids(&q(TaskFilter { text: Some("100%".into()), ..Default::default() }).await).len(), 1);
    assert!(q(TaskFilter { text: Some("1_0".into()), ..Default::default() }).await.is_empty());
    assert!(q(TaskFilter { text: Some("%".into()), ..Default::default() }).await.len() == 1);
    // No match spans two fields (the search column separates them), even with the separator
    // typed into the search.
    let first = &all[0];
    for text in [format!("{} {}", first.code, first.title), format!("{}\u{1}{}", first.code, first.title)] {
        assert!(q(TaskFilter { text: Some(text.clone()), ..Default::default() }).await.is_empty(), "{text:?}");
    }

    // Officers: only their own tasks, whatever the filter asks for.
    let mine = all_pages(state, &c.officer, TaskFilter { limit: Some(1), ..Default::default() }).await;
    let me = c.officer.officer_id.unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|t| t.officer_ids.contains(&me)));
    let theirs = services::tasks::query(state, &c.officer, TaskFilter { officer_id: Some(ef3), ..Default::default() })
        .await
        .unwrap();
    assert!(theirs.items.is_empty());
    let nobody = Actor { officer_id: None, ..c.officer.clone() };
    assert!(services::tasks::query(state, &nobody, TaskFilter::default()).await.unwrap().items.is_empty());
}
on_both_backends!(query_filters_sorts_and_pages);

/// A list page names each task's officers (read in the page's own statement) in the order they
/// were assigned, leaves out deleted ones, and carries any name as written: quotes,
/// backslashes, accents and markup are data, not JSON or SQL.
async fn a_page_names_its_officers_in_assignment_order(backend: Backend) {
    let c = ctx(backend).await;
    let (app, state) = (&c.app, &c.app.state);
    let task = create(&c, NewTask::new("Custodia con nombres raros", TaskType::Surveillance)).await;
    let names = ["O'Brien \"Chino\"", "Ñandú \\ Pérez", "<b>Ana</b> ]}", "Gone"];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let id = new_officer(app, &format!("RARO-{i}")).await;
        let mut row: officers::ActiveModel = officer_row(app, id).await.into();
        row.first_name = Set((*name).to_owned());
        row.last_name = Set(format!("Apellido{i}"));
        row.update(&state.db).await.unwrap();
        ids.push(id);
    }
    // Assigned last first: the order shown is the assignments', not the officers' ids.
    for id in ids.iter().rev() {
        services::tasks::assign(state, &c.supervisor, &meta(), task.id, vec![*id], true).await.unwrap();
    }
    let mut gone: officers::ActiveModel = officer_row(app, ids[3]).await.into();
    gone.deleted_at = Set(Some(Utc::now()));
    gone.update(&state.db).await.unwrap();
    let bare = create(&c, NewTask::new("Sin efectivos", TaskType::Patrol)).await;

    let page =
        services::tasks::query(state, &c.admin, TaskFilter { limit: Some(200), ..Default::default() }).await.unwrap();
    let row = page.items.iter().find(|t| t.id == task.id).unwrap();
    let shown: Vec<i64> = ids[..3].iter().rev().copied().collect();
    assert_eq!(row.officer_ids, shown);
    let expected: Vec<String> = (0..3).rev().map(|i| format!("{} Apellido{i}", names[i])).collect();
    assert_eq!(row.officers, expected);
    let empty = page.items.iter().find(|t| t.id == bare.id).unwrap();
    assert!(empty.officers.is_empty() && empty.officer_ids.is_empty(), "{empty:?}");
}
on_both_backends!(a_page_names_its_officers_in_assignment_order);

/// The plan lines of `query` as the backend explains it (PostgreSQL's `EXPLAIN`, SQLite's
/// `EXPLAIN QUERY PLAN` details), with `settings` (`SET LOCAL …`, PostgreSQL) applied first.
async fn plan_of(
    backend: Backend,
    db: &sea_orm::DatabaseConnection,
    query: sea_orm::Statement,
    settings: &[&str],
) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let txn = db.begin().await.unwrap();
    let explain = match backend {
        Backend::Postgres => {
            for setting in settings {
                txn.execute_unprepared(&format!("SET LOCAL {setting}")).await.unwrap();
            }
            "EXPLAIN "
        }
        Backend::Sqlite => "EXPLAIN QUERY PLAN ",
    };
    let statement = Statement::from_sql_and_values(
        db.get_database_backend(),
        format!("{explain}{}", query.sql),
        query.values.map(|v| v.0).unwrap_or_default(),
    );
    let plan = txn
        .query_all_raw(statement)
        .await
        .unwrap()
        .iter()
        .map(|row| match backend {
            Backend::Postgres => row.try_get_by_index::<String>(0).unwrap(),
            Backend::Sqlite => row.try_get::<String>("", "detail").unwrap(),
        })
        .collect();
    txn.rollback().await.unwrap();
    plan
}

/// The overview's open-task counts read the open tasks' partial index (on PostgreSQL alone,
/// no table rows): the query's condition must keep implying the index's.
async fn open_counts_read_only_their_index(backend: Backend) {
    use sea_orm::QueryTrait;
    let c = ctx(backend).await;
    let db = &c.app.state.db;
    let query = gad_core::services::activity::open_counts_query(
        sea_orm::Condition::all().add(gad_core::entities::tasks::Column::DeletedAt.is_null()),
    )
    .build(db.get_database_backend());
    let plan = plan_of(backend, db, query, &["enable_seqscan = off", "enable_bitmapscan = off"]).await;
    let wanted = match backend {
        Backend::Postgres => "Index Only Scan using tasks_open_idx",
        // SQLite reads the rows the index finds (it checks `deleted_at` again), but only those.
        Backend::Sqlite => "USING INDEX tasks_open_idx",
    };
    assert!(plan.iter().any(|line| line.contains(wanted)), "{plan:#?}");
}
on_both_backends!(open_counts_read_only_their_index);

/// The statistics find their period's tasks through the index on the reference time (the
/// query must keep spelling the expression as the index does) and the completed ones through
/// the index of completed tasks; on PostgreSQL each of the four queries is answered from its
/// index alone (a column read outside the index, or `COUNT(id)`, brings the table back). The
/// overview counts the live officers per status from their status index.
async fn statistics_and_officer_counts_read_their_indexes(backend: Backend) {
    use sea_orm::{ConnectionTrait, QueryTrait};
    let c = ctx(backend).await;
    let db = &c.app.state.db;
    if backend == Backend::Postgres {
        // An index-only scan is planned for the pages the visibility map marks all-visible.
        db.execute_unprepared("VACUUM ANALYZE tasks").await.unwrap();
    }
    let to = Utc::now();
    let live = sea_orm::Condition::all().add(gad_core::entities::tasks::Column::DeletedAt.is_null());
    let q = services::stats::PeriodQueries::new(db.get_database_backend(), live, to - chrono::Duration::days(14), to);
    for (name, query, index) in [
        ("groups", q.groups, "tasks_reference_idx"),
        ("buckets", q.buckets, "tasks_reference_idx"),
        ("ends", q.ends, "tasks_completed_end_idx"),
        ("durations", q.durations, "tasks_completed_end_idx"),
    ] {
        let statement = query.build(db.get_database_backend());
        let plan = plan_of(backend, db, statement, &["enable_seqscan = off", "enable_bitmapscan = off"]).await;
        let wanted = match (backend, index) {
            (Backend::Postgres, _) => format!("Index Only Scan using {index}"),
            // No INCLUDE in SQLite: its reference index is an expression's, read with the rows.
            (Backend::Sqlite, "tasks_reference_idx") => format!("USING INDEX {index}"),
            (Backend::Sqlite, _) => format!("USING COVERING INDEX {index}"),
        };
        assert!(plan.iter().any(|line| line.contains(&wanted)), "{name}: {plan:#?}");
    }

    let officers = gad_core::services::activity::officer_counts_query().build(db.get_database_backend());
    let plan = plan_of(backend, db, officers, &["enable_seqscan = off", "enable_bitmapscan = off"]).await;
    let wanted = match backend {
        Backend::Postgres => "Index Only Scan using officers_live_status_idx",
        // SQLite reads the rows of the live officers the index finds, but only those.
        Backend::Sqlite => "USING INDEX officers_live_status_idx",
    };
    assert!(plan.iter().any(|line| line.contains(wanted)), "{plan:#?}");
}
on_both_backends!(statistics_and_officer_counts_read_their_indexes);

/// Every sort the list offers, in both directions, reads its page in the order of an index
/// over live rows: with sorting priced out, the plan has no sort step (a missing index, or a
/// query expression that drifted from its index's, brings one back).
async fn every_sort_reads_in_index_order(backend: Backend) {
    let c = ctx(backend).await;
    let db = &c.app.state.db;
    // (The officers' subquery orders each task's one or two assignments inside its aggregate:
    // PostgreSQL shows no step for it, SQLite a B-tree "FOR json_group_array(ORDER BY)".)
    let sorts = |line: &str| match backend {
        Backend::Postgres => line.contains("Sort"),
        Backend::Sqlite => line.contains("TEMP B-TREE") && !line.contains("(ORDER BY)"),
    };
    for sort in [TaskSort::ScheduledStart, TaskSort::Priority, TaskSort::CreatedAt, TaskSort::Code] {
        for descending in [false, true] {
            let filter = TaskFilter { sort, descending, ..Default::default() };
            let query = services::tasks::page_query(&c.app.state, &c.admin, &filter, None, 50).unwrap().unwrap();
            let plan = plan_of(backend, db, query, &["enable_sort = off", "enable_seqscan = off"]).await;
            assert!(
                !plan.iter().any(|line| sorts(line)),
                "{sort:?} (descending {descending}) sorts instead of reading an index: {plan:#?}"
            );
        }
    }
}
on_both_backends!(every_sort_reads_in_index_order);

/// On PostgreSQL a page of the list is planned once per connection, not on every call: its
/// prepared statement settles on the generic plan (with the page's LIMIT bound, PostgreSQL
/// priced the generic plan at a tenth of the table and planned every call afresh: 30 % of the
/// bare query's throughput).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_page_is_not_planned_on_every_call() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let c = ctx(Backend::Postgres).await;
    // Enough tasks that a tenth of them is no longer a cheap guess.
    c.app
        .state
        .db
        .execute_unprepared(
            "INSERT INTO tasks (code, title, task_type, priority, status, scheduled_start, supervisor_id, created_by, \
             created_at, updated_at) SELECT 'PL-' || i, 'Carga ' || i, 'patrol', (ARRAY['low','high'])[1 + i % 2], \
             (ARRAY['scheduled','in_progress','completed'])[1 + i % 3], now() + i * interval '1 minute', \
             (SELECT id FROM users WHERE email = 'supervisor@gad.local'), (SELECT id FROM users WHERE role = 'admin' LIMIT 1), \
             now(), now() FROM generate_series(1, 20000) AS i; ANALYZE tasks",
        )
        .await
        .unwrap();
    // The first page each role's dashboard opens on; a filtered page's plan is PostgreSQL's
    // choice (it keeps custom plans where its generic estimate is worse).
    for who in [&c.admin, &c.supervisor] {
        let filter = TaskFilter::default();
        let page = services::tasks::page_query(&c.app.state, who, &filter, None, 50).unwrap().unwrap();
        let txn = c.app.state.db.begin().await.unwrap();
        for _ in 0..8 {
            txn.query_all_raw(page.clone()).await.unwrap();
        }
        let (generic, custom) = common::plans_of(&txn, &page.sql).await;
        assert!(generic >= 3 && custom <= 5, "{:?}: {generic} generic plans, {custom} custom:\n{}", who.role, page.sql);
        txn.rollback().await.unwrap();
    }
}

/// A query planned for its own values (a search, a map's box) answers as any query does and,
/// on PostgreSQL, leaves no prepared statement behind on its connection — so no run of it is
/// ever made with a cached generic plan — where an ordinary query is prepared and kept. A bad
/// statement is an error, not a panic, and leaves the connection usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_planned_for_its_values_is_never_prepared_and_kept() {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    #[derive(Debug, PartialEq, sea_orm::FromQueryResult)]
    struct Row {
        n: i64,
        text: String,
    }
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let url = common::fresh_database(backend).await;
        // One connection, so the catalogue read below is this connection's.
        let mut options = sea_orm::ConnectOptions::new(url);
        options.max_connections(1).min_connections(1).sqlx_logging(false);
        let db = sea_orm::Database::connect(options).await.unwrap();
        let db_backend = db.get_database_backend();
        let (planned, prepared) = match backend {
            Backend::Postgres => ("SELECT $1::bigint + 1 AS n, lower($2) AS text", "SELECT $1::bigint + 2 AS n"),
            Backend::Sqlite => ("SELECT ? + 1 AS n, lower(?) AS text", "SELECT ? + 2 AS n"),
        };
        for i in 0..8_i64 {
            let statement = Statement::from_sql_and_values(db_backend, planned, [i.into(), "Zanjón QUIRNO".into()]);
            let rows: Vec<Row> = gad_core::db::query_planned(&db, statement).await.unwrap();
            assert_eq!(rows, [Row { n: i + 1, text: "zanjón quirno".into() }], "{backend:?}");
            db.query_all_raw(Statement::from_sql_and_values(db_backend, prepared, [i.into()])).await.unwrap();
        }
        let bad = Statement::from_string(db_backend, "SELECT no_such_column FROM tasks");
        let err = gad_core::db::query_planned::<Row>(&db, bad).await.unwrap_err();
        assert!(matches!(err, AppError::Db(_)), "{backend:?}: {err:?}");
        if backend == Backend::Postgres {
            let kept = |sql: &'static str| {
                let db = &db;
                async move {
                    let row = db
                        .query_one_raw(Statement::from_sql_and_values(
                            DatabaseBackend::Postgres,
                            "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                            [sql.into()],
                        ))
                        .await
                        .unwrap()
                        .unwrap();
                    row.try_get_by_index::<i64>(0).unwrap()
                }
            };
            assert_eq!(kept(prepared).await, 1, "an ordinary query is prepared and kept");
            assert_eq!(kept(planned).await, 0, "the planned query was kept prepared");
        }
    }
}

/// On PostgreSQL a search is planned for its own text: a common one reads the list's index in
/// order and filters on the stored search column (no `lower()` per row), a rare one reads the
/// search column's trigram index; both find what they should.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_reads_the_list_index_for_a_common_text_and_the_trigrams_for_a_rare_one() {
    use sea_orm::ConnectionTrait;
    let c = ctx(Backend::Postgres).await;
    let db = &c.app.state.db;
    db.execute_unprepared(
        "INSERT INTO tasks (code, title, description, task_type, priority, status, scheduled_start, supervisor_id, \
         created_by, created_at, updated_at) SELECT 'SR-' || i, 'Carga ' || i, \
         CASE WHEN i = 7777 THEN 'Puesto en Zanjón Quirno' WHEN i % 10 = 0 THEN 'Recorrida por Corrientes' \
         ELSE 'Recorrida por Rivadavia' END, 'patrol', 'low', 'scheduled', now() + i * interval '1 minute', \
         (SELECT id FROM users WHERE email = 'supervisor@gad.local'), (SELECT id FROM users WHERE role = 'admin' LIMIT 1), \
         now(), now() FROM generate_series(1, 20000) AS i",
    )
    .await
    .unwrap();
    // Settled, as autovacuum leaves a table: the trigram index's pending entries merged.
    db.execute_unprepared("VACUUM ANALYZE tasks, task_search").await.unwrap();
    let custom = ["plan_cache_mode = force_custom_plan"];
    let search = |text: &str| TaskFilter { text: Some(text.into()), ..Default::default() };

    let common = services::tasks::page_query(&c.app.state, &c.admin, &search("CORRIENTES"), None, 50).unwrap().unwrap();
    let plan = plan_of(Backend::Postgres, db, common, &custom).await;
    assert!(plan.iter().any(|line| line.contains("Index Scan using tasks_list_start_idx")), "{plan:#?}");
    assert!(!plan.iter().any(|line| line.contains("lower(") || line.contains("Sort")), "{plan:#?}");
    let page = services::tasks::query(&c.app.state, &c.admin, search("CORRIENTES")).await.unwrap();
    assert_eq!(page.items.len(), 50);
    // (A demo task on Av. Corrientes may come first.)
    let loads: Vec<&str> = page.items.iter().map(|t| t.title.as_str()).filter(|t| t.starts_with("Carga ")).collect();
    assert!(loads.len() >= 45 && loads.iter().all(|t| t.ends_with('0')), "{loads:?}");

    let rare = services::tasks::page_query(&c.app.state, &c.admin, &search("quirno"), None, 50).unwrap().unwrap();
    // (At 20 000 rows a sequential scan of the small table is cheaper still: priced out, the
    // trigram index must be the next best.)
    let plan =
        plan_of(Backend::Postgres, db, rare, &["plan_cache_mode = force_custom_plan", "enable_seqscan = off"]).await;
    assert!(plan.iter().any(|line| line.contains("task_search_trgm")), "{plan:#?}");
    let page = services::tasks::query(&c.app.state, &c.admin, search("quirno")).await.unwrap();
    assert_eq!(page.items.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["Carga 7777"]);
}

/// 3 000 tasks: every third on Corrientes (a window of 1 000 rows holds a page of them), two
/// on Quirno; priorities, due times and a missing start in turn, so every sort has ties and
/// NULLs to order. Vacuumed and analysed.
async fn seed_search_window(db: &sea_orm::DatabaseConnection) {
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(
        "INSERT INTO tasks (code, title, description, task_type, priority, status, scheduled_start, sla_due_at, \
         supervisor_id, created_by, created_at, updated_at) SELECT 'WN-' || lpad(i::text, 5, '0'), 'Carga ' || i, \
         CASE WHEN i IN (1500, 2900) THEN 'Puesto en Zanjón Quirno' WHEN i % 3 = 0 THEN 'Recorrida por Corrientes' \
         ELSE 'Recorrida por Rivadavia' END, 'patrol', \
         (ARRAY['low', 'medium', 'high', 'urgent', 'critical'])[1 + i % 5], 'scheduled', \
         CASE WHEN i % 7 = 0 THEN NULL ELSE now() + (i % 400) * interval '1 minute' END, \
         CASE WHEN i % 4 = 0 THEN NULL ELSE now() + (i % 90) * interval '1 hour' END, \
         (SELECT id FROM users WHERE email = 'supervisor@gad.local'), (SELECT id FROM users WHERE role = 'admin' LIMIT 1), \
         now() - (i % 50) * interval '1 day', now() FROM generate_series(1, 3000) AS i",
    )
    .await
    .unwrap();
    db.execute_unprepared("VACUUM ANALYZE tasks, task_search").await.unwrap();
}

/// The window's statement has one plan for every text: after PostgreSQL's trial plans a
/// connection keeps the generic one, whether the texts are common, rare or absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_window_is_planned_once_for_every_text() {
    use sea_orm::ConnectionTrait;
    let c = ctx(Backend::Postgres).await;
    seed_search_window(&c.app.state.db).await;
    // One connection, so the catalogue read below is this connection's.
    let mut options = sea_orm::ConnectOptions::new(c.app.database_url.clone());
    options.max_connections(1).min_connections(1).sqlx_logging(false);
    let db = sea_orm::Database::connect(options).await.unwrap();
    for text in ["corrientes", "quirno", "no existe", "recorrida", "carga 1"].iter().cycle().take(15) {
        let filter = TaskFilter { text: Some((*text).into()), ..Default::default() };
        let window = services::tasks::search_window_query(&c.app.state, &c.admin, &filter, None, 50).unwrap().unwrap();
        db.query_all_raw(window).await.unwrap();
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%strpos(%'",
        ))
        .await
        .unwrap()
        .expect("the window's statement is prepared and kept");
    let (generic, custom): (i64, i64) = (row.try_get_by_index(0).unwrap(), row.try_get_by_index(1).unwrap());
    assert!(custom <= 5 && generic >= 10, "generic {generic}, custom {custom}");
}

/// On PostgreSQL a search first reads a window of the list in order (one plan for every text)
/// and asks the search planned for its text only when the window holds less than a page: a
/// common text's pages and a rare text's are what the list's order says, on every sort and
/// both ways, and `/metrics` counts which of the two answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_reads_a_window_of_the_list_and_falls_back_to_the_planned_search() {
    use sea_orm::ConnectionTrait;
    let database_url = common::fresh_database(Backend::Postgres).await;
    let app = common::GadProcess::start(&database_url, &[("GAD_VIEW_CACHE", "false")]).await;
    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    // 3 000 tasks: every third on Corrientes (a window of 1 000 rows holds a page of them), two
    // on Quirno; priorities, due times and a missing start in turn, so every sort has ties
    // and NULLs to order.
    seed_search_window(&db).await;
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = http
        .post(app.url("/api/fn/login"))
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[("email", "admin@gad.local"), ("password", common::ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let counted = |body: &str, path: &str| {
        let line = format!("gad_task_searches_total{{answered_by=\"{path}\"}} ");
        body.lines().find_map(|l| l.strip_prefix(line.as_str())).map_or(0.0, |v| v.parse::<f64>().unwrap())
    };
    let metrics = || async { http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap() };

    let order_of = |sort: &str| match sort {
        "scheduled_start" => "scheduled_start IS NULL, scheduled_start",
        "due" => "sla_due_at IS NULL, sla_due_at",
        "priority" => {
            "(CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 \
                       WHEN 'urgent' THEN 3 ELSE 4 END)"
        }
        "created_at" => "created_at",
        _ => "code",
    };
    let mut pages = 0;
    for sort in ["scheduled_start", "due", "priority", "created_at", "code"] {
        for descending in [false, true] {
            // What the list's order says: every Corrientes task, sorted (NULLs last either way).
            let direction = if descending { "DESC" } else { "ASC" };
            let key = order_of(sort)
                .split(", ")
                .map(|k| if k.ends_with("IS NULL") { k.to_owned() } else { format!("{k} {direction}") })
                .collect::<Vec<_>>()
                .join(", ");
            let expected: Vec<i64> = db
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    format!(
                        "SELECT id FROM tasks WHERE deleted_at IS NULL AND search_text LIKE '%corrientes%' \
                         ORDER BY {key}, id {direction} LIMIT 150"
                    ),
                ))
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get_by_index::<i64>(0).unwrap())
                .collect();
            let mut got = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..3 {
                let mut query = vec![("q", "CORRIENTES"), ("limit", "50"), ("sort", sort)];
                query.push(("order", if descending { "desc" } else { "asc" }));
                if let Some(c) = &cursor {
                    query.push(("cursor", c));
                }
                let res = http.get(app.url("/api/v1/tasks")).query(&query).send().await.unwrap();
                assert_eq!(res.status(), reqwest::StatusCode::OK, "{sort} {direction}");
                let page: serde_json::Value = res.json().await.unwrap();
                got.extend(page["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()));
                cursor = page["next_cursor"].as_str().map(str::to_owned);
                pages += 1;
            }
            assert_eq!(got, expected, "sort {sort} {direction}");
        }
    }
    let body = metrics().await;
    assert_eq!(counted(&body, "window"), f64::from(pages), "every common page from the window");
    assert_eq!(counted(&body, "planned"), 0.0);

    // A rare text: the window holds less than a page, the planned search finds both.
    let page: serde_json::Value =
        http.get(app.url("/api/v1/tasks?q=quirno&sort=code")).send().await.unwrap().json().await.unwrap();
    let titles: Vec<&str> = page["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Carga 1500", "Carga 2900"]);
    let body = metrics().await;
    assert_eq!(counted(&body, "planned"), 1.0);
    assert_eq!(counted(&body, "window"), f64::from(pages));
}

/// The application's state with a pool that records the SQL of every statement it sends.
fn logging_statements(c: &Ctx) -> (gad_core::state::AppState, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = sent.clone();
    let mut db = c.app.state.db.clone();
    db.set_metric_callback(move |info| log.lock().unwrap().push(info.statement.sql.clone()));
    let s = &c.app.state;
    let state = gad_core::state::AppState::new(gad_core::state::Parts {
        db,
        redis: s.redis.clone(),
        config: s.config.clone(),
        events: s.events.clone(),
        sqlite_writer: s.sqlite_writer.clone(),
        caches: s.caches.clone(),
    });
    (state, sent)
}

/// On PostgreSQL a new task's number is taken in a statement of its own that commits without
/// waiting for its WAL flush (the counter row is every creation of a type's, and its lock was
/// held through a disk write); the setting ends with that statement: the pool's connections,
/// and the create's own transaction, still wait for their flushes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_number_is_taken_without_waiting_for_its_flush_and_only_it() {
    let c = ctx(Backend::Postgres).await;
    let (state, sent) = logging_statements(&c);
    let audit_meta = meta();
    let created = futures::future::join_all((0..6).map(|n| {
        services::tasks::create(
            &state,
            &c.supervisor,
            &audit_meta,
            NewTask::new(format!("Numerada {n}"), TaskType::Patrol),
        )
    }))
    .await;
    let mut codes: Vec<String> = created.into_iter().map(|r| r.unwrap().code).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 6, "{codes:?}");
    let statements = std::mem::take(&mut *sent.lock().unwrap());
    let counters: Vec<&String> = statements.iter().filter(|sql| sql.contains("task_code_counters")).collect();
    assert_eq!(counters.len(), 6, "{statements:#?}");
    for sql in counters {
        assert!(sql.contains("set_config('synchronous_commit', 'off', true)"), "{sql}");
    }

    // Every connection of the pool, inside a transaction and out, still waits for its flush.
    let checks = futures::future::join_all((0..8).map(|_| async {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let txn = c.app.state.db.begin().await.unwrap();
        let show = sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, "SHOW synchronous_commit");
        let inside = txn.query_one_raw(show).await.unwrap().unwrap().try_get_by_index::<String>(0).unwrap();
        txn.commit().await.unwrap();
        inside
    }))
    .await;
    assert!(checks.iter().all(|v| v == "on"), "{checks:?}");
}

/// A transition's writes — the task's update, its history, its audit row, its event — reach
/// PostgreSQL in one statement, sent before the detail it answers with reads that history
/// back, and the detail's task is the row stored; an operation that fails after staging rows
/// leaves none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transition_sends_its_update_history_audit_row_and_event_in_one_statement() {
    let c = ctx(Backend::Postgres).await;
    let mut t = NewTask::new("Ronda de una sentencia", TaskType::Patrol);
    t.officer_ids = vec![c.officer.officer_id.unwrap()];
    let task = create(&c, t).await;
    let (state, sent) = logging_statements(&c);

    let detail = services::tasks::transition(&state, &c.supervisor, &meta(), task.id, TaskStatus::InProgress, None)
        .await
        .unwrap();
    assert_eq!(detail.history.last().map(|h| h.to), Some(TaskStatus::InProgress), "the detail reads its own history");
    let statements = std::mem::take(&mut *sent.lock().unwrap());
    let writes: Vec<&String> =
        statements.iter().filter(|sql| sql.contains("INSERT") || sql.contains("UPDATE \"tasks\"")).collect();
    assert_eq!(writes.len(), 1, "{statements:#?}");
    assert!(writes[0].contains("UPDATE \"tasks\""), "{}", writes[0]);
    for table in ["task_status_history", "audit_log", "event_outbox"] {
        assert!(writes[0].contains(&format!("INSERT INTO \"{table}\"")), "{table}: {}", writes[0]);
    }
    // The detail's task is the row the database stored, not only what the operation computed.
    let stored = tasks::Entity::find_by_id(task.id).one(&c.app.state.db).await.unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::InProgress);
    assert_eq!(
        (detail.status, detail.actual_start, detail.updated_at, detail.paused_at),
        (stored.status, stored.actual_start, stored.updated_at, stored.paused_at)
    );
    assert_eq!(detail.acknowledged_at, stored.acknowledged_at);
    let history = task_status_history::Entity::find()
        .filter(task_status_history::Column::TaskId.eq(task.id))
        .filter(task_status_history::Column::ToStatus.eq(TaskStatus::InProgress))
        .count(&c.app.state.db)
        .await
        .unwrap();
    assert_eq!(history, 1);
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("task.transition"))
        .filter(audit_log::Column::ResourceId.eq(task.id.to_string()))
        .count(&c.app.state.db)
        .await
        .unwrap();
    assert_eq!(audited, 1);

    // The detail a write answers with is one read: the assignments (officers with their
    // status) and the history (authors' names) together, after the write it reads back.
    let detail =
        services::tasks::transition(&state, &c.supervisor, &meta(), task.id, TaskStatus::Paused, None).await.unwrap();
    let statements = std::mem::take(&mut *sent.lock().unwrap());
    let reads: Vec<&String> = statements
        .iter()
        .filter(|sql| {
            sql.starts_with("SELECT") && (sql.contains("task_assignments") || sql.contains("task_status_history"))
        })
        .collect();
    assert_eq!(reads.len(), 1, "{statements:#?}");
    assert!(reads[0].contains("\"task_assignments\"") && reads[0].contains("\"task_status_history\""), "{}", reads[0]);
    let officer = c.officer.officer_id.unwrap();
    let assigned: Vec<(i64, OfficerStatus)> = detail.assignments.iter().map(|a| (a.officer_id, a.status)).collect();
    assert_eq!(assigned, vec![(officer, OfficerStatus::OnTask)]);
    let row = officers::Entity::find_by_id(officer).one(&c.app.state.db).await.unwrap().unwrap();
    assert_eq!(
        (detail.assignments[0].code.as_str(), detail.assignments[0].name.clone()),
        (row.code.as_str(), format!("{} {}", row.first_name, row.last_name))
    );
    let steps: Vec<(Option<TaskStatus>, TaskStatus)> = detail.history.iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(
        steps,
        vec![
            (None, TaskStatus::Scheduled),
            (Some(TaskStatus::Scheduled), TaskStatus::InProgress),
            (Some(TaskStatus::InProgress), TaskStatus::Paused)
        ]
    );
    assert!(detail.history.iter().all(|h| h.by.is_some()), "every author named: {:?}", detail.history);

    // A resume puts on task only whoever is not: the officer still is (a pause keeps them), so
    // no officer is written; moved meanwhile, they are put back.
    services::tasks::transition(&state, &c.supervisor, &meta(), task.id, TaskStatus::InProgress, None).await.unwrap();
    let statements = std::mem::take(&mut *sent.lock().unwrap());
    assert!(!statements.iter().any(|sql| sql.contains("UPDATE \"officers\"")), "{statements:#?}");
    services::tasks::transition(&state, &c.supervisor, &meta(), task.id, TaskStatus::Paused, None).await.unwrap();
    let mut moved: officers::ActiveModel = row.into();
    moved.status = Set(OfficerStatus::Available);
    moved.update(&c.app.state.db).await.unwrap();
    sent.lock().unwrap().clear();
    let detail = services::tasks::transition(&state, &c.supervisor, &meta(), task.id, TaskStatus::InProgress, None)
        .await
        .unwrap();
    assert_eq!(detail.assignments[0].status, OfficerStatus::OnTask);
    let statements = std::mem::take(&mut *sent.lock().unwrap());
    assert_eq!(statements.iter().filter(|sql| sql.contains("UPDATE \"officers\"")).count(), 1, "{statements:#?}");

    // Staged and never committed: nothing.
    let before = audit_log::Entity::find().count(&c.app.state.db).await.unwrap();
    let txn = gad_core::db::WriteTxn::begin(&c.app.state).await.unwrap();
    audit::append(&txn, Some(&c.admin), &meta(), audit::AuditEntry::new("task.dropped", "task", task.id))
        .await
        .unwrap();
    drop(txn);
    assert_eq!(audit_log::Entity::find().count(&c.app.state.db).await.unwrap(), before);
}

// ------------------------------------------------------------------------------------ CSV

/// Splits RFC 4180 CSV into records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').expect("a CSV export starts with a byte-order mark");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

async fn export_text(state: &gad_core::state::AppState, who: &Actor, filter: TaskFilter) -> String {
    services::tasks::export_csv(state, who, filter).await.unwrap().text().await.unwrap()
}

async fn csv_export_escapes_fields(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let start = state.config.timezone.with_ymd_and_hms(2032, 1, 15, 8, 5, 0).unwrap().with_timezone(&Utc);
    let mut t = NewTask::new(r#"Control, "especial" de tránsito"#, TaskType::Patrol);
    t.description = Some("Primera línea\nsegunda línea".into());
    t.location_text = Some("=HYPERLINK(\"http://x\")".into());
    t.scheduled_start = Some(start);
    t.officer_ids = vec![c.officer.officer_id.unwrap()];
    let task = create(&c, t).await;

    let csv = services::tasks::export_csv(
        state,
        &c.supervisor,
        TaskFilter { text: Some("especial".into()), ..Default::default() },
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(csv.contains(r#""Control, ""especial"" de tránsito""#), "{csv}");
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), 2, "{csv}");
    assert_eq!(rows[0][0], "Código");
    assert_eq!(rows[0][1], "Título");
    assert_eq!(rows[0][5], "Inicio programado");
    assert_eq!(rows[1][0], task.code);
    assert_eq!(rows[1][1], r#"Control, "especial" de tránsito"#);
    assert_eq!(rows[1][2], "Patrullaje");
    assert_eq!(rows[1][4], "Programada");
    assert_eq!(rows[1][5], "15/01/2032 08:05", "local time");
    assert_eq!(rows[1][11], "Martín Sosa");
    assert_eq!(rows[1][12], "'=HYPERLINK(\"http://x\")", "no formula injection");
    assert_eq!(rows[1][15], "Primera línea\nsegunda línea");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));

    // Same visibility as queries: the officer's export has their two demo tasks plus this one.
    let own = parse_csv(&export_text(state, &c.officer, TaskFilter::default()).await);
    assert_eq!(own.len(), 1 + 3);
    let everything = parse_csv(&export_text(state, &c.admin, TaskFilter::default()).await);
    assert_eq!(everything.len(), 1 + 11);
}
on_both_backends!(csv_export_escapes_fields);

/// An export longer than a page is read a page at a time and holds every row once, in the
/// filter's order, whatever the sort.
async fn csv_export_streams_every_page(backend: Backend) {
    let c = ctx(backend).await;
    let state = &c.app.state;
    let rows = services::csv::PAGE_ROWS as usize * 2 + 7;
    let now = Utc::now();
    let created_by = c.admin.user_id;
    let batch: Vec<tasks::ActiveModel> = (0..rows)
        .map(|n| tasks::ActiveModel {
            code: Set(format!("PAGINA-{n:05}")),
            title: Set(format!("Paginada {n}")),
            task_type: Set(TaskType::Administrative),
            priority: Set(TaskPriority::ALL[n % TaskPriority::ALL.len()]),
            status: Set(TaskStatus::Scheduled),
            // Every third task without a start: those sort last.
            scheduled_start: Set((n % 3 != 0).then(|| now + Duration::minutes((n % 50) as i64))),
            paused_seconds: Set(0),
            created_by: Set(created_by),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in batch.chunks(200) {
        tasks::Entity::insert_many(chunk.to_vec()).exec(&state.db).await.unwrap();
    }
    for sort in [TaskSort::ScheduledStart, TaskSort::Priority, TaskSort::Code] {
        for descending in [false, true] {
            let filter = TaskFilter { text: Some("Paginada".into()), sort, descending, ..Default::default() };
            let exported: Vec<String> = parse_csv(&export_text(state, &c.supervisor, filter.clone()).await)
                .into_iter()
                .skip(1)
                .map(|r| r[0].clone())
                .collect();
            assert_eq!(exported.len(), rows, "{sort:?} {descending}");
            assert_eq!(exported.iter().collect::<HashSet<_>>().len(), rows, "no row twice: {sort:?} {descending}");
            // The same order as the list's pages.
            let mut listed = Vec::new();
            let mut cursor = None;
            loop {
                let page = services::tasks::query(
                    state,
                    &c.supervisor,
                    TaskFilter { cursor, limit: Some(200), ..filter.clone() },
                )
                .await
                .unwrap();
                listed.extend(page.items.into_iter().map(|t| t.code));
                cursor = page.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(exported, listed, "{sort:?} {descending}");
        }
    }
}
on_both_backends!(csv_export_streams_every_page);

// --------------------------------------------------------------------------------- events

async fn events_follow_commits_only(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    let mut rx = common::EventLog::mark(state).await;
    let officer = new_officer(app, "EVENTO-1").await;
    let extra = new_officer(app, "EVENTO-2").await;

    let mut new = NewTask::new("Tarea con eventos", TaskType::Patrol);
    new.officer_ids = vec![officer];
    let task = create(&c, new).await;
    match rx.take(state).await.as_slice() {
        [Event::TaskCreated { task_id, code, officer_ids, priority, .. }] => {
            assert_eq!(
                (*task_id, code, officer_ids, *priority),
                (task.id, &task.code, &vec![officer], TaskPriority::Medium)
            );
        }
        other => panic!("{other:?}"),
    }
    go(&c, task.id, TaskStatus::InProgress).await.unwrap();
    let events = rx.take(state).await;
    assert!(events.contains(&Event::TaskStatusChanged {
        task_id: task.id,
        code: task.code.clone(),
        from: TaskStatus::Scheduled,
        to: TaskStatus::InProgress,
        by_user_id: Some(c.supervisor.user_id),
    }));
    assert!(events.contains(&Event::OfficerStatusChanged { officer_id: officer, status: OfficerStatus::OnTask }));
    assert_eq!(events.len(), 2, "{events:?}");

    services::tasks::assign(state, &c.supervisor, &meta(), task.id, vec![extra], false).await.unwrap();
    let events = rx.take(state).await;
    assert!(events.contains(&Event::TaskAssigned {
        task_id: task.id,
        code: task.code.clone(),
        officer_ids: vec![extra]
    }));
    services::tasks::unassign(state, &c.supervisor, &meta(), task.id, extra).await.unwrap();
    let events = rx.take(state).await;
    assert!(events.contains(&Event::TaskUnassigned { task_id: task.id, code: task.code.clone(), officer_id: extra }));
    assert!(events.contains(&Event::OfficerStatusChanged { officer_id: extra, status: OfficerStatus::Available }));
    let changes = TaskUpdate { notes: Some(Some("Con novedades".into())), ..Default::default() };
    services::tasks::update(state, &c.supervisor, &meta(), task.id, changes).await.unwrap();
    assert_eq!(rx.take(state).await, [Event::TaskUpdated { task_id: task.id, code: task.code.clone() }]);

    // Failures publish nothing.
    let audit_before = audit_count(app).await;
    assert!(go(&c, task.id, TaskStatus::Scheduled).await.is_err());
    assert!(
        services::tasks::transition(state, &c.supervisor, &meta(), task.id, TaskStatus::Cancelled, None).await.is_err()
    );
    assert!(
        services::tasks::create(state, &c.officer, &meta(), NewTask::new("Prohibida", TaskType::Patrol)).await.is_err()
    );
    let mut clash = NewTask::new("Efectivo inexistente", TaskType::Patrol);
    clash.officer_ids = vec![987_654];
    assert!(services::tasks::create(state, &c.supervisor, &meta(), clash).await.is_err());
    let mut dup = NewTask::new("Código repetido", TaskType::Patrol);
    dup.code = Some(task.code.clone());
    assert!(services::tasks::create(state, &c.supervisor, &meta(), dup).await.is_err());
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    assert_eq!(rx.take(state).await, []);
    assert_eq!(audit_count(app).await, audit_before);

    // An event arrives once the change is visible to everyone.
    let state2 = state.clone();
    let mut rx2 = state.events.subscribe();
    let watcher = tokio::spawn(async move {
        loop {
            if let Event::TaskDeleted { task_id, .. } = rx2.recv().await.unwrap().event {
                let row = tasks::Entity::find_by_id(task_id).one(&state2.db).await.unwrap().unwrap();
                return row.deleted_at.is_some();
            }
        }
    });
    services::tasks::delete(state, &c.supervisor, &meta(), task.id).await.unwrap();
    assert!(watcher.await.unwrap(), "the deletion was committed before the event");
    let events = rx.take(state).await;
    assert!(events.contains(&Event::TaskDeleted { task_id: task.id, code: task.code.clone() }));
    assert!(events.contains(&Event::OfficerStatusChanged { officer_id: officer, status: OfficerStatus::Available }));
}
on_both_backends!(events_follow_commits_only);

// ------------------------------------------------------------------------------ emergency

/// Metres north of `lat` along a meridian, on the sphere the geo service uses.
fn north(lat: f64, metres: f64) -> f64 {
    lat + (metres / gad_core::services::geo::EARTH_RADIUS_M).to_degrees()
}

async fn place(app: &TestApp, officer: i64, lat: f64, lon: f64, age: Duration, status: OfficerStatus) {
    let mut row: officers::ActiveModel = officer_row(app, officer).await.into();
    row.last_lat = Set(Some(lat));
    row.last_lon = Set(Some(lon));
    row.last_position_at = Set(Some(Utc::now() - age));
    row.last_position_source = Set(Some(PositionSource::Telegram));
    row.status = Set(status);
    row.update(&app.state.db).await.unwrap();
}

async fn emergency_dispatches_the_nearest(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    // Somewhere in the Río de la Plata, far from the demo officers.
    let (lat, lon) = (-34.40, -58.20);
    let near = new_officer(app, "EMER-100").await;
    let mid = new_officer(app, "EMER-800").await;
    let far = new_officer(app, "EMER-3000").await;
    let stale = new_officer(app, "EMER-STALE").await;
    let busy = new_officer(app, "EMER-BUSY").await;
    let outside = new_officer(app, "EMER-OUT").await;
    place(app, near, north(lat, 100.0), lon, Duration::minutes(1), OfficerStatus::Available).await;
    place(app, mid, north(lat, 800.0), lon, Duration::minutes(2), OfficerStatus::Available).await;
    place(app, far, north(lat, 3000.0), lon, Duration::minutes(3), OfficerStatus::Available).await;
    place(app, stale, north(lat, 50.0), lon, Duration::minutes(30), OfficerStatus::Available).await;
    place(app, busy, north(lat, 20.0), lon, Duration::minutes(1), OfficerStatus::Unavailable).await;
    place(app, outside, north(lat, 6000.0), lon, Duration::minutes(1), OfficerStatus::Available).await;
    let mut rx = common::EventLog::mark(state).await;

    // An officer reports; the nearest fresh available officer is dispatched.
    let outcome = call_as(state, Some(c.officer.clone()), || {
        raise_emergency(lat, lon, Some("Choque con heridos".into()), EmergencyAssign::default())
    })
    .await
    .unwrap();
    // The officer learns who was sent, not the ranked colleagues and their positions.
    assert!(outcome.candidates.is_empty(), "{:?}", outcome.candidates);
    assert_eq!(outcome.assigned_officer_ids, [near]);
    let task = &outcome.task;
    let year = Utc::now().with_timezone(&state.config.timezone).format("%Y").to_string();
    assert_eq!(task.code, format!("EMER-{year}-0001"));
    assert_eq!(
        (task.task_type, task.priority, task.status),
        (TaskType::Emergency, TaskPriority::Critical, TaskStatus::Scheduled)
    );
    assert_eq!((task.lat, task.lon), (Some(lat), Some(lon)));
    assert_eq!(task.description.as_deref(), Some("Choque con heridos"));
    assert_eq!(task.assignments.len(), 1);
    assert!(task.assignments[0].overlap_override, "an emergency trumps schedules");
    assert!(task.history[0].reason.as_deref().unwrap().contains("EMER-100"), "{:?}", task.history);
    let entry = last_audit(app).await;
    assert_eq!((entry.action.as_str(), entry.severity), ("emergency.raise", AuditSeverity::Critical));
    assert_eq!(entry.user_id, Some(c.officer.user_id));
    let events = rx.take(state).await;
    assert!(events.contains(&Event::EmergencyCreated {
        task_id: task.id,
        code: task.code.clone(),
        lat,
        lon,
        officer_ids: vec![near],
    }));
    assert!(events.contains(&Event::TaskAssigned {
        task_id: task.id,
        code: task.code.clone(),
        officer_ids: vec![near]
    }));

    // Dispatched is busy: the officer is on a task from the dispatch on, so the next emergency
    // does not send them again as if free.
    assert_eq!(officer_row(app, near).await.status, OfficerStatus::OnTask);
    assert!(events.contains(&Event::OfficerStatusChanged { officer_id: near, status: OfficerStatus::OnTask }));

    // Rank only; then the two nearest; then a supervisor's pick.
    let ranked_only =
        services::emergency::raise(state, &c.supervisor, &meta(), lat, lon, None, EmergencyAssign::None).await.unwrap();
    assert!(ranked_only.assigned_officer_ids.is_empty() && ranked_only.task.assignments.is_empty());
    let ranked: Vec<i64> = ranked_only.candidates.iter().map(|n| n.officer_id).collect();
    assert_eq!(ranked, [mid, far], "nearest first; dispatched, stale, unavailable and out of radius left out");
    for (candidate, metres) in ranked_only.candidates.iter().zip([800.0, 3000.0]) {
        assert!((candidate.distance_m - metres).abs() < 1.0, "{candidate:?}");
    }
    assert!(ranked_only.task.code.ends_with("-0002"));
    let two = services::emergency::raise(state, &c.admin, &meta(), lat, lon, None, EmergencyAssign::Nearest(2))
        .await
        .unwrap();
    assert_eq!(two.assigned_officer_ids, [mid, far]);
    // The first emergency called off: its officer is free again (and first in line).
    services::tasks::transition(
        state,
        &c.supervisor,
        &meta(),
        task.id,
        TaskStatus::Cancelled,
        Some("Falsa alarma".into()),
    )
    .await
    .unwrap();
    assert_eq!(officer_row(app, near).await.status, OfficerStatus::Available);
    let again =
        services::emergency::raise(state, &c.supervisor, &meta(), lat, lon, None, EmergencyAssign::None).await.unwrap();
    let ranked: Vec<i64> = again.candidates.iter().map(|n| n.officer_id).collect();
    assert_eq!(ranked, [near], "mid and far are still on the second emergency");
    // Given another type, an emergency no longer holds its officers; deleted, neither.
    services::tasks::update(
        state,
        &c.supervisor,
        &meta(),
        two.task.id,
        TaskUpdate { task_type: Some(TaskType::Patrol), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(officer_row(app, mid).await.status, OfficerStatus::Available);
    assert_eq!(officer_row(app, far).await.status, OfficerStatus::Available);
    let picked =
        services::emergency::raise(state, &c.supervisor, &meta(), lat, lon, None, EmergencyAssign::Officers(vec![far]))
            .await
            .unwrap();
    assert_eq!(picked.assigned_officer_ids, [far]);
    assert_eq!(picked.task.supervisor_id, Some(c.supervisor.user_id));
    assert_eq!(officer_row(app, far).await.status, OfficerStatus::OnTask);
    services::tasks::delete(state, &c.supervisor, &meta(), picked.task.id).await.unwrap();
    assert_eq!(officer_row(app, far).await.status, OfficerStatus::Available, "freed by the deletion");
    // Made an emergency again while scheduled: it holds its officers again.
    let retype = TaskUpdate { task_type: Some(TaskType::Emergency), ..Default::default() };
    services::tasks::update(state, &c.supervisor, &meta(), two.task.id, retype).await.unwrap();
    for officer in [mid, far] {
        assert_eq!(officer_row(app, officer).await.status, OfficerStatus::OnTask);
    }
    let err =
        services::emergency::raise(state, &c.officer, &meta(), lat, lon, None, EmergencyAssign::Officers(vec![far]))
            .await
            .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let err = services::emergency::raise(state, &c.officer, &meta(), 123.0, lon, None, EmergencyAssign::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation);
    // Nobody near: the task is still created, with nobody assigned.
    let empty = services::emergency::raise(state, &c.officer, &meta(), 10.0, 10.0, None, EmergencyAssign::default())
        .await
        .unwrap();
    assert!(empty.candidates.is_empty() && empty.assigned_officer_ids.is_empty());
    assert_chain_intact(app).await;
}
on_both_backends!(emergency_dispatches_the_nearest);

/// Emergencies raised in the same instant near each other each send someone else: the
/// candidates are ranked before the write, so the write takes only those still available
/// (under lock), and no officer is dispatched twice.
async fn simultaneous_emergencies_send_different_officers(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    // Off the coast, nobody else around.
    let (lat, lon) = (-34.70, -57.60);
    let mut team = Vec::new();
    for n in 0..6 {
        let officer = new_officer(app, &format!("SIM-{n}")).await;
        place(app, officer, north(lat, 100.0 * f64::from(n + 1)), lon, Duration::minutes(1), OfficerStatus::Available)
            .await;
        team.push(officer);
    }
    let raises = (0..4).map(|_| {
        let (state, supervisor) = (state.clone(), c.supervisor.clone());
        tokio::spawn(async move {
            services::emergency::raise(&state, &supervisor, &meta(), lat, lon, None, EmergencyAssign::Nearest(1))
                .await
                .unwrap()
        })
    });
    let outcomes = futures::future::join_all(raises).await;
    let mut sent: Vec<i64> = outcomes.into_iter().flat_map(|o| o.unwrap().assigned_officer_ids).collect();
    assert_eq!(sent.len(), 4, "each emergency sends one officer: {sent:?}");
    sent.sort_unstable();
    sent.dedup();
    assert_eq!(sent.len(), 4, "no officer is sent to two emergencies at once: {sent:?}");
    // The four nearest, all on their way.
    for officer in &team[..4] {
        assert!(sent.contains(officer), "{officer} is among the nearest: {sent:?}");
        assert_eq!(officer_row(app, *officer).await.status, OfficerStatus::OnTask);
    }
    assert_chain_intact(app).await;
}
on_both_backends!(simultaneous_emergencies_send_different_officers);

/// Each report sends an officer off at once: an officer (not a dispatcher) reports at most
/// three an hour, counted in turn when reports race; dispatchers are not limited.
async fn an_officer_reports_a_bounded_number_of_emergencies(backend: Backend) {
    let c = ctx(backend).await;
    let state = &c.app.state;
    // Open sea: nobody is dispatched, the reports are only counted.
    let raises = (0..5).map(|_| {
        let (state, officer) = (state.clone(), c.officer.clone());
        tokio::spawn(async move {
            services::emergency::raise(&state, &officer, &meta(), 10.0, 10.0, None, EmergencyAssign::Nearest(1)).await
        })
    });
    let answers: Vec<_> = futures::future::join_all(raises).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 3, "{answers:?}");
    for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert_eq!(refused.code(), ErrorCode::Forbidden);
        assert!(refused.to_string().contains("comuníquese con su supervisor"), "{refused:?}");
    }
    services::emergency::raise(state, &c.supervisor, &meta(), 10.0, 10.0, None, EmergencyAssign::Nearest(1))
        .await
        .unwrap();
}
on_both_backends!(an_officer_reports_a_bounded_number_of_emergencies);

/// One freshness rule for dispatch and the map: an available officer whose last position is
/// older than `GAD_POSITION_FRESH_MINUTES` is not sent, the answer says why ("sin posición
/// reciente: hace 30 min", naming them to dispatchers only), and the map's nearest list shows
/// the same officer as not dispatchable.
async fn dispatch_and_the_map_share_the_freshness_rule(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let state = &app.state;
    // Off the coast of Uruguay: nobody else around.
    let (lat, lon) = (-34.95, -55.90);
    let stale = new_officer(app, "EMER-VIEJO").await;
    place(app, stale, north(lat, 200.0), lon, Duration::minutes(30), OfficerStatus::Available).await;

    let outcome = services::emergency::raise(state, &c.supervisor, &meta(), lat, lon, None, EmergencyAssign::default())
        .await
        .unwrap();
    assert!(outcome.assigned_officer_ids.is_empty());
    let why = outcome.not_dispatched.expect("the answer says why nobody was sent");
    assert!(why.contains("últimos 15 min"), "{why}");
    assert!(why.contains("EMER-VIEJO") && why.contains("sin posición reciente: hace 30 min"), "{why}");
    // An officer reporting is told the rule, not where a colleague is.
    let told = services::emergency::raise(state, &c.officer, &meta(), lat, lon, None, EmergencyAssign::default())
        .await
        .unwrap()
        .not_dispatched
        .unwrap();
    assert!(!told.contains("EMER-VIEJO"), "{told}");

    // The map lists the officer, marked as dispatch would treat them.
    let listed =
        services::geo::nearest_officers(state, &c.supervisor, lat, lon, 5_000.0, 7 * 24 * 60, 5, false).await.unwrap();
    let row = listed.iter().find(|o| o.officer_id == stale).expect("listed on the map");
    assert!(!row.dispatchable);
    // With a fresh position the same officer is dispatchable, and dispatched.
    place(app, stale, north(lat, 200.0), lon, Duration::minutes(2), OfficerStatus::Available).await;
    let listed =
        services::geo::nearest_officers(state, &c.supervisor, lat, lon, 5_000.0, 7 * 24 * 60, 5, false).await.unwrap();
    assert!(listed.iter().find(|o| o.officer_id == stale).unwrap().dispatchable);
    let sent = services::emergency::raise(state, &c.supervisor, &meta(), lat, lon, None, EmergencyAssign::default())
        .await
        .unwrap();
    assert_eq!((sent.assigned_officer_ids, sent.not_dispatched), (vec![stale], None));
}
on_both_backends!(dispatch_and_the_map_share_the_freshness_rule);

// ------------------------------------------------------------------------------ over HTTP

/// The encodings chosen for the browser: URL-encoded scalars for the status buttons (a
/// plain form post is redirected back to the task), JSON for structured input.
async fn server_functions_over_http(backend: Backend) {
    let c = ctx(backend).await;
    let app = &c.app;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let mut new = NewTask::new("Tarea por HTTP", TaskType::Patrol);
    new.officer_ids = vec![c.officer.officer_id.unwrap()];
    let body = serde_json::json!({ "task": new });
    let res = supervisor
        .post(app.url("/api/fn/create_task"))
        .header("accept", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let task: TaskDetail = res.json().await.unwrap();

    // A hydrated client: JSON back.
    let res = app.call(&officer, "transition_task", &[("id", &task.id.to_string()), ("to", "in_progress")]).await;
    assert_eq!(res.status(), 200);
    let d: TaskDetail = res.json().await.unwrap();
    assert_eq!(d.status, TaskStatus::InProgress);
    // A plain form post without JavaScript: back to the task's page.
    let res = officer
        .post(app.url("/api/fn/transition_task"))
        .header("accept", "text/html")
        .header("referer", app.url("/tareas"))
        .form(&[("id", task.id.to_string().as_str()), ("to", "paused"), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], format!("/tareas/{}", task.id));
    assert_eq!(task_row(app, task.id).await.status, TaskStatus::Paused);
    let res = officer
        .post(app.url("/api/fn/transition_task"))
        .header("accept", "text/html")
        .form(&[("id", task.id.to_string().as_str()), ("to", "cancelled"), ("reason", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], format!("/tareas/{}?error=forbidden", task.id));

    // A conflict is a 409 with the Spanish message.
    let res = app.call(&supervisor, "transition_task", &[("id", &task.id.to_string()), ("to", "scheduled")]).await;
    assert_eq!(res.status(), 409);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["code"], "conflict");
    assert!(err["message"].as_str().unwrap().contains("no puede pasar"), "{err}");

    // JSON input: the query.
    let res = supervisor
        .post(app.url("/api/fn/query_tasks"))
        .json(&serde_json::json!({ "filter": { "statuses": ["paused"], "sort": "code", "limit": 10 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page: Page<TaskSummary> = res.json().await.unwrap();
    assert!(page.items.iter().any(|t| t.id == task.id));
    assert!(page.items.iter().all(|t| t.status == TaskStatus::Paused));
    // Anonymous: 401.
    let res = TestApp::client()
        .post(app.url("/api/fn/query_tasks"))
        .json(&serde_json::json!({ "filter": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // The list of the slice: the same rows through HTTP and through the bot harness.
    let listed = call_as(&app.state, Some(c.officer.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    assert_eq!(listed.len(), 3);
    let res = app.call(&supervisor, "list_tasks", &[("scope", "all")]).await;
    let over_http: Vec<TaskSummary> = res.json().await.unwrap();
    let over_bot = call_as(&app.state, Some(c.supervisor.clone()), || list_tasks(TaskScope::All)).await.unwrap();
    assert_eq!(over_http, over_bot);
    assert_eq!(over_bot.len(), 11);
}
on_both_backends!(server_functions_over_http);

/// A long history never hides today's work: with more closed tasks than the list holds, the
/// list the bot reads (`/tareas`, `/finalizar`, `/historial`) still has every open task, and
/// the closed ones newest first.
async fn a_long_history_keeps_open_tasks_in_the_list(backend: Backend) {
    let c = ctx(backend).await;
    let state = &c.app.state;
    let now = Utc::now();
    let long_ago = now - Duration::days(900);
    let batch: Vec<tasks::ActiveModel> = (0..620)
        .map(|n| tasks::ActiveModel {
            code: Set(format!("HIST-{n:04}")),
            title: Set(format!("Vieja {n}")),
            task_type: Set(TaskType::Patrol),
            priority: Set(TaskPriority::Low),
            status: Set(TaskStatus::Completed),
            scheduled_start: Set(Some(long_ago + Duration::hours(n))),
            supervisor_id: Set(Some(c.supervisor.user_id)),
            paused_seconds: Set(0),
            created_by: Set(c.admin.user_id),
            created_at: Set(long_ago),
            updated_at: Set(long_ago),
            ..Default::default()
        })
        .collect();
    for chunk in batch.chunks(200) {
        tasks::Entity::insert_many(chunk.to_vec()).exec(&state.db).await.unwrap();
    }
    let mut today = NewTask::new("Recorrida de hoy", TaskType::Patrol);
    today.supervisor_id = Some(c.supervisor.user_id);
    today.scheduled_start = Some(now + Duration::hours(1));
    let open = create(&c, today).await;
    let listed = services::tasks::list(state, &c.supervisor, TaskScope::Mine).await.unwrap();
    assert_eq!(listed.len(), 500);
    assert!(listed.iter().any(|t| t.id == open.id), "the open task is in the list");
    let first_closed = listed.iter().position(|t| t.status.is_final()).unwrap();
    assert!(listed[..first_closed].iter().all(|t| t.status.is_open()), "open tasks first");
    assert_eq!(listed[first_closed].code, "HIST-0619", "then the newest closed one");
}
on_both_backends!(a_long_history_keeps_open_tasks_in_the_list);
