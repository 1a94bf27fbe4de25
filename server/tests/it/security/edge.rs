//! The edge (issue 13, items 1, 9 and 10): the headers every answer carries, the
//! Content-Security-Policy nonce of the inline scripts Leptos writes, the Telegram webhook
//! without its secret in the path, and the metrics off the public listener.
//!
//! The stored-XSS sink itself (Leaflet tooltips and popups) is proved in the browser:
//! end2end/tests/security.spec.ts. Caddy's part (access log, 404 on /metrics and /ready) is in
//! server/tests/caddy.rs.

use std::collections::HashSet;
use std::path::PathBuf;

use reqwest::header::HeaderMap;
use serde_json::json;

use crate::common::{ADMIN_PASSWORD, Backend, TestApp};

/// A site root with one static file, so the static-file handler has something to serve.
fn site_root() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gad-site-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("js")).unwrap();
    std::fs::write(dir.join("js/probe.js"), "console.log('probe');").unwrap();
    dir
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).unwrap_or_else(|| panic!("no {name} in {headers:?}")).to_str().unwrap()
}

/// The directives of a CSP, by name.
fn directives(csp: &str) -> Vec<(String, Vec<String>)> {
    csp.split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace().map(str::to_owned);
            Some((words.next()?, words.collect()))
        })
        .collect()
}

fn directive(csp: &str, name: &str) -> Vec<String> {
    directives(csp).into_iter().find(|(n, _)| n == name).map(|(_, v)| v).unwrap_or_else(|| panic!("no {name}: {csp}"))
}

/// The nonce of the header's `script-src`.
fn nonce_of(headers: &HeaderMap) -> String {
    let csp = header(headers, "content-security-policy");
    let nonces: Vec<String> = directive(csp, "script-src")
        .iter()
        .filter_map(|s| s.strip_prefix("'nonce-").and_then(|n| n.strip_suffix('\'')).map(str::to_owned))
        .collect();
    assert_eq!(nonces.len(), 1, "{csp}");
    nonces[0].clone()
}

/// Every header of the policy, on any answer.
fn assert_secure(headers: &HeaderMap, what: &str) {
    let csp = header(headers, "content-security-policy");
    let script = directive(csp, "script-src");
    assert!(
        script.contains(&"'self'".to_owned()) && script.contains(&"'wasm-unsafe-eval'".to_owned()),
        "{what}: {csp}"
    );
    for word in ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:"] {
        assert!(!script.iter().any(|s| s == word), "{what}: script-src allows {word}: {csp}");
    }
    assert_eq!(directive(csp, "default-src"), ["'self'"], "{what}");
    assert_eq!(directive(csp, "style-src"), ["'self'"], "{what}");
    assert_eq!(directive(csp, "object-src"), ["'none'"], "{what}");
    assert_eq!(directive(csp, "base-uri"), ["'none'"], "{what}");
    assert_eq!(directive(csp, "frame-ancestors"), ["'none'"], "{what}");
    assert_eq!(directive(csp, "form-action"), ["'self'"], "{what}");
    assert_eq!(header(headers, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{what}");
    assert_eq!(header(headers, "referrer-policy"), "strict-origin-when-cross-origin", "{what}");
    assert_eq!(header(headers, "cross-origin-opener-policy"), "same-origin", "{what}");
    let permissions = header(headers, "permissions-policy");
    for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"] {
        assert!(permissions.contains(feature), "{what}: {permissions}");
    }
    for name in ["content-security-policy", "x-frame-options", "x-content-type-options"] {
        assert_eq!(headers.get_all(name).iter().count(), 1, "{what}: one {name}");
    }
}

/// The `<script …>` opening tags of a page.
fn script_tags(html: &str) -> Vec<&str> {
    html.match_indices("<script").map(|(i, _)| &html[i..i + html[i..].find('>').unwrap() + 1]).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let site = site_root();
    let tiles = "https://tiles.example.org/{z}/{x}/{y}.png";
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("LEPTOS_SITE_ROOT", site.to_str().unwrap()), ("GAD_MAP_TILE_URL", tiles)],
    )
    .await;
    let anonymous = TestApp::client();
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;

    let page = admin.get(app.url("/mapa")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_secure(page.headers(), "a page");
    // The base map's tiles are the only images from elsewhere.
    let img = directive(header(page.headers(), "content-security-policy"), "img-src");
    assert_eq!(img, ["'self'", "data:", "https://tiles.example.org"]);

    let api = anonymous.get(app.url("/api/v1/tasks")).send().await.unwrap();
    assert_eq!(api.status(), 401);
    assert_secure(api.headers(), "an API error");
    let api = admin.get(app.url("/api/v1/tasks")).send().await.unwrap();
    assert_eq!(api.status(), 200);
    assert_secure(api.headers(), "an API answer");

    let missing = admin.get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_secure(missing.headers(), "a 404 page");
    let missing = anonymous.get(app.url("/no-such-file.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_secure(missing.headers(), "a missing file");

    let file = anonymous.get(app.url("/js/probe.js")).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_secure(file.headers(), "a static file");

    for path in ["/health", "/ready", "/metrics", "/login", "/api/docs"] {
        let res = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_secure(res.headers(), path);
    }
    // A server function's answer too.
    let res = app.call(&admin, "logout", &[]).await;
    assert_secure(res.headers(), "a server function");

    // HSTS only where the site is served over https (a browser ignores it over plain HTTP,
    // and a development site on http://localhost must not pin it).
    assert!(page.headers().get("strict-transport-security").is_none());
    let https = TestApp::spawn_with(Backend::Sqlite, &[("GAD_PUBLIC_URL", "https://gad.example.org")]).await;
    let res = anonymous.get(https.url("/login")).send().await.unwrap();
    assert_eq!(header(res.headers(), "strict-transport-security"), "max-age=31536000; includeSubDomains");
    let _ = std::fs::remove_dir_all(site);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nonce_of_the_header_is_on_every_inline_script_and_new_each_time() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let mut seen = HashSet::new();
    // Pages with data (their resources travel as inline scripts), the map, the login page and
    // a 404 page (the fallback renders through another Leptos entry point).
    for path in ["/", "/mapa", "/tareas", "/usuarios", "/login", "/no-such-page", "/", "/mapa"] {
        let client = if path == "/login" { TestApp::client() } else { admin.clone() };
        let res = client.get(app.url(path)).send().await.unwrap();
        let nonce = nonce_of(res.headers());
        assert!(nonce.len() >= 22, "at least 128 bits: {nonce}");
        assert!(seen.insert(nonce.clone()), "{path}: a nonce used twice: {nonce}");
        let status = res.status();
        let html = res.text().await.unwrap();
        let tags = script_tags(&html);
        let inline: Vec<&&str> = tags.iter().filter(|t| !t.contains(" src=")).collect();
        let start: String = html.chars().take(600).collect();
        assert!(!inline.is_empty(), "{path}: Leptos writes at least its hydration script ({status}): {start}");
        for tag in inline {
            assert!(tag.contains(&format!(" nonce=\"{nonce}\"")), "{path}: an inline script without the nonce: {tag}");
        }
        // No inline event handler that the policy would block (and that would break the page).
        assert!(!html.contains(" onclick=") && !html.contains(" onload="), "{path}");
    }
    // The API documentation has no inline script at all.
    let docs = TestApp::client().get(app.url("/api/docs")).send().await.unwrap().text().await.unwrap();
    assert!(script_tags(&docs).iter().all(|t| t.contains(" src=")), "{docs}");
}

const WEBHOOK_SECRET: &str = "edge-webhook-secret-0123456789";

/// Telegram's header is the webhook's only credential: the path holds no secret (access logs
/// record paths), the old secret path is gone, and a missing or wrong header is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_secret_is_a_header_not_a_path() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let telegram = format!("http://{dead}");
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("TELEGRAM_BOT_TOKEN", "123456:edge-test"),
            ("TELEGRAM_API_URL", &telegram),
            ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let update = json!({ "update_id": 1, "message": { "message_id": 1, "date": 1_700_000_000, "text": "/start",
        "chat": { "id": 42, "type": "private" }, "from": { "id": 42, "is_bot": false, "first_name": "Ana" } } });
    let post = |url: String, secret: Option<&str>| {
        let mut req = http.post(url).json(&update);
        if let Some(secret) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        req.send()
    };
    let old = post(app.url(&format!("/telegram/webhook/{WEBHOOK_SECRET}")), Some(WEBHOOK_SECRET)).await.unwrap();
    assert_eq!(old.status(), 404, "the secret path is gone");
    let hook = app.url("/telegram/webhook");
    assert_eq!(post(hook.clone(), None).await.unwrap().status(), 401);
    assert_eq!(post(hook.clone(), Some("edge-webhook-secret-012345678")).await.unwrap().status(), 401);
    assert_eq!(post(hook.clone(), Some("")).await.unwrap().status(), 401);
    assert_eq!(post(hook, Some(WEBHOOK_SECRET)).await.unwrap().status(), 200);
}

/// With GAD_METRICS_ADDR the metrics leave the main listener for an address of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_only_on_their_own_listener() {
    let database_url = crate::common::fresh_database(Backend::Sqlite).await;
    let config = crate::common::config(&database_url, &[("GAD_METRICS_ADDR", "127.0.0.1:0")]);
    let app = gad_server::Application::build(config).await.unwrap();
    let (public, internal) = (app.local_addr(), app.metrics_addr().expect("the operations listener"));
    assert_ne!(public, internal);
    tokio::spawn(app.run());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let res = http.get(format!("http://{public}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("gad_"), "no metric on the main listener");

    let res = http.get(format!("http://{internal}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("gad_build_info") && body.contains("gad_db_up"), "{body}");
    for path in ["/ready", "/health"] {
        assert_eq!(http.get(format!("http://{internal}{path}")).send().await.unwrap().status(), 200, "{path}");
    }
    // Nothing else: the operations listener is no second door into the application.
    for path in ["/login", "/api/v1/tasks", "/api/docs"] {
        assert_eq!(http.get(format!("http://{internal}{path}")).send().await.unwrap().status(), 404, "{path}");
    }
}
