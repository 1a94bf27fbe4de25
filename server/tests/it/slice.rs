//! The vertical slice "list tasks": service → server function → page, through HTTP and
//! through the bot harness as a Telegram-linked user, for every role.
#![allow(clippy::unwrap_used)]

use crate::common;

use app::api::tasks::list_tasks;
use app::server::harness::call_as;
use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, TestApp};
use contract::ErrorCode;
use contract::tasks::{TaskScope, TaskSummary};
use gad_core::services::auth::actor_for_telegram;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};

/// Links `email` to a Telegram account id, as `/start <code>` will.
async fn link_telegram(app: &TestApp, email: &str, telegram_id: i64) {
    let db = &app.state.db;
    let sql = "UPDATE users SET telegram_user_id = $1 WHERE email = $2";
    let stmt = Statement::from_sql_and_values(db.get_database_backend(), sql, [telegram_id.into(), email.into()]);
    assert_eq!(db.execute_raw(stmt).await.unwrap().rows_affected(), 1);
}

async fn over_http(
    app: &TestApp,
    client: &reqwest::Client,
    scope: &str,
) -> Result<Vec<TaskSummary>, (StatusCode, String)> {
    let res = app.call(client, "list_tasks", &[("scope", scope)]).await;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    if status.is_success() {
        Ok(serde_json::from_value(body).unwrap())
    } else {
        Err((status, body["code"].as_str().unwrap().to_owned()))
    }
}

async fn over_bot(app: &TestApp, telegram_id: Option<i64>, scope: TaskScope) -> Result<Vec<TaskSummary>, ErrorCode> {
    let actor = match telegram_id {
        Some(id) => Some(actor_for_telegram(&app.state, id).await.unwrap()),
        None => None,
    };
    call_as(&app.state, actor, || list_tasks(scope)).await.map_err(|e| e.code)
}

async fn same_answer_through_both_doors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    link_telegram(&app, "admin@gad.local", 9_000_000_001).await;
    link_telegram(&app, "supervisor@gad.local", 9_000_000_002).await;
    link_telegram(&app, "efectivo1@gad.local", 9_000_000_003).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;
    let anonymous = TestApp::client();

    // Admin: every task; nothing of their own (they supervise none and are no officer).
    let all = over_http(&app, &admin, "all").await.unwrap();
    assert_eq!(all.len(), 10, "the demo has ten tasks");
    assert!(all.iter().all(|t| regex_like_code(&t.code)), "{all:?}");
    assert_eq!(over_bot(&app, Some(9_000_000_001), TaskScope::All).await.unwrap(), all);
    assert!(over_http(&app, &admin, "mine").await.unwrap().is_empty());

    // Supervisor: all tasks, and "mine" = the ten they are in charge of.
    assert_eq!(over_http(&app, &supervisor, "all").await.unwrap(), all);
    let mine = over_http(&app, &supervisor, "mine").await.unwrap();
    assert_eq!(mine, over_bot(&app, Some(9_000_000_002), TaskScope::Mine).await.unwrap());
    assert_eq!(mine.len(), 10);

    // Officer 1 (Martín Sosa): only the tasks assigned to them; "all" is refused alike.
    let own = over_http(&app, &officer, "mine").await.unwrap();
    assert_eq!(own, over_bot(&app, Some(9_000_000_003), TaskScope::Mine).await.unwrap());
    assert_eq!(own.len(), 2);
    assert!(own.iter().all(|t| t.officers.contains(&"Martín Sosa".to_owned())), "{own:?}");
    assert_eq!(over_http(&app, &officer, "all").await.unwrap_err(), (StatusCode::FORBIDDEN, "forbidden".into()));
    assert_eq!(over_bot(&app, Some(9_000_000_003), TaskScope::All).await.unwrap_err(), ErrorCode::Forbidden);

    // Anonymous: refused through both doors.
    assert_eq!(
        over_http(&app, &anonymous, "mine").await.unwrap_err(),
        (StatusCode::UNAUTHORIZED, "unauthenticated".into())
    );
    assert_eq!(over_bot(&app, None, TaskScope::Mine).await.unwrap_err(), ErrorCode::Unauthenticated);

    // An unlinked Telegram account resolves to nobody.
    assert!(actor_for_telegram(&app.state, 42).await.is_err());
}
on_both_backends!(same_answer_through_both_doors);

fn regex_like_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    parts.len() == 3
        && parts[0].chars().all(|c| c.is_ascii_uppercase())
        && parts[1].len() == 4
        && parts[2].len() == 4
        && parts[1..].iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// The page itself: rendered on the server with the viewer's rows only.
async fn page_shows_the_viewers_tasks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;
    let all = over_http(&app, &admin, "all").await.unwrap();
    let own = over_http(&app, &officer, "mine").await.unwrap();

    let html = admin.get(app.url("/tareas")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Todas las tareas"));
    for task in &all {
        // Once: in the table, written on the server; the hydration data does not repeat the
        // rows (the browser keeps the server's table).
        assert_eq!(html.matches(&task.code).count(), 1, "admin page and {}", task.code);
    }
    let html = officer.get(app.url("/tareas")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Mis tareas"));
    for task in &all {
        let visible = own.iter().any(|t| t.code == task.code);
        assert_eq!(html.contains(&task.code), visible, "officer page and {}", task.code);
    }
    // Officers cannot widen the page's scope either: the service keeps them to their tasks.
    let html = officer.get(app.url("/tareas?alcance=todas")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Mis tareas"), "{html}");
    for task in &all {
        let visible = own.iter().any(|t| t.code == task.code);
        assert_eq!(html.contains(&task.code), visible, "officer page (alcance=todas) and {}", task.code);
    }
}
on_both_backends!(page_shows_the_viewers_tasks);
