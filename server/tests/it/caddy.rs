//! Caddy (the Debian package) in front of two real `gad serve` processes that share one
//! PostgreSQL and one Redis, all on loopback: requests are spread over both replicas, a session
//! made through Caddy works on both, a live event raised on one reaches a stream opened through
//! Caddy on the other, and once a replica stops no request is lost. Then `gad verify` checks
//! the HTTPS site (Caddy's internal CA) including its certificate's expiry.
//!
//! The Caddyfile is generated here with the directives of the repository's `Caddyfile`
//! (compression, security headers, health-checked load balancing, unbuffered streaming, JSON
//! logs) but loopback upstreams and ports, so the test owns every address it uses.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{ADMIN_PASSWORD, Backend, GadProcess};
use futures::StreamExt;
use serde_json::{Value, json};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_for(url: &str, http: &reqwest::Client) {
    for _ in 0..300 {
        if http.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not answer");
}

/// The repository Caddyfile's directives, with loopback addresses and test ports.
fn caddyfile(http_port: u16, https_port: u16, upstreams: &[u16]) -> String {
    let upstreams: Vec<String> = upstreams.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!(
        r#"{{
	admin off
	skip_install_trust
	local_certs
	http_port {http_port}
	https_port {https_port}
	auto_https disable_redirects
}}

(gad) {{
	encode zstd gzip
	header {{
		Strict-Transport-Security "max-age=31536000; includeSubDomains"
		X-Content-Type-Options "nosniff"
		Referrer-Policy "strict-origin-when-cross-origin"
		X-Frame-Options "DENY"
		-Server
	}}
	reverse_proxy {upstreams} {{
		lb_policy round_robin
		lb_try_duration 5s
		lb_try_interval 100ms
		health_uri /health
		health_interval 500ms
		health_timeout 2s
		fail_duration 10s
		max_fails 3
		buffer_requests
		flush_interval -1
	}}
	log {{
		output stderr
		format json
	}}
}}

http://127.0.0.1:{http_port} {{
	import gad
}}

https://localhost:{https_port} {{
	tls internal
	import gad
}}
"#,
        upstreams = upstreams.join(" ")
    )
}

fn start_caddy(dir: &Path, config: &str) -> Proc {
    let file = dir.join("Caddyfile");
    std::fs::write(&file, config).unwrap();
    let child = Command::new(std::env::var("GAD_TEST_CADDY").unwrap_or_else(|_| "caddy".into()))
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&file)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("caddy.log")).unwrap())
        .spawn()
        .expect("caddy is installed (scripts/install-deps.sh --test)");
    Proc(child)
}

/// `gad_http_requests_total` of one replica for a route and status.
async fn served(port: u16, route: &str, status: u16) -> f64 {
    let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
    let series = format!(r#"gad_http_requests_total{{method="GET",route="{route}",status="{status}"}}"#);
    body.lines().find_map(|l| l.strip_prefix(&series).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_caddy() {
    let database_url = common::fresh_database(Backend::Postgres).await;
    let first = GadProcess::start(&database_url, &[]).await;
    let second_replica = GadProcess::start(&database_url, &[]).await;
    let ports = [first.port(), second_replica.port()];
    let mut second = Some(second_replica);

    let dir = std::env::temp_dir().join(format!("gad-caddy-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (http_port, https_port) = (free_port(), free_port());
    let _caddy = start_caddy(&dir, &caddyfile(http_port, https_port, &ports));
    let site = format!("http://127.0.0.1:{http_port}");
    let plain = reqwest::Client::new();
    wait_for(&format!("{site}/health"), &plain).await;

    // Security headers and compression come from Caddy.
    let res = plain.get(format!("{site}/login")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().contains("max-age=31536000"));
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(!res.headers().contains_key("server"));

    // A session made through Caddy works on both replicas.
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = browser
        .post(format!("{site}/api/fn/login"))
        .header("accept", "application/json")
        .form(&[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let before = [served(ports[0], "/api/v1/me", 200).await, served(ports[1], "/api/v1/me", 200).await];
    let mut me = Value::Null;
    for _ in 0..10 {
        let res = browser.get(format!("{site}/api/v1/me")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        me = res.json().await.unwrap();
    }
    assert_eq!(me["email"], "admin@gad.local");
    let after = [served(ports[0], "/api/v1/me", 200).await, served(ports[1], "/api/v1/me", 200).await];
    assert_eq!(after[0] - before[0] + after[1] - before[1], 10.0);
    assert!(after[0] > before[0] && after[1] > before[1], "both replicas served the session: {before:?} → {after:?}");

    // A live event raised on one replica reaches a stream opened through Caddy on the other.
    let token: Value = browser
        .post(format!("{site}/api/v1/users/{}/tokens", me["id"]))
        .json(&json!({ "name": "caddy" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let streams = |p| served(p, "/api/v1/events/stream", 200);
    let before = [streams(ports[0]).await, streams(ports[1]).await];
    let stream = plain.get(format!("{site}/api/v1/events/stream")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut body = stream.bytes_stream();
    let holder = if streams(ports[0]).await > before[0] { 0 } else { 1 };
    assert!(streams(ports[holder]).await > before[holder]);
    let other = ports[1 - holder];
    let created: Value = plain
        .post(format!("http://127.0.0.1:{other}/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&json!({ "title": "Corte de tránsito en Av. Corrientes", "task_type": "patrol", "priority": "high" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = created["code"].as_str().unwrap().to_owned();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut text = String::new();
        while let Some(chunk) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if text.contains("event: task.created") && text.contains(&code) {
                return;
            }
        }
        panic!("stream ended: {text}");
    })
    .await
    .expect("the event crossed replicas and Caddy within 10 s");
    drop(body);

    // One replica stops; after the health check notices, no request is lost.
    drop(second.take());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for i in 0..40 {
        let res = browser.get(format!("{site}/api/v1/me")).send().await.unwrap();
        assert_eq!(res.status(), 200, "request {i} after the stop");
    }
    let res = plain.get(format!("{site}/ready")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // `gad verify` through Caddy's HTTPS site, trusting Caddy's internal root.
    let root = dir.join("data/caddy/pki/authorities/local/root.crt");
    let https = format!("https://localhost:{https_port}");
    let mut report = String::new();
    for _ in 0..50 {
        let output = Command::new(env!("CARGO_BIN_EXE_gad"))
            .args(["verify", "--url", &https, "--min-cert-days", "0", "--ca-cert"])
            .arg(&root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .output()
            .unwrap();
        report = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let tls = report.lines().find(|l| l.contains("] tls")).unwrap_or_else(|| panic!("{report}"));
    assert!(tls.starts_with("[OK") && tls.contains("válido hasta"), "{report}");
    // Caddy's internal leaf certificates live hours, not weeks: the default 14-day margin fails.
    let output = Command::new(env!("CARGO_BIN_EXE_gad"))
        .args(["verify", "--url", &https, "--ca-cert"])
        .arg(&root)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(report.lines().any(|l| l.starts_with("[FALLA") && l.contains("vence")), "{report}");
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One of two replicas behind Caddy killed with SIGKILL under a steady write load: the write
/// in flight to it may fail (Caddy does not retry a POST), the live stream it held ends and
/// resumes on the survivor through `Last-Event-ID`, and nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_request_loses_nothing() {
    use crate::faults::{Figures, check, connected, state_of, watch, write_load};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let database_url = common::fresh_database(Backend::Postgres).await;
    let first = GadProcess::start(&database_url, &[]).await;
    let mut second = GadProcess::start(&database_url, &[]).await;
    let dir = std::env::temp_dir().join(format!("gad-caddy-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (http_port, https_port) = (free_port(), free_port());
    let _caddy = start_caddy(&dir, &caddyfile(http_port, https_port, &[first.port(), second.port()]));
    let site = format!("http://127.0.0.1:{http_port}");
    wait_for(&format!("{site}/health"), &reqwest::Client::new()).await;
    let token = first.admin_token().await;
    let state = state_of(&database_url).await;

    let stop = Arc::new(AtomicBool::new(false));
    let (watched, watcher) = watch(site.clone(), token.clone(), stop.clone());
    connected(&watched).await;
    let load = write_load(site.clone(), token, None, Duration::from_millis(30), stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    second.kill_hard();
    let back = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::SeqCst);
    let attempts = load.await.unwrap();
    let figures = Figures { fault: "one of two replicas behind Caddy SIGKILLed", attempts, back };
    check(&figures, &state, &watched, None).await;
    watcher.await.unwrap();
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

const WEBHOOK_SECRET: &str = "caddy-webhook-secret-0123456789";
/// A cargo-leptos content hash (MD5, base64url, 22 characters).
const HASH: &str = "Xq3v_9-kP0aZbC1dE2fG3h";

/// The repository's own Caddyfile (not a copy of its directives) in front of one `gad serve`
/// running the Telegram webhook: the webhook's secret reaches neither Caddy's access log nor
/// GAD's log (nor do session cookies and bearer tokens), `/metrics` and `/ready` are not on
/// the public site, and each security header is sent once, GAD's where GAD answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_caddyfile_keeps_secrets_and_internals_off_the_site() {
    let dir = std::env::temp_dir().join(format!("gad-caddy-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("site/pkg")).unwrap();
    std::fs::write(dir.join("site/pkg/gad.css"), "body{}").unwrap();
    std::fs::write(dir.join(format!("site/pkg/gad.{HASH}.wasm")), b"\0asm").unwrap();
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let (port, telegram) = (free_port(), free_port());
    let gad = Command::new(env!("CARGO_BIN_EXE_gad"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("DATABASE_URL", &database_url)
        .env("GAD_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("GAD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("GAD_2FA_REQUIRED_ROLES", "none")
        .env("TELEGRAM_BOT_TOKEN", "123456:caddy-test")
        .env("TELEGRAM_API_URL", format!("http://127.0.0.1:{telegram}"))
        .env("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("LEPTOS_SITE_ROOT", dir.join("site"))
        .stdout(std::fs::File::create(dir.join("gad.log")).unwrap())
        .stderr(std::fs::File::create(dir.join("gad.err")).unwrap())
        .spawn()
        .unwrap();
    let gad = Proc(gad);
    let direct = format!("http://127.0.0.1:{port}");
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    wait_for(&format!("{direct}/ready"), &plain).await;

    let site_port = free_port();
    let caddy = Command::new(std::env::var("GAD_TEST_CADDY").unwrap_or_else(|_| "caddy".into()))
        .args(["run", "--adapter", "caddyfile", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/../Caddyfile")])
        .env("GAD_CADDY_ADMIN", "off")
        .env("GAD_DOMAIN", format!(":{site_port}"))
        .env("GAD_UPSTREAMS", format!("127.0.0.1:{port}"))
        .env("GAD_SITE_ROOT", dir.join("site"))
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdout(std::fs::File::create(dir.join("caddy.log")).unwrap())
        .stderr(std::fs::File::create(dir.join("caddy.err")).unwrap())
        .spawn()
        .expect("caddy is installed (scripts/install-deps.sh --test)");
    let caddy = Proc(caddy);
    let site = format!("http://127.0.0.1:{site_port}");
    wait_for(&format!("{site}/health"), &plain).await;

    // The operations endpoints answer on the replica, never on the public site.
    for path in ["/metrics", "/ready"] {
        assert_eq!(plain.get(format!("{direct}{path}")).send().await.unwrap().status(), 200, "{path} direct");
    }
    for path in ["/metrics", "/ready", "/METRICS", "/Ready", "/metrics/", "/ready?full=1", "/metrics?x"] {
        let res = plain.get(format!("{site}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path} through Caddy");
        assert!(!res.text().await.unwrap().contains("gad_"), "{path}");
    }

    // Telegram's update through Caddy: the header authenticates; the path holds no secret.
    let update = json!({ "update_id": 7, "message": { "message_id": 1, "date": 1_700_000_000, "text": "/start",
        "chat": { "id": 4242, "type": "private" }, "from": { "id": 4242, "is_bot": false, "first_name": "Ana" } } });
    let hook = |path: &str, secret: Option<&str>| {
        let mut req = plain.post(format!("{site}{path}")).json(&update);
        if let Some(secret) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        req.send()
    };
    assert_eq!(hook("/telegram/webhook", Some(WEBHOOK_SECRET)).await.unwrap().status(), 200);
    assert_eq!(hook("/telegram/webhook", None).await.unwrap().status(), 401);
    assert_eq!(hook("/telegram/webhook", Some("caddy-webhook-secret-wrong")).await.unwrap().status(), 401);
    // A webhook still registered the old way posts to the secret path: refused, and masked.
    let old = format!("/telegram/webhook/{WEBHOOK_SECRET}");
    assert_eq!(hook(&old, Some(WEBHOOK_SECRET)).await.unwrap().status(), 404);

    // A session cookie and a bearer token through Caddy stay out of its log too.
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = browser
        .post(format!("{site}/api/fn/login"))
        .header("accept", "application/json")
        .form(&[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success());
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("gad_session=").map(|c| c.split(';').next().unwrap().to_owned()))
        .expect("a session cookie");
    assert_eq!(browser.get(format!("{site}/api/v1/me")).send().await.unwrap().status(), 200);
    let bearer = "gad_not-a-real-token-but-secret-anyway";
    let _ = plain.get(format!("{site}/api/v1/me")).bearer_auth(bearer).send().await.unwrap();

    // Each header once: GAD's own (its CSP has the nonce) on what it answers, Caddy's on its
    // files.
    let page = plain.get(format!("{site}/login")).send().await.unwrap();
    // (GAD sends no HSTS here, its public URL not being https: Caddy's default fills in.)
    for name in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
        "strict-transport-security",
        "permissions-policy",
    ] {
        assert_eq!(page.headers().get_all(name).iter().count(), 1, "{name}: {:?}", page.headers());
    }
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("'nonce-"));
    let file = plain.get(format!("{site}/pkg/gad.css")).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    assert_eq!(file.headers()["cache-control"], "public, max-age=3600", "an unhashed file is revalidated");
    // A file named by its content's hash is kept for good, by Caddy as by GAD itself.
    let hashed = plain.get(format!("{site}/pkg/gad.{HASH}.wasm")).send().await.unwrap();
    assert_eq!(hashed.status(), 200);
    assert_eq!(hashed.headers().get_all("cache-control").iter().count(), 1);
    assert_eq!(hashed.headers()["cache-control"], gad_server::security_headers::IMMUTABLE);
    let hashed = plain.get(format!("{direct}/pkg/gad.{HASH}.wasm")).send().await.unwrap();
    assert_eq!(hashed.status(), 200);
    assert_eq!(hashed.headers()["cache-control"], gad_server::security_headers::IMMUTABLE);
    let missing = plain.get(format!("{direct}/pkg/gad.{}.wasm", HASH.replace('X', "Y"))).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_ne!(
        missing.headers().get("cache-control").map(|v| v.to_str().unwrap()),
        Some(gad_server::security_headers::IMMUTABLE)
    );

    // `gad verify` through the site: /ready and /metrics are not there; named with
    // --internal-url (the replica, where an operator's verify reaches them) they pass.
    let verify = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_gad"))
            .args(["verify", "--url", &site, "--timeout", "5"])
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, report) = verify(&[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.lines().any(|l| l.starts_with("[FALLA") && l.contains("/ready")), "{report}");
    let (code, report) = verify(&["--internal-url", &direct]);
    assert_eq!(code, Some(0), "{report}");

    // The logs: every request above is in Caddy's access log, no credential is.
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let mut access = String::new();
    for _ in 0..100 {
        access = read("caddy.log");
        if access.contains(r#""uri":"/pkg/gad.css""#) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let webhook_lines: Vec<Value> = access
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["request"]["uri"].as_str().is_some_and(|u| u.starts_with("/telegram/webhook")))
        .collect();
    assert_eq!(webhook_lines.len(), 4, "the webhook calls are logged:\n{access}");
    assert!(webhook_lines.iter().any(|v| v["request"]["uri"] == "/telegram/webhook/***"), "{access}");
    for line in &webhook_lines {
        let headers = line["request"]["headers"].as_object().expect("request headers are logged");
        assert!(headers.keys().all(|k| !k.eq_ignore_ascii_case("x-telegram-bot-api-secret-token")), "{line}");
    }
    let gad_log = read("gad.log") + &read("gad.err");
    assert!(gad_log.contains("/telegram/webhook"), "gad logs the webhook calls:\n{gad_log}");
    for (what, secret) in
        [("webhook secret", WEBHOOK_SECRET), ("session cookie", cookie.as_str()), ("bearer token", bearer)]
    {
        assert!(!access.contains(secret), "Caddy's access log holds the {what}:\n{access}");
        assert!(!read("caddy.err").contains(secret), "Caddy's log holds the {what}");
        assert!(!gad_log.contains(secret), "GAD's log holds the {what}");
    }
    drop(caddy);
    drop(gad);
    let _ = std::fs::remove_dir_all(&dir);
}
