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

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{ADMIN_PASSWORD, Backend};
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

async fn replica(database_url: &str, port: u16) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_gad"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", common::redis_url())
        .env("GAD_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("GAD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("GAD_2FA_REQUIRED_ROLES", "none")
        .env("GAD_DEMO_PASSWORD", common::DEMO_PASSWORD)
        .env("GAD_SEED_DEMO", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&format!("http://127.0.0.1:{port}/ready"), &reqwest::Client::new()).await;
    Proc(child)
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
    let ports = [free_port(), free_port()];
    let first = replica(&database_url, ports[0]).await;
    let mut second = Some(replica(&database_url, ports[1]).await);

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
