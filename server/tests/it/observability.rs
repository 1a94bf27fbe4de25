//! The real `gad` binary, as operators run it: JSON request logs (one line per request with
//! request id, route, method, status, latency and user id; no secret ever), and a `/metrics`
//! scrape that carries every series the alert rules and dashboards use, following the
//! database and Redis as they go down.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ADMIN_PASSWORD, Backend};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const BOT_TOKEN: &str = "123456789:AAF-very-secret-bot-token-xyz";
const WEBHOOK_SECRET: &str = "webhook-secret-0123456789abcdef";
const S3_SECRET: &str = "s3-secret-access-key-do-not-log";
const WRONG_PASSWORD: &str = "wrong-password-never-logged";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private Redis on an ephemeral port, so this test can stop it.
fn private_redis() -> (Proc, String) {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("gad-obs-redis-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let redis = Proc(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/install-deps.sh --test)"),
    );
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (redis, url);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("redis-server did not start on {port}");
}

/// Collects the lines a stream writes, in a thread.
fn capture(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            into.lock().unwrap().push(line);
        }
    });
}

fn series(body: &str, name: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_and_metrics_of_the_real_binary() {
    let database_url = common::fresh_database(Backend::Postgres).await;
    let (mut redis, redis_url) = private_redis();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gad"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("DATABASE_URL", &database_url)
        .env("REDIS_URL", &redis_url)
        .env("GAD_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("GAD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("GAD_2FA_REQUIRED_ROLES", "none")
        .env("GAD_DEMO_PASSWORD", common::DEMO_PASSWORD)
        .env("GAD_SEED_DEMO", "true")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
        .env("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
        // Nothing listens there: sends fail, and their errors must not name the token.
        .env("TELEGRAM_API_URL", format!("http://127.0.0.1:{}", free_port()))
        .env("GAD_BACKUP_S3_BUCKET", "gad-backups")
        .env("GAD_BACKUP_S3_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("GAD_BACKUP_S3_SECRET_ACCESS_KEY", S3_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    capture(child.stdout.take().unwrap(), lines.clone());
    capture(child.stderr.take().unwrap(), lines.clone());
    let _gad = Proc(child);

    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let mut ready = false;
    for _ in 0..300 {
        if http.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "gad did not become ready: {:?}", lines.lock().unwrap());

    // A failed and a good login, a token, a bearer call, a webhook update, an idempotent retry.
    let anonymous = reqwest::Client::new();
    let bad = anonymous
        .post(format!("{base}/api/fn/login"))
        .header("accept", "application/json")
        .form(&[("email", "admin@gad.local"), ("password", WRONG_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(!bad.status().is_success());
    let res = http
        .post(format!("{base}/api/fn/login"))
        .header("accept", "application/json")
        .form(&[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let me: Value = http.get(format!("{base}/api/v1/me")).send().await.unwrap().json().await.unwrap();
    let admin_id = me["id"].as_i64().unwrap();
    let token: Value = http
        .post(format!("{base}/api/v1/users/{admin_id}/tokens"))
        .json(&json!({ "name": "observabilidad" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let listed = anonymous.get(format!("{base}/api/v1/tasks?limit=5")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(listed.status(), 200);
    let request_id = listed.headers()["x-request-id"].to_str().unwrap().to_owned();

    let update = json!({ "update_id": 1, "message": {
        "message_id": 1, "date": 1_700_000_000, "text": "/start",
        "chat": { "id": 555, "type": "private", "first_name": "Ana" },
        "from": { "id": 555, "is_bot": false, "first_name": "Ana" } } });
    let hook = anonymous
        .post(format!("{base}/telegram/webhook"))
        .header("x-telegram-bot-api-secret-token", WEBHOOK_SECRET)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 200);

    let task = json!({ "title": "Patrullaje con clave de idempotencia", "task_type": "patrol", "priority": "urgent" });
    for expected in [201, 201] {
        let res = anonymous
            .post(format!("{base}/api/v1/tasks"))
            .bearer_auth(&token)
            .header("idempotency-key", "obs-1")
            .json(&task)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected);
    }

    // The scrape: every series the alert rules and dashboards use, with the database's values.
    let scrape = anonymous.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(scrape.status(), 200);
    let body = scrape.text().await.unwrap();
    let samples = gad_server::verify::parse_exposition(&body).expect("valid exposition format");
    assert!(samples.len() > 20);
    let db = Database::connect(&database_url).await.unwrap();
    let count = |sql: String| {
        let db = &db;
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap() as f64
        }
    };
    for priority in ["low", "medium", "high", "urgent", "critical"] {
        let expected = count(format!(
            "SELECT COUNT(*) FROM tasks WHERE deleted_at IS NULL AND status IN ('scheduled','in_progress','paused') \
             AND priority = '{priority}'"
        ))
        .await;
        let name = format!(r#"gad_tasks_open_by_priority{{priority="{priority}"}}"#);
        assert_eq!(series(&body, &name), Some(expected), "{name}");
    }
    assert!(series(&body, r#"gad_tasks_open_by_priority{priority="urgent"}"#).unwrap() >= 1.0);
    for status in ["available", "on_task", "off_duty", "unavailable"] {
        let expected =
            count(format!("SELECT COUNT(*) FROM officers WHERE deleted_at IS NULL AND status = '{status}'")).await;
        let name = format!(r#"gad_officers_by_status{{status="{status}"}}"#);
        assert_eq!(series(&body, &name), Some(expected), "{name}");
    }
    assert_eq!(series(&body, "gad_db_up"), Some(1.0));
    assert_eq!(series(&body, "gad_redis_up"), Some(1.0));
    assert_eq!(series(&body, r#"gad_cache_requests_total{cache="idempotency",result="miss"}"#), Some(1.0));
    assert_eq!(series(&body, r#"gad_cache_requests_total{cache="idempotency",result="hit"}"#), Some(1.0));
    assert!(body.contains("# TYPE gad_http_request_duration_seconds histogram"));
    // No backup yet: the series is absent rather than a fake zero (tests/backup.rs sees it appear).
    assert!(!body.contains("gad_backup_last_success_timestamp_seconds"));

    // Redis goes away: the gauge says so (the refresh has a bounded probe).
    redis.0.kill().unwrap();
    redis.0.wait().unwrap();
    let body = anonymous.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(series(&body, "gad_redis_up"), Some(0.0), "{body}");

    // The database goes away: the scrape still answers, with gad_db_up 0.
    let name = database_url.rsplit('/').next().unwrap().to_owned();
    let admin = Database::connect(common::pg_server_url()).await.unwrap();
    db.close().await.unwrap();
    admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
    let started = std::time::Instant::now();
    let body = anonymous.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(series(&body, "gad_db_up"), Some(0.0), "{body}");
    assert!(started.elapsed() < Duration::from_secs(8), "the scrape is bounded in time");

    // The log: every line is JSON; the bearer request's line names everything.
    let mut found = None;
    for _ in 0..100 {
        found = lines.lock().unwrap().iter().find_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            (v["message"] == "request" && v["span"]["request_id"] == request_id.as_str()).then_some(v)
        });
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = lines.lock().unwrap().clone();
    let line = found.unwrap_or_else(|| panic!("no request line for {request_id}:\n{}", all.join("\n")));
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["route"], "/api/v1/tasks");
    assert_eq!(line["span"]["user_id"], admin_id);
    assert!(line["timestamp"].is_string());

    for l in &all {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}"));
        if v["message"] == "request" {
            assert!(v["span"]["route"].is_string() && v["status"].is_u64(), "{l}");
        }
    }
    let webhook_line = all.iter().find(|l| l.contains("/telegram/webhook")).expect("the webhook request is logged");
    assert!(webhook_line.contains(r#""route":"/telegram/webhook""#), "{webhook_line}");
    let text = all.join("\n");
    for secret in [
        ADMIN_PASSWORD,
        WRONG_PASSWORD,
        common::DEMO_PASSWORD,
        BOT_TOKEN,
        "very-secret-bot-token",
        WEBHOOK_SECRET,
        S3_SECRET,
        &token,
    ] {
        assert!(!text.contains(secret), "a secret reached the log:\n{text}");
    }
    let _ = admin.close().await;
}
