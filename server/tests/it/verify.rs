//! `gad verify --url`: the real binary against a running GAD (passes), a dead port and a
//! server that is not GAD (fail), with a fake Telegram Bot API on 127.0.0.1 for the webhook.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use common::{Backend, TestApp};
use serde_json::{Value, json};

const BOT_TOKEN: &str = "987654321:verify-secret-bot-token";
const WEBHOOK_SECRET: &str = "verify-webhook-secret-0123456789";

/// A fake Bot API answering `getWebhookInfo` with `info`, recording the paths asked for.
async fn fake_telegram(info: Value) -> (String, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let state = (calls.clone(), info);
    let app = axum::Router::new()
        .fallback(|State((calls, info)): State<(Arc<Mutex<Vec<String>>>, Value)>, uri: Uri| async move {
            calls.lock().unwrap().push(uri.path().to_owned());
            Json(json!({ "ok": true, "result": info }))
        })
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

/// Runs `gad verify --url <url>` with only the given environment; returns (exit code, stdout).
fn verify(url: &str, env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gad"))
        .args(["verify", "--url", url, "--timeout", "5"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    for secret in [BOT_TOKEN, WEBHOOK_SECRET] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "secret printed:\n{stdout}\n{stderr}");
    }
    (output.status.code().unwrap(), stdout)
}

fn line<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.get(9..).is_some_and(|rest| rest.starts_with(name)))
        .unwrap_or_else(|| panic!("no {name} line:\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_gad_passes_with_its_webhook_registered() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let public = "https://gad.example.org";
    let (telegram, calls) = fake_telegram(json!({
        "url": format!("{public}/telegram/webhook"),
        "has_custom_certificate": false,
        "pending_update_count": 2
    }))
    .await;
    let env = [
        ("TELEGRAM_BOT_TOKEN", BOT_TOKEN),
        ("TELEGRAM_API_URL", telegram.as_str()),
        ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("GAD_PUBLIC_URL", public),
    ];
    let (code, report) = verify(&app.url(""), &env);
    assert_eq!(code, 0, "{report}");
    for name in ["salud", "listo", "métricas", "login", "webhook"] {
        assert!(line(&report, name).starts_with("[OK"), "{name}:\n{report}");
    }
    assert!(line(&report, "tls").starts_with("[OMITE"), "plain HTTP has no certificate:\n{report}");
    assert!(line(&report, "webhook").contains("2 actualizaciones pendientes"), "{report}");
    assert!(report.contains("verificación correcta"), "{report}");
    assert_eq!(calls.lock().unwrap().as_slice(), [format!("/bot{BOT_TOKEN}/getWebhookInfo")]);

    // Without a bot token the webhook is skipped, not failed.
    let (code, report) = verify(&app.url("/"), &[]);
    assert_eq!(code, 0, "{report}");
    assert!(line(&report, "webhook").starts_with("[OMITE"), "{report}");

    // A registration from before the secret left the path fails, and is not echoed.
    let (old, _) = fake_telegram(json!({
        "url": format!("{public}/telegram/webhook/{WEBHOOK_SECRET}"),
        "pending_update_count": 0
    }))
    .await;
    let env = [
        ("TELEGRAM_BOT_TOKEN", BOT_TOKEN),
        ("TELEGRAM_API_URL", old.as_str()),
        ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("GAD_PUBLIC_URL", public),
    ];
    let (code, report) = verify(&app.url(""), &env);
    assert_eq!(code, 1, "{report}");
    assert!(line(&report, "webhook").starts_with("[FALLA"), "{report}");
    assert!(line(&report, "webhook").contains("--set-webhook"), "{report}");
    assert!(!report.contains(WEBHOOK_SECRET), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_port_and_a_foreign_server_fail() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, report) = verify(&format!("http://{dead}"), &[]);
    assert_eq!(code, 1, "{report}");
    assert!(line(&report, "salud").starts_with("[FALLA"), "{report}");
    assert!(line(&report, "salud").contains("no se pudo conectar"), "{report}");
    assert!(report.contains("verificación FALLIDA"), "{report}");

    // A server that answers everything with the same JSON is not GAD; and Telegram reports
    // that it cannot deliver to the registered webhook.
    let (foreign, _) = fake_telegram(json!({
        "url": "https://gad.example.org/telegram/webhook",
        "pending_update_count": 40,
        "last_error_date": chrono::Utc::now().timestamp() - 60,
        "last_error_message": "Connection refused"
    }))
    .await;
    let env = [
        ("TELEGRAM_BOT_TOKEN", BOT_TOKEN),
        ("TELEGRAM_API_URL", foreign.as_str()),
        ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("GAD_PUBLIC_URL", "https://gad.example.org"),
    ];
    let (code, report) = verify(&foreign, &env);
    assert_eq!(code, 1, "{report}");
    for name in ["salud", "listo", "métricas", "login", "webhook"] {
        assert!(line(&report, name).starts_with("[FALLA"), "{name}:\n{report}");
    }
    assert!(line(&report, "webhook").contains("Connection refused"), "{report}");
    assert!(line(&report, "métricas").contains("application/json"), "{report}");
}
