//! Health, readiness, request ids, and start-up refusals.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Backend, TestApp};
use gad_server::Application;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;

async fn health_and_ready(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = TestApp::client();
    let res = client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("x-request-id").is_some_and(|v| !v.is_empty()));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let res = client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["status"], "ok");
    assert_eq!(body["checks"]["migrations"]["status"], "ok");
    assert!(body["checks"].get("redis").is_none(), "no Redis configured");

    // A request id sent by a proxy is kept.
    let res = client.get(app.url("/health")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    // One that is not an id (too long, or text of the client's choosing) is replaced.
    for sent in ["a".repeat(129), "ok\"} forged=1".to_owned(), "dos palabras".to_owned()] {
        let res = client.get(app.url("/health")).header("x-request-id", &sent).send().await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, sent);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh id: {id}");
    }

    // A newer schema (a migration this binary does not know) makes the replica not ready…
    let db = &app.state.db;
    db.execute_unprepared("INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29990101_000001_future', 0)")
        .await
        .unwrap();
    let res = client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["migrations"]["status"], "error");

    // …and a new start against it is refused with a clear message.
    let err = Application::build(common::config(&app.database_url, &[])).await.err().expect("refused");
    assert!(err.to_string().contains("newer than this gad binary"), "{err}");
}
on_both_backends!(health_and_ready);

/// No active admin, and the first admin's address taken by a deactivated account (single
/// sign-on brought the admins in, then the local one was switched off): the server still
/// starts, so replicas do not crash-loop and someone can sign in to fix it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_first_admin_does_not_stop_startup() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let db = &app.state.db;
    db.execute_unprepared("UPDATE users SET is_active = false WHERE role = 'admin'").await.unwrap();
    let built = Application::build(common::config(&app.database_url, &[])).await;
    assert!(built.is_ok(), "{:#}", built.err().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_stops_startup() {
    // Port 1 is never a Redis server.
    let res = Application::build(common::config(
        &common::fresh_database(Backend::Sqlite).await,
        &[("REDIS_URL", "redis://127.0.0.1:1")],
    ))
    .await;
    assert!(res.is_err(), "an unreachable Redis is reported at start");
    let msg = format!("{:#}", res.err().unwrap());
    assert!(msg.contains("REDIS_URL"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_pages_redirect_to_login() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = TestApp::client();
    for path in ["/", "/tareas", "/no-existe"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert!(res.status().is_redirection(), "{path}: {}", res.status());
        assert_eq!(res.headers()["location"], "/login", "{path}");
    }
    let res = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Correo electrónico") && html.contains("Ingresar"));
}
