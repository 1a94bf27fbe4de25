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
    verify_with(url, &[], env)
}

/// [`verify`] with more arguments.
fn verify_with(url: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gad"))
        .args(["verify", "--url", url, "--timeout", "5"])
        .args(args)
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

/// The post-deploy list: the domain resolves to the expected address, every compose service
/// runs and is healthy (`docker compose ps`, here a stand-in `docker` on PATH printing what
/// Compose prints), and recent logs hold no error, panic or secret — named by line, never
/// printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_post_deploy_checks_cover_dns_compose_services_and_logs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let port = app.url("").trim_end_matches('/').rsplit(':').next().unwrap().to_owned();
    let url = format!("http://localhost:{port}");
    let dir = std::env::temp_dir().join(format!("gad-verify-post-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Compose's answer, one object per line as Compose v2 prints it.
    let healthy = [
        r#"{"Service":"api","State":"running","Health":"healthy","ExitCode":0}"#,
        r#"{"Service":"db","State":"running","Health":"healthy","ExitCode":0}"#,
        r#"{"Service":"migrate","State":"exited","Health":"","ExitCode":0}"#,
        r#"{"Service":"caddy","State":"running","Health":"","ExitCode":0}"#,
    ]
    .join("\n");
    let ps = dir.join("ps.json");
    std::fs::write(&ps, &healthy).unwrap();
    let docker = dir.join("docker");
    std::fs::write(&docker, format!("#!/bin/sh\n[ \"$1 $2\" = \"compose ps\" ] || exit 2\ncat '{}'\n", ps.display()))
        .unwrap();
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());

    let clean = [
        r#"api-1  | {"timestamp":"2026-12-04T10:00:00Z","level":"INFO","fields":{"message":"GAD listening"},"target":"gad"}"#,
        r#"api-1  | {"timestamp":"2026-12-04T10:00:01Z","level":"WARN","fields":{"message":"the word ERROR in a message is no error"},"target":"gad"}"#,
        r#"bot-1  | 2026-12-04T10:00:02Z  INFO gad::bot: polling"#,
    ]
    .join("\n");
    let logs = dir.join("logs.txt");
    std::fs::write(&logs, &clean).unwrap();
    let env = [("PATH", path.as_str())];
    let args = ["--expect-address", "127.0.0.1", "--compose", "--logs", logs.to_str().unwrap()];
    let (code, report) = verify_with(&url, &args, &env);
    assert_eq!(code, 0, "{report}");
    assert!(line(&report, "dns").starts_with("[OK"), "{report}");
    assert!(line(&report, "servicios").starts_with("[OK"), "{report}");
    assert!(line(&report, "servicios").contains("4 contenedores"), "{report}");
    assert!(line(&report, "registros").starts_with("[OK"), "{report}");
    assert!(line(&report, "caa").starts_with("[OMITE"), "http: no certificate to check\n{report}");

    // The wrong address; an unhealthy database and a failed migration; an error line.
    std::fs::write(
        &ps,
        healthy
            .replace(
                r#""Service":"db","State":"running","Health":"healthy""#,
                r#""Service":"db","State":"running","Health":"unhealthy""#,
            )
            .replace(
                r#""migrate","State":"exited","Health":"","ExitCode":0"#,
                r#""migrate","State":"exited","Health":"","ExitCode":1"#,
            ),
    )
    .unwrap();
    let error = r#"api-1  | {"timestamp":"2026-12-04T10:00:03Z","level":"ERROR","fields":{"message":"internal error"},"target":"gad"}"#;
    std::fs::write(&logs, format!("{clean}\n{error}\nthread 'tokio' panicked at src/x.rs:1:1")).unwrap();
    let args = ["--expect-address", "10.255.255.1", "--compose", "--logs", logs.to_str().unwrap()];
    let (code, report) = verify_with(&url, &args, &env);
    assert_eq!(code, 1, "{report}");
    assert!(line(&report, "dns").starts_with("[FALLA") && line(&report, "dns").contains("10.255.255.1"), "{report}");
    let services = line(&report, "servicios");
    assert!(services.starts_with("[FALLA") && services.contains("db (running, unhealthy)"), "{report}");
    assert!(services.contains("migrate (exited, código 1)") && !services.contains("api"), "{report}");
    let logs_line = line(&report, "registros");
    assert!(
        logs_line.starts_with("[FALLA") && logs_line.contains("2 líneas") && logs_line.contains("4, 5"),
        "{report}"
    );

    // Secrets: the configured bot token, a URL with a password, another token's shape. The
    // report names them and their lines; the verify helper fails if any value is printed.
    let leaked = format!(
        "{clean}\nbot-1 | calling https://api.telegram.org/bot{BOT_TOKEN}/getMe\napi-1 | db postgres://gad:hunter2hunter2@db/gad\nx | 1234567890:AAHkq3o8cOtlUdOmsWm8CS5XyZ0123456789"
    );
    std::fs::write(&logs, leaked).unwrap();
    // The configured token is known to the check (its Bot API, a closed port, fails fast).
    let closed = format!("http://{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap());
    let env = [("TELEGRAM_BOT_TOKEN", BOT_TOKEN), ("TELEGRAM_API_URL", closed.as_str())];
    let (code, report) = verify_with(&url, &["--logs", logs.to_str().unwrap()], &env);
    assert_eq!(code, 1, "{report}");
    let logs_line = line(&report, "registros");
    assert!(logs_line.contains("TELEGRAM_BOT_TOKEN (línea 4)"), "{report}");
    assert!(logs_line.contains("una URL con contraseña (línea 5)"), "{report}");
    assert!(logs_line.contains("un token de bot (línea 6)"), "{report}");
    assert!(!report.contains("hunter2") && !report.contains("AAHkq3o8"), "{report}");
    assert!(line(&report, "dns").starts_with("[OMITE") && line(&report, "servicios").starts_with("[OMITE"), "{report}");

    // Logs from standard input; Compose that cannot answer (no compose project here).
    std::fs::write(&docker, "#!/bin/sh\necho 'no configuration file provided: not found' >&2\nexit 14\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gad"))
        .args(["verify", "--url", &url, "--timeout", "5", "--logs", "-", "--compose"])
        .env_clear()
        .env("PATH", &path)
        .env("RUST_LOG", "error")
        .stdin(std::fs::File::open(&ps).unwrap())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(line(&report, "registros").starts_with("[OK"), "{report}");
    assert!(line(&report, "servicios").contains("no configuration file provided"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One CAA record: flags, tag, value.
type Caa = (u8, &'static str, &'static str);

/// A DNS server on 127.0.0.1 that answers CAA questions from `zone` (name → its CAA records)
/// and NXDOMAIN for any other name; it counts the questions.
async fn dns_server(zone: Vec<(&'static str, Vec<Caa>)>) -> std::net::SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else { return };
            let q = &buf[..n];
            // The question: labels from offset 12, then type and class.
            let mut at = 12;
            let mut labels = Vec::new();
            while q[at] != 0 {
                let len = q[at] as usize;
                labels.push(String::from_utf8_lossy(&q[at + 1..at + 1 + len]).into_owned());
                at += 1 + len;
            }
            let question = &q[12..at + 5];
            assert_eq!(&q[at + 1..at + 3], &[1, 1], "a CAA question");
            let name = labels.join(".");
            let records = zone.iter().find(|(n, _)| *n == name).map(|(_, r)| r.clone());
            let mut answer = Vec::new();
            answer.extend_from_slice(&q[..2]);
            let rcode = if records.is_some() { 0 } else { 3 };
            answer.extend_from_slice(&[0x81, 0x80 | rcode, 0, 1]);
            let records = records.unwrap_or_default();
            answer.extend_from_slice(&(records.len() as u16).to_be_bytes());
            answer.extend_from_slice(&[0, 0, 0, 0]);
            answer.extend_from_slice(question);
            for (flags, tag, value) in records {
                answer.extend_from_slice(&[0xc0, 12, 1, 1, 0, 1, 0, 0, 1, 44]);
                let rdata = [&[flags, tag.len() as u8][..], tag.as_bytes(), value.as_bytes()].concat();
                answer.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                answer.extend_from_slice(&rdata);
            }
            let _ = socket.send_to(&answer, peer).await;
        }
    });
    addr
}

/// CAA (RFC 8659), asked of a real DNS server over UDP: the host's own records or its closest
/// ancestor's decide; none anywhere passes; another authority, "nobody", an unknown critical
/// property or a silent server fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caa_records_must_allow_the_sites_certificate_authority() {
    use gad_server::verify::{Outcome, check_caa};
    let dns = dns_server(vec![
        ("ejemplo.test", vec![(0, "issue", "letsencrypt.org"), (0, "iodef", "mailto:ops@ejemplo.test")]),
        ("otra.test", vec![(0, "issue", "digicert.com; account=1")]),
        ("propio.otra.test", vec![(0, "issue", "sectigo.com")]),
        ("nadie.test", vec![(0, "issue", ";")]),
        ("critica.test", vec![(128, "tbs", "x"), (0, "issue", "letsencrypt.org")]),
        ("sin.test", vec![]),
    ])
    .await;
    let defaults: Vec<String> = Vec::new();
    let check = |host: &'static str, cas: Vec<String>| async move {
        check_caa(&format!("https://{host}"), Some(dns), &cas).await
    };

    let ok = check("gad.ejemplo.test", defaults.clone()).await;
    assert_eq!(ok.outcome, Outcome::Pass, "{ok}");
    assert!(ok.detail.contains("ejemplo.test") && ok.detail.contains("letsencrypt.org"), "{ok}");
    let own = check("propio.otra.test", defaults.clone()).await;
    assert_eq!(own.outcome, Outcome::Pass, "the host's own records win over its parent's: {own}");
    let none = check("gad.sin.test", defaults.clone()).await;
    assert_eq!(none.outcome, Outcome::Pass, "{none}");
    assert!(none.detail.contains("sin registros CAA"), "{none}");

    let other = check("gad.otra.test", defaults.clone()).await;
    assert_eq!(other.outcome, Outcome::Fail, "{other}");
    assert!(other.detail.contains("digicert.com") && other.detail.contains("letsencrypt.org"), "{other}");
    // The same records pass for a site whose authority is the one they name.
    let digicert = check("gad.otra.test", vec!["digicert.com".into()]).await;
    assert_eq!(digicert.outcome, Outcome::Pass, "{digicert}");
    assert_eq!(check("gad.nadie.test", defaults.clone()).await.outcome, Outcome::Fail);
    let critical = check("gad.critica.test", defaults.clone()).await;
    assert!(critical.outcome == Outcome::Fail && critical.detail.contains("tbs"), "{critical}");

    // http, an address, localhost: nothing to check.
    for base in ["http://gad.ejemplo.test", "https://127.0.0.1:8443", "https://localhost"] {
        assert_eq!(check_caa(base, Some(dns), &defaults).await.outcome, Outcome::Skipped, "{base}");
    }
    // A server that does not answer fails the check (an authority would not issue either).
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let mute = check_caa("https://gad.ejemplo.test", Some(silent_addr), &defaults).await;
    assert!(mute.outcome == Outcome::Fail && mute.detail.contains("no respondió"), "{mute}");
    drop(silent);
}
