//! Audit log reading and feedback, over REST and through the bot harness.
#![allow(clippy::unwrap_used)]

use crate::common;

use app::api::feedback::send_feedback;
use app::server::harness::call_as;
use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, TestApp};
use contract::ErrorCode;
use contract::domain::Channel;
use gad_core::services::auth::actor_for_user;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn audit_is_readable_by_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let failed = app.call(&TestApp::client(), "login", &[("email", "supervisor@gad.local"), ("password", "x")]).await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);

    let page: Value = admin.get(app.url("/api/v1/audit?limit=2")).send().await.unwrap().json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "auth.login_failed", "newest first");
    assert_eq!(items[0]["success"], false);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value =
        admin.get(app.url(&format!("/api/v1/audit?cursor={cursor}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["action"], "auth.login");

    let logins: Value =
        admin.get(app.url("/api/v1/audit?action=auth.login")).send().await.unwrap().json().await.unwrap();
    assert_eq!(logins["items"].as_array().unwrap().len(), 2);

    let csv = admin.get(app.url("/api/v1/audit.csv")).send().await.unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "header + 3 rows:\n{csv}");
    // A UTF-8 byte-order mark first, for spreadsheets; then the header.
    assert!(csv.starts_with("\u{feff}id,fecha,usuario"), "{csv}");

    let chain: Value = admin.get(app.url("/api/v1/audit/chain")).send().await.unwrap().json().await.unwrap();
    assert_eq!(chain["intact"], true);
    assert_eq!(chain["rows"], 3);

    for path in ["/api/v1/audit", "/api/v1/audit.csv", "/api/v1/audit/chain"] {
        assert_eq!(supervisor.get(app.url(path)).send().await.unwrap().status(), StatusCode::FORBIDDEN, "{path}");
    }
}
on_both_backends!(audit_is_readable_by_admins_only);

async fn feedback_flow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let officer = app.login("efectivo3@gad.local", DEMO_PASSWORD).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;

    let res = officer
        .post(app.url("/api/v1/feedback"))
        .json(&json!({ "text": "El bot funciona muy bien, gracias" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let item: Value = res.json().await.unwrap();
    assert_eq!((item["category"].as_str(), item["sentiment_label"].as_str()), (Some("sistema"), Some("positive")));
    assert_eq!(item["status"], "new");
    let res = officer.post(app.url("/api/v1/feedback")).json(&json!({ "text": "" })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // From Telegram, through the same server function.
    let officer_id: Value = officer.get(app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    let actor = actor_for_user(&app.state, officer_id["id"].as_i64().unwrap(), Channel::Telegram).await.unwrap();
    let sent = call_as(&app.state, Some(actor), || send_feedback("El mapa es lento y tiene un error".into(), None))
        .await
        .unwrap();
    assert_eq!((sent.channel, sent.sentiment_label.as_str()), (Channel::Telegram, "negative"));
    let anonymous = call_as(&app.state, None, || send_feedback("hola a todos".into(), None)).await;
    assert_eq!(anonymous.unwrap_err().code, ErrorCode::Unauthenticated);

    // Officers cannot review; supervisors can.
    assert_eq!(officer.get(app.url("/api/v1/feedback")).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let list: Value = supervisor.get(app.url("/api/v1/feedback")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let id = item["id"].as_i64().unwrap();
    let res = supervisor
        .put(app.url(&format!("/api/v1/feedback/{id}/status")))
        .json(&json!({ "status": "resolved" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = supervisor
        .put(app.url(&format!("/api/v1/feedback/{id}/status")))
        .json(&json!({ "status": "new" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let kpis: Value = supervisor.get(app.url("/api/v1/feedback/kpis")).send().await.unwrap().json().await.unwrap();
    assert_eq!((kpis["total"].as_u64(), kpis["resolved"].as_u64(), kpis["new"].as_u64()), (Some(2), Some(1), Some(1)));
    assert_eq!((kpis["positive"].as_u64(), kpis["negative"].as_u64()), (Some(1), Some(1)));
}
on_both_backends!(feedback_flow);
