//! `/metrics`: HTTP metrics by route and status, and domain gauges that match the database.
//! The recorder is one per process, so the server under test is a process of its own.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Backend, GadProcess};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

fn value(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{series} not in:\n{body}"))
}

async fn count(db: &DatabaseConnection, sql: &str) -> f64 {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reflect_requests_and_the_database() {
    let database_url = common::fresh_database(Backend::Postgres).await;
    let app = GadProcess::start(&database_url, &[]).await;
    let db = Database::connect(&database_url).await.unwrap();
    let http = reqwest::Client::new();
    for _ in 0..3 {
        http.get(app.url("/health")).send().await.unwrap();
    }
    http.get(app.url("/api/v1/users/7")).send().await.unwrap();
    http.get(app.url("/no/such/page.php")).send().await.unwrap();
    // HTTP takes any token as a method: each made-up one must not become a series of its own.
    for i in 0..3 {
        let method = reqwest::Method::from_bytes(format!("X{}{i}", "M".repeat(2_000)).as_bytes()).unwrap();
        http.request(method, app.url("/health")).send().await.unwrap();
    }

    let res = http.get(app.url("/metrics")).send().await.unwrap();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let body = res.text().await.unwrap();
    assert_eq!(value(&body, r#"gad_http_requests_total{method="GET",route="/health",status="200"}"#), 3.0);
    assert_eq!(value(&body, r#"gad_http_requests_total{method="GET",route="/api/v1/users/{id}",status="401"}"#), 1.0);
    let other: f64 = body
        .lines()
        .filter(|l| l.starts_with(r#"gad_http_requests_total{method="other",route="/health""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(other, 3.0, "made-up methods counted under one label:\n{body}");
    assert!(!body.contains("MMMMMMMM"), "a made-up method became a label");
    assert!(body.contains(r#"route="unmatched",status="404""#));
    assert!(body.contains("gad_http_request_duration_seconds_bucket"));
    assert!(body.contains(r#"gad_build_info{version=""#));

    let open = "SELECT COUNT(*) FROM tasks WHERE deleted_at IS NULL AND status IN ('scheduled','in_progress','paused')";
    for priority in ["low", "medium", "high", "urgent", "critical"] {
        let expected = count(&db, &format!("{open} AND priority = '{priority}'")).await;
        assert_eq!(
            value(&body, &format!(r#"gad_tasks_open_by_priority{{priority="{priority}"}}"#)),
            expected,
            "{priority}"
        );
    }
    for status in ["available", "on_task", "off_duty", "unavailable"] {
        let expected =
            count(&db, &format!("SELECT COUNT(*) FROM officers WHERE deleted_at IS NULL AND status = '{status}'"))
                .await;
        assert_eq!(value(&body, &format!(r#"gad_officers_by_status{{status="{status}"}}"#)), expected, "{status}");
    }
    assert_eq!(value(&body, "gad_officers_stale_positions"), 0.0, "demo positions are fresh");
    assert_eq!(value(&body, "gad_emergencies_open"), 0.0);
    assert!(value(&body, r#"gad_db_pool_max_connections"#) >= 1.0);

    // An officer's position goes stale: the gauge follows the database.
    db.execute_unprepared(
        "UPDATE officers SET last_position_at = last_position_at - INTERVAL '1 hour' WHERE code = 'EF-001'",
    )
    .await
    .unwrap();
    let body = http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(value(&body, "gad_officers_stale_positions"), 1.0);
}
