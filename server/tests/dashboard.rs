//! The dashboard's server side: bulk task seeding for benchmarks and the overview's figures,
//! on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use app::domain::TaskStatus;
use app::server::entities::{task_assignments, task_status_history, tasks};
use app::server::services::demo;
use common::{Backend, TestApp};
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
}

#[tokio::test]
async fn bulk_seeding_sqlite() {
    bulk_seeding_reaches_the_total_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn bulk_seeding_postgres() {
    bulk_seeding_reaches_the_total_once(Backend::Postgres).await;
}
