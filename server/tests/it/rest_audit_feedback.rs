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
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
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

    // The chain counts the rows sealed so far: the sealer runs after commit, on its own time.
    gad_core::sealer::seal_now(&app.state.db).await.unwrap();
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

/// Inserts a feedback row written at `at`, as `create` would have (sentiment from the words).
async fn feedback_at(app: &TestApp, text: &str, category: &str, at: chrono::DateTime<chrono::Utc>) -> i64 {
    use sea_orm::{ActiveModelTrait, Set};
    let (score, label) = gad_core::services::feedback::sentiment(text);
    let row = gad_core::entities::feedback::ActiveModel {
        channel: Set(Channel::Telegram),
        user_id: Set(None),
        telegram_user_id: Set(Some(7001)),
        text: Set(text.to_owned()),
        category: Set(Some(category.to_owned())),
        sentiment_score: Set(Some(score)),
        sentiment_label: Set(Some(label.to_owned())),
        status: Set(contract::domain::FeedbackStatus::New),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    row.id
}

/// The weekly digest counts the local week (Monday 00:00 to Monday 00:00 in the configured
/// zone), compares it with the week before, orders categories and the most negative items,
/// and draws four weeks of sentiment; officers may not read it.
async fn the_feedback_digest_counts_the_local_week(backend: Backend) {
    use chrono::TimeZone;
    let app = TestApp::spawn(backend).await;
    let tz = app.state.config.timezone;
    let at = |m: u32, d: u32, h: u32, min: u32| {
        tz.with_ymd_and_hms(2025, m, d, h, min, 0).unwrap().with_timezone(&chrono::Utc)
    };
    // The week of Monday 2025-03-03, and around it.
    let worst =
        feedback_at(&app, "El bot es lento, tiene un error y falla siempre, muy mal", "sistema", at(3, 4, 10, 0)).await;
    let bad = feedback_at(&app, "El mapa es lento", "sistema", at(3, 5, 9, 0)).await;
    feedback_at(&app, "Excelente el nuevo turno, muy bien", "operativo", at(3, 6, 12, 0)).await;
    feedback_at(&app, "Consulta sobre el franco", "general", at(3, 9, 23, 30)).await; // Sunday night: still this week
    feedback_at(&app, "El bot falla", "sistema", at(3, 10, 0, 30)).await; // next Monday: not this week
    feedback_at(&app, "Todo bien", "general", at(2, 26, 15, 0)).await; // the week before
    feedback_at(&app, "Un error grave", "sistema", at(2, 12, 8, 0)).await; // three weeks before

    let supervisor =
        actor_for_user(&app.state, user_id(&app, "supervisor@gad.local").await, Channel::Web).await.unwrap();
    let week = chrono::NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
    // Any day of the week names it.
    let digest =
        gad_core::services::feedback::digest(&app.state, &supervisor, week + chrono::Duration::days(3)).await.unwrap();
    assert_eq!(digest.week_start, week);
    assert_eq!((digest.total, digest.previous_total), (4, 1));
    let categories: Vec<(&str, u64)> = digest.by_category.iter().map(|c| (c.category.as_str(), c.count)).collect();
    assert_eq!(categories, [("sistema", 2), ("general", 1), ("operativo", 1)]);
    let worst_ids: Vec<i64> = digest.worst.iter().map(|f| f.id).collect();
    assert_eq!(worst_ids, [worst, bad], "negative items only, most negative first");
    let trend: Vec<(chrono::NaiveDate, u64, u64)> =
        digest.trend.iter().map(|w| (w.week_start, w.total, w.negative)).collect();
    let monday = |d: u32, m: u32| chrono::NaiveDate::from_ymd_opt(2025, m, d).unwrap();
    assert_eq!(trend, [(monday(10, 2), 1, 1), (monday(17, 2), 0, 0), (monday(24, 2), 1, 0), (week, 4, 2)]);
    let open = gad_core::entities::feedback::Entity::find()
        .filter(gad_core::entities::feedback::Column::Status.ne(contract::domain::FeedbackStatus::Resolved))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(digest.open, open);

    let officer = actor_for_user(&app.state, user_id(&app, "efectivo1@gad.local").await, Channel::Web).await.unwrap();
    let refused = gad_core::services::feedback::digest(&app.state, &officer, week).await.unwrap_err();
    assert_eq!(contract::ApiError::from(refused).code, ErrorCode::Forbidden);
}
on_both_backends!(the_feedback_digest_counts_the_local_week);

async fn user_id(app: &TestApp, email: &str) -> i64 {
    use gad_core::entities::users;
    users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap().id
}
