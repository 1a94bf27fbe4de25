//! The dashboard's server side: bulk task seeding for benchmarks and the overview's figures,
//! on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Backend, TestApp};
use contract::domain::{Channel, TaskStatus, TaskType};
use gad_core::demo;
use gad_core::entities::{task_assignments, task_status_history, tasks};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn bulk_seeding_reaches_the_total_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.state.db;
    let before = tasks::Entity::find().count(db).await.unwrap();
    assert_eq!(before, 10, "the demo data has ten tasks");

    let added = demo::seed_bulk_tasks(&app.state, 300).await.unwrap();
    assert_eq!(added, 290);
    assert_eq!(tasks::Entity::find().count(db).await.unwrap(), 300);
    // Idempotent: asking again for the same total adds nothing.
    assert_eq!(demo::seed_bulk_tasks(&app.state, 300).await.unwrap(), 0);
    assert_eq!(tasks::Entity::find().count(db).await.unwrap(), 300);

    // Every completed bulk task has its officer and a full history; codes are unique (the
    // database would have refused a duplicate).
    let completed = tasks::Entity::find()
        .filter(tasks::Column::Status.eq(TaskStatus::Completed))
        .filter(tasks::Column::Title.contains("de carga"))
        .all(db)
        .await
        .unwrap();
    assert!(completed.len() > 100, "most past tasks are completed: {}", completed.len());
    for task in completed.iter().take(20) {
        assert!(task.actual_end.unwrap() >= task.actual_start.unwrap());
        let officers = task_assignments::Entity::find()
            .filter(task_assignments::Column::TaskId.eq(task.id))
            .count(db)
            .await
            .unwrap();
        assert_eq!(officers, 1);
        let history = task_status_history::Entity::find()
            .filter(task_status_history::Column::TaskId.eq(task.id))
            .count(db)
            .await
            .unwrap();
        assert_eq!(history, 3);
    }
    let scheduled =
        tasks::Entity::find().filter(tasks::Column::Status.eq(TaskStatus::Scheduled)).count(db).await.unwrap();
    assert!(scheduled > 0, "some bulk tasks lie ahead");

    // The codes it numbered are behind the counters: a new task of every type gets a fresh one.
    use gad_core::entities::users;
    let admin =
        users::Entity::find().filter(users::Column::Email.eq("admin@gad.local")).one(db).await.unwrap().unwrap();
    let admin = gad_core::services::auth::actor_for_user(&app.state, admin.id, Channel::Web).await.unwrap();
    let meta = gad_core::meta::AuditMeta::internal(Channel::Web);
    for task_type in TaskType::ALL.iter().filter(|t| **t != TaskType::Emergency) {
        let new = contract::tasks::NewTask::new("Después de la carga", *task_type);
        let made = gad_core::services::tasks::create(&app.state, &admin, &meta, new).await;
        assert!(made.is_ok(), "{task_type:?}: {made:?}");
    }
}

#[tokio::test]
async fn bulk_seeding_sqlite() {
    bulk_seeding_reaches_the_total_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn bulk_seeding_postgres() {
    bulk_seeding_reaches_the_total_once(Backend::Postgres).await;
}

async fn overview_counts_what_the_database_holds(backend: Backend) {
    use app::api::overview::overview as get_overview;
    use app::server::harness::call_as;
    use contract::domain::{Channel, TaskType};
    use gad_core::entities::users;
    use gad_core::services::auth::actor_for_user;

    let app = TestApp::spawn(backend).await;
    let db = &app.state.db;
    let user_id = |email: &'static str| async move {
        users::Entity::find().filter(users::Column::Email.eq(email)).one(db).await.unwrap().unwrap().id
    };
    let admin = actor_for_user(&app.state, user_id("admin@gad.local").await, Channel::Web).await.unwrap();
    let overview = call_as(&app.state, Some(admin.clone()), get_overview).await.unwrap();
    for status in [TaskStatus::Scheduled, TaskStatus::InProgress, TaskStatus::Paused] {
        let expected = tasks::Entity::find().filter(tasks::Column::Status.eq(status)).count(db).await.unwrap();
        let shown = overview.open_by_status.iter().find(|s| s.status == status).unwrap().count;
        assert_eq!(shown, expected, "{status}");
    }
    let officers = overview.officers_by_status.as_ref().expect("admins see officers");
    assert_eq!(officers.iter().map(|c| c.count).sum::<u64>(), 6);
    assert_eq!(overview.open_emergencies, 0);
    assert_eq!(overview.stats.per_day.len(), 14);
    // The same figures as the statistics of those days, without the lists per person (the
    // overview shows none; at scale they are the largest part of the answer).
    let days = (overview.stats.per_day[0].date, overview.stats.per_day[13].date);
    let full = call_as(&app.state, Some(admin.clone()), || app::api::stats::task_stats(days.0, days.1)).await.unwrap();
    assert!(!full.per_officer.is_empty() && !full.per_supervisor.is_empty(), "{full:?}");
    assert!(overview.stats.per_officer.is_empty() && overview.stats.per_supervisor.is_empty());
    let without_people =
        contract::stats::TaskStatistics { per_officer: Vec::new(), per_supervisor: Vec::new(), ..full };
    assert_eq!(overview.stats, without_people);
    // The feed: newest first, at most 20, every entry a real history row.
    let history = task_status_history::Entity::find().count(db).await.unwrap();
    assert_eq!(overview.activity.len() as u64, history.min(20));
    assert!(overview.activity.windows(2).all(|w| w[0].id > w[1].id));
    assert!(overview.activity.iter().all(|a| a.task_type != TaskType::Emergency));

    // The overview is cached, but a change is visible on the very next read: starting a
    // scheduled task moves one count and heads the feed.
    let scheduled =
        tasks::Entity::find().filter(tasks::Column::Status.eq(TaskStatus::Scheduled)).one(db).await.unwrap();
    let scheduled = scheduled.expect("the demo data has scheduled tasks");
    let count =
        |o: &contract::overview::Overview, status| o.open_by_status.iter().find(|s| s.status == status).unwrap().count;
    let again = call_as(&app.state, Some(admin.clone()), get_overview).await.unwrap();
    assert_eq!(again, overview, "nothing changed: the same figures");
    call_as(&app.state, Some(admin.clone()), || {
        app::api::tasks::transition_task(scheduled.id, TaskStatus::InProgress, None)
    })
    .await
    .unwrap();
    let after = call_as(&app.state, Some(admin.clone()), get_overview).await.unwrap();
    assert_eq!(count(&after, TaskStatus::Scheduled), count(&overview, TaskStatus::Scheduled) - 1);
    assert_eq!(count(&after, TaskStatus::InProgress), count(&overview, TaskStatus::InProgress) + 1);
    assert_eq!(after.activity[0].task_id, scheduled.id);
    assert_eq!(after.activity[0].to, TaskStatus::InProgress);

    // An officer counts only their own tasks and sees no officer figures.
    let officer = actor_for_user(&app.state, user_id("efectivo1@gad.local").await, Channel::Web).await.unwrap();
    let mine = call_as(&app.state, Some(officer), get_overview).await.unwrap();
    assert!(mine.officers_by_status.is_none());
    let open_mine: u64 = mine.open_by_status.iter().map(|s| s.count).sum();
    assert_eq!(open_mine, 2, "EF-001 has two open tasks (one may have started above: still open)");
    // Nobody: refused.
    assert!(call_as(&app.state, None, get_overview).await.is_err());
}

#[tokio::test]
async fn overview_sqlite() {
    overview_counts_what_the_database_holds(Backend::Sqlite).await;
}

#[tokio::test]
async fn overview_postgres() {
    overview_counts_what_the_database_holds(Backend::Postgres).await;
}
