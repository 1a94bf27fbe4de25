//! Login, lockout, logout and the session cookie, through real HTTP.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, TestApp};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION, SET_COOKIE};
use sea_orm::{EntityTrait, QueryOrder};

async fn whoami_email(app: &TestApp, client: &reqwest::Client) -> Option<String> {
    let res = app.call(client, "whoami", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    body.get("email").and_then(|e| e.as_str()).map(str::to_owned)
}

async fn login_success_and_logout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = TestApp::client();
    assert_eq!(whoami_email(&app, &client).await, None);

    let res = app.call(&client, "login", &[("email", " Admin@GAD.local "), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("gad_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP must not set Secure: {cookie}");
    assert_eq!(whoami_email(&app, &client).await.as_deref(), Some("admin@gad.local"));

    // The dashboard page now renders for this client.
    let page = client.get(app.url("/tareas")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    let res = app.call(&client, "logout", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(whoami_email(&app, &client).await, None);
    let last = gad_core::entities::audit_log::Entity::find()
        .order_by_desc(gad_core::entities::audit_log::Column::Id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.action, "auth.logout", "logout is audited");
    let page = client.get(app.url("/tareas")).send().await.unwrap();
    assert!(page.status().is_redirection());
    assert_eq!(page.headers()[LOCATION], "/login");
}
on_both_backends!(login_success_and_logout);

async fn wrong_password_then_lockout(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("GAD_LOGIN_MAX_FAILURES", "3")]).await;
    let client = TestApp::client();
    for attempt in 1..=3 {
        let res = app.call(&client, "login", &[("email", "admin@gad.local"), ("password", "wrong-password")]).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid_credentials");
        assert_eq!(body["message"], "Credenciales inválidas.");
    }
    // Locked: even the right password is refused now, with the same answer as a wrong one
    // (a distinct answer would tell which e-mails exist).
    let res = app.call(&client, "login", &[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_credentials");
    assert_eq!(body["message"], "Credenciales inválidas.");
    assert_eq!(whoami_email(&app, &client).await, None);
    let locked = gad_core::entities::users::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == "admin@gad.local")
        .unwrap()
        .locked_until;
    assert!(locked.is_some_and(|t| t > chrono::Utc::now()), "the account is locked");

    // An unknown email gets the same answer as a wrong password.
    let res = app.call(&client, "login", &[("email", "nadie@gad.local"), ("password", "x")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
on_both_backends!(wrong_password_then_lockout);

/// The signed-in actor is cached between requests; a role change or a deactivation still
/// applies to the user's very next request.
async fn role_change_and_deactivation_apply_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let role = |client: reqwest::Client| {
        let app = &app;
        async move {
            let body: serde_json::Value = app.call(&client, "whoami", &[]).await.json().await.unwrap();
            (body["id"].as_i64().unwrap(), body["role"].as_str().unwrap().to_owned())
        }
    };
    let (id, before) = role(supervisor.clone()).await;
    assert_eq!(before, "supervisor");
    let page = supervisor.get(app.url("/tareas")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Nueva tarea"), "a supervisor may create tasks");

    let id = id.to_string();
    let res = app.call(&admin, "set_user_role", &[("id", &id), ("role", "officer")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(role(supervisor.clone()).await.1, "officer", "the new role applies to the next request");
    let page = supervisor.get(app.url("/tareas")).send().await.unwrap();
    assert!(!page.text().await.unwrap().contains("Nueva tarea"));

    let res = app.call(&admin, "set_user_active", &[("id", &id), ("active", "false")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = supervisor.get(app.url("/tareas")).send().await.unwrap();
    assert!(page.status().is_redirection(), "a deactivated user is signed out at once");
    assert_eq!(page.headers()[LOCATION], "/login");
    assert_eq!(whoami_email(&app, &supervisor).await, None);
}
on_both_backends!(role_change_and_deactivation_apply_at_once);

/// Without JavaScript the form posts and the browser follows redirects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_form_login_redirects() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = TestApp::client();
    let post = |password: &'static str| {
        client
            .post(app.url("/api/fn/login"))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header("referer", app.url("/login"))
            .form(&[("email", "admin@gad.local"), ("password", password)])
            .send()
    };
    let res = post("wrong-password").await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/login?error=invalid_credentials");
    let page = client.get(app.url("/login?error=invalid_credentials")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("role=\"alert\"") && page.contains("Credenciales inválidas."), "{page}");

    // An admin lands on the home with the live map; an officer on their tasks.
    let res = post(ADMIN_PASSWORD).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/");
    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("id=\"gad-map\""), "the home holds the live map");
    // Signed in, the login page sends you home.
    let res = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.headers()[LOCATION], "/");
    let officer = TestApp::client();
    let res = officer
        .post(app.url("/api/fn/login"))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .header("referer", app.url("/login"))
        .form(&[("email", "efectivo1@gad.local"), ("password", common::DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[LOCATION], "/tareas");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_is_secure_behind_https() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("GAD_PUBLIC_URL", "https://gad.example.org")]).await;
    let res =
        app.call(&TestApp::client(), "login", &[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
}

/// Two replicas sharing PostgreSQL and Redis: a session made on one works on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_are_shared_between_replicas() {
    let redis = common::redis_url();
    let first = TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", &redis)]).await;
    let second = TestApp::spawn_on(&first.database_url, &[("REDIS_URL", &redis)]).await;
    let client = first.login("admin@gad.local", ADMIN_PASSWORD).await;
    assert_eq!(whoami_email(&second, &client).await.as_deref(), Some("admin@gad.local"));
    let ready: serde_json::Value = client.get(second.url("/ready")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["checks"]["redis"]["status"], "ok");
}

/// On SQLite every write must wait for the one writer: a sign-in's attempt counter written
/// beside the writer lock could land inside another operation's transaction, between its
/// first read and its first write, and that operation failed with "database is locked"
/// (a 500: about one API token in a hundred while someone signed in at that moment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_never_break_concurrent_writes_on_sqlite() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("GAD_LOGIN_RATE_LIMIT_PER_MINUTE", "100000"), ("GAD_RATE_LIMIT_PER_MINUTE", "100000")],
    )
    .await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let me: serde_json::Value = admin.get(app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    let id = me["id"].as_i64().unwrap();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signer = {
        let (stop, url) = (stop.clone(), app.url("/api/fn/login"));
        tokio::spawn(async move {
            let mut refused = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = TestApp::client()
                    .post(&url)
                    .header(ACCEPT, "application/json")
                    .form(&[("email", "supervisor@gad.local"), ("password", DEMO_PASSWORD)])
                    .send()
                    .await
                    .unwrap();
                refused += usize::from(!res.status().is_success());
            }
            refused
        })
    };
    let mut failures = Vec::new();
    for n in 0..200 {
        let res = admin
            .post(app.url(&format!("/api/v1/users/{id}/tokens")))
            .json(&serde_json::json!({ "name": format!("carga {n}"), "read_only": true }))
            .send()
            .await
            .unwrap();
        if res.status() != StatusCode::CREATED {
            failures.push(res.status());
            continue;
        }
        // Revoked at once (a second write racing the sign-ins): a user holds only so many.
        let token: serde_json::Value = res.json().await.unwrap();
        let res = admin.delete(app.url(&format!("/api/v1/tokens/{}", token["info"]["id"]))).send().await.unwrap();
        if !res.status().is_success() {
            failures.push(res.status());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(signer.await.unwrap(), 0, "a sign-in was refused");
    assert!(failures.is_empty(), "token creations failed while others signed in: {failures:?}");
}

/// Signed-in pages and data are never kept by the browser: after logout, Back must not show
/// the task list from the cache (static files: `security_headers` unit tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_data_are_not_cached() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    for path in ["/tareas", "/", "/tareas/nueva"] {
        let res = supervisor.get(app.url(path)).send().await.unwrap();
        let cache = res.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(cache.as_deref(), Some("no-store"), "{path}");
    }
    let res = app.call(&supervisor, "whoami", &[]).await;
    assert_eq!(res.headers()["cache-control"], "no-store", "server function answers");
}
