//! Identity: account takeover from a stolen session or token (issue 13 item 3), the live
//! stream outliving its credential (7), what a login may put in the audit log (6), and the
//! lockout, link-code, token-id and session-expiry findings of 12.

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};

use crate::common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, TestApp};
use gad_core::entities::{audit_log, users};

const OFFICER: &str = "efectivo1@gad.local";
const NEW_PASSWORD: &str = "una-clave-nueva-larga";

async fn user_id(app: &TestApp, email: &str) -> i64 {
    users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap().id
}

/// The signed-in e-mail of a client's session, or `None` when it is anonymous.
async fn whoami(app: &TestApp, client: &reqwest::Client) -> Option<String> {
    let res = app.call(client, "whoami", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body.get("email").and_then(Value::as_str).map(str::to_owned)
}

/// A personal token created through the client's session.
async fn token_of(app: &TestApp, client: &reqwest::Client, id: i64, body: Value) -> (StatusCode, Value) {
    let res = client.post(app.url(&format!("/api/v1/users/{id}/tokens"))).json(&body).send().await.unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

async fn new_token(app: &TestApp, client: &reqwest::Client, id: i64) -> String {
    let (status, body) = token_of(app, client, id, json!({ "name": "integración" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn me_with_token(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new().get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap().status()
}

/// Changes the password through the own-account form with JavaScript (JSON answer).
async fn change_password(app: &TestApp, client: &reqwest::Client, current: &str, new: &str) -> reqwest::Response {
    app.call(client, "change_password", &[("current_password", current), ("password", new), ("password_confirm", new)])
        .await
}

/// Item 3: changing your own password needs the current one, through every door.
async fn own_password_change_needs_the_current_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let officer = app.login(OFFICER, DEMO_PASSWORD).await;
    let id = user_id(&app, OFFICER).await.to_string();

    // The JSON server function, without and with a wrong current password.
    let res = app.call(&officer, "reset_password", &[("id", &id), ("password", NEW_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "no current password");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "current_password", "{body}");
    let res = app
        .call(
            &officer,
            "reset_password",
            &[("id", &id), ("password", NEW_PASSWORD), ("current_password", "no-es-la-clave")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "wrong current password");
    // REST with the session.
    let res = officer
        .post(app.url(&format!("/api/v1/users/{id}/password")))
        .json(&json!({ "password": NEW_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // The own-account form without JavaScript: back to /cuenta with the error, nothing changed.
    let res = officer
        .post(app.url("/api/fn/change_password"))
        .header(ACCEPT, "text/html")
        .form(&[("current_password", "no-es-la-clave"), ("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/cuenta");
    let page = officer.get(app.url("/cuenta")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("La contraseña actual no es correcta."), "{page}");
    // Still the old password.
    let res = app.call(&TestApp::client(), "login", &[("email", OFFICER), ("password", NEW_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // With the right current password it works, and this session stays signed in.
    let res = officer
        .post(app.url("/api/fn/change_password"))
        .header(ACCEPT, "text/html")
        .form(&[("current_password", DEMO_PASSWORD), ("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let page = officer.get(app.url("/cuenta")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Contraseña cambiada."), "{page}");
    assert_eq!(whoami(&app, &officer).await.as_deref(), Some(OFFICER));
    app.login(OFFICER, NEW_PASSWORD).await;
}
on_both_backends!(own_password_change_needs_the_current_password);

/// Item 3: a password change ends every other session and every token of the user; the
/// session that made it stays.
async fn password_change_ends_other_sessions_and_tokens(app: TestApp) {
    let mine = app.login(OFFICER, DEMO_PASSWORD).await;
    let stolen = app.login(OFFICER, DEMO_PASSWORD).await;
    let id = user_id(&app, OFFICER).await;
    let token = new_token(&app, &stolen, id).await;
    assert_eq!(me_with_token(&app, &token).await, StatusCode::OK);

    let res = change_password(&app, &mine, DEMO_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(whoami(&app, &mine).await.as_deref(), Some(OFFICER), "the changing session stays");
    assert_eq!(whoami(&app, &stolen).await, None, "another session ends");
    let page = stolen.get(app.url("/tareas")).send().await.unwrap();
    assert_eq!(page.headers()[LOCATION], "/login");
    assert_eq!(me_with_token(&app, &token).await, StatusCode::UNAUTHORIZED, "tokens are revoked");
    // REST with the session that changed it still works too.
    assert_eq!(mine.get(app.url("/api/v1/me")).send().await.unwrap().status(), StatusCode::OK);
}

async fn password_change_ends_other_sessions_and_tokens_on(backend: Backend) {
    password_change_ends_other_sessions_and_tokens(TestApp::spawn(backend).await).await;
}
on_both_backends!(password_change_ends_other_sessions_and_tokens_on);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_ends_other_redis_sessions() {
    let redis = crate::common::redis_url();
    password_change_ends_other_sessions_and_tokens(
        TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", &redis)]).await,
    )
    .await;
}

/// Item 3: an admin's reset ends the user's sessions and tokens, and the user must change the
/// password before doing anything else.
async fn admin_reset_forces_a_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let officer = app.login(OFFICER, DEMO_PASSWORD).await;
    let id = user_id(&app, OFFICER).await;
    let token = new_token(&app, &officer, id).await;

    let res = app.call(&admin, "reset_password_form", &[("id", &id.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let generated: Value = res.json().await.unwrap();
    let generated = generated.as_str().unwrap().to_owned();
    assert_eq!(whoami(&app, &officer).await, None, "the officer's session ended");
    assert_eq!(me_with_token(&app, &token).await, StatusCode::UNAUTHORIZED);

    // Signed in with the reset password, the officer may only change it.
    let officer = app.login(OFFICER, &generated).await;
    let page = officer.get(app.url("/tareas")).send().await.unwrap();
    assert_eq!(page.headers()[LOCATION], "/cuenta");
    let res = app.call(&officer, "list_notes", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "password_change_required");
    let res = officer.get(app.url("/api/v1/tasks")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (status, _) = token_of(&app, &officer, id, json!({ "name": "x" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let page = officer.get(app.url("/cuenta")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Un administrador restableció su contraseña."));

    let res = change_password(&app, &officer, &generated, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = officer.get(app.url("/tareas")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}
on_both_backends!(admin_reset_forces_a_change);

/// Item 3: a token cannot mint tokens or link codes or change passwords (nor can an admin's).
async fn a_token_cannot_mint_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let officer = app.login(OFFICER, DEMO_PASSWORD).await;
    let id = user_id(&app, OFFICER).await;
    let token = new_token(&app, &officer, id).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let admin_token = new_token(&app, &admin, user_id(&app, "admin@gad.local").await).await;
    let http = reqwest::Client::new();
    let post = |path: String, token: &str, body: Value| http.post(app.url(&path)).bearer_auth(token).json(&body).send();

    let res = post(format!("/api/v1/users/{id}/tokens"), &token, json!({ "name": "otro" })).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a token minted a token");
    let res = post(format!("/api/v1/users/{id}/telegram-link"), &token, json!({})).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a token minted a link code");
    let body = json!({ "password": NEW_PASSWORD, "current_password": DEMO_PASSWORD });
    let res = post(format!("/api/v1/users/{id}/password"), &token, body).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a token changed the password");
    let res = post(format!("/api/v1/users/{id}/password"), &admin_token, json!({})).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "an admin token reset a password");
    let res = post(format!("/api/v1/users/{id}/tokens"), &admin_token, json!({ "name": "ajeno" })).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "an admin token minted a token for someone");
    app.login(OFFICER, DEMO_PASSWORD).await;
}
on_both_backends!(a_token_cannot_mint_credentials);

/// Item 3: every token expires: 90 days unless asked, never more than 365; a token without
/// an expiry (from before the migration) is refused.
async fn tokens_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let officer = app.login(OFFICER, DEMO_PASSWORD).await;
    let id = user_id(&app, OFFICER).await;
    let (status, body) = token_of(&app, &officer, id, json!({ "name": "por defecto" })).await;
    assert_eq!(status, StatusCode::CREATED);
    let expires: chrono::DateTime<chrono::Utc> = serde_json::from_value(body["info"]["expires_at"].clone()).unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((89.9..=90.1).contains(&days), "default lifetime {days} days");
    let (status, _) = token_of(&app, &officer, id, json!({ "name": "año", "expires_in_days": 365 })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = token_of(&app, &officer, id, json!({ "name": "eterno", "expires_in_days": 366 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Expired, and without an expiry at all: nobody.
    let token = working_token(&app, &officer, id).await;
    let db = &app.state.db;
    let hash = gad_core::services::users::secret_hash(&token);
    let set = |sql: &str| Statement::from_sql_and_values(db.get_database_backend(), sql, [hash.clone().into()]);
    db.execute_raw(set("UPDATE api_tokens SET expires_at = created_at WHERE token_hash = $1")).await.unwrap();
    assert_eq!(me_with_token(&app, &token).await, StatusCode::UNAUTHORIZED);
    db.execute_raw(set("UPDATE api_tokens SET expires_at = NULL WHERE token_hash = $1")).await.unwrap();
    assert_eq!(me_with_token(&app, &token).await, StatusCode::UNAUTHORIZED);
}
on_both_backends!(tokens_expire);

async fn working_token(app: &TestApp, client: &reqwest::Client, id: i64) -> String {
    let token = new_token(app, client, id).await;
    assert_eq!(me_with_token(app, &token).await, StatusCode::OK);
    token
}

/// Item 3: deactivation ends sessions and tokens for good; reactivation revives neither.
async fn deactivation_ends_sessions_for_good(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let officer = app.login(OFFICER, DEMO_PASSWORD).await;
    let id = user_id(&app, OFFICER).await;
    let token = new_token(&app, &officer, id).await;
    let id = id.to_string();
    for active in ["false", "true"] {
        let res = app.call(&admin, "set_user_active", &[("id", &id), ("active", active)]).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(whoami(&app, &officer).await, None, "the old session came back");
    assert_eq!(me_with_token(&app, &token).await, StatusCode::UNAUTHORIZED, "the old token came back");
    app.login(OFFICER, DEMO_PASSWORD).await;
}
on_both_backends!(deactivation_ends_sessions_for_good);

/// Reads a stream until it ends; `true` when it ended within `limit`.
async fn ends_within(res: reqwest::Response, limit: Duration) -> bool {
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.bytes_stream();
    tokio::time::timeout(limit, async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await
    .is_ok()
}

/// Item 7: the event stream ends when its session or token does.
async fn event_stream_ends_with_its_credential(app: TestApp) {
    let limit = Duration::from_secs(8);
    let stream = |client: &reqwest::Client| client.get(app.url("/api/v1/events/stream")).send();

    // Logout.
    let officer = app.login(OFFICER, DEMO_PASSWORD).await;
    let res = stream(&officer).await.unwrap();
    assert_eq!(app.call(&officer, "logout", &[]).await.status(), StatusCode::OK);
    assert!(ends_within(res, limit).await, "the stream outlived the logout");

    // Token revocation.
    let officer = app.login(OFFICER, DEMO_PASSWORD).await;
    let id = user_id(&app, OFFICER).await;
    let token = new_token(&app, &officer, id).await;
    let res = reqwest::Client::new().get(app.url("/api/v1/events/stream")).bearer_auth(&token).send().await.unwrap();
    let tokens: Value =
        officer.get(app.url(&format!("/api/v1/users/{id}/tokens"))).send().await.unwrap().json().await.unwrap();
    let token_id = tokens[0]["id"].as_i64().unwrap();
    let revoked = officer.delete(app.url(&format!("/api/v1/tokens/{token_id}"))).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(ends_within(res, limit).await, "the stream outlived its token");

    // Deactivation.
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let res = stream(&officer).await.unwrap();
    let res_admin = stream(&admin).await.unwrap();
    let deactivated = app.call(&admin, "set_user_active", &[("id", &id.to_string()), ("active", "false")]).await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    assert!(ends_within(res, limit).await, "the stream outlived the deactivation");
    // Someone still signed in keeps theirs.
    assert!(!ends_within(res_admin, Duration::from_secs(5)).await, "a valid stream was closed");
}

async fn event_stream_ends_on(backend: Backend) {
    event_stream_ends_with_its_credential(TestApp::spawn(backend).await).await;
}
on_both_backends!(event_stream_ends_on);

/// One user holds a bounded number of live streams (each a connection re-checked every few
/// seconds): beyond it, 429 with a reason; a stream closed gives its place back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_holds_a_bounded_number_of_event_streams() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let officer = app.login("efectivo4@gad.local", DEMO_PASSWORD).await;
    let token = new_token(&app, &officer, user_id(&app, "efectivo4@gad.local").await).await;
    let open = || reqwest::Client::new().get(app.url("/api/v1/events/stream")).bearer_auth(&token).send();
    let mut streams = Vec::new();
    for _ in 0..gad_server::rest::slots::STREAMS_PER_USER {
        let res = open().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        streams.push(res);
    }
    // The same user through the session counts too.
    let refused = officer.get(app.url("/api/v1/events/stream")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let problem: Value = refused.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("conexiones en vivo abiertas"), "{problem}");
    // Someone else is not affected.
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    assert_eq!(admin.get(app.url("/api/v1/events/stream")).send().await.unwrap().status(), StatusCode::OK);
    // Closed streams are noticed (at the latest by the next keep-alive) and free their places.
    drop(streams);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let res = open().await.unwrap();
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the closed streams kept their places");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_ends_with_its_redis_session() {
    let redis = crate::common::redis_url();
    event_stream_ends_with_its_credential(TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", &redis)]).await).await;
}

/// Item 6 (login): over-long input is refused before any work, and nothing typed into a
/// failed login is kept in the audit log.
async fn login_input_is_bounded_and_never_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let audit_rows = || async { audit_log::Entity::find().all(&app.state.db).await.unwrap() };
    let before = audit_rows().await.len();
    let client = TestApp::client();
    let long_email = format!("{}@gad.local", "a".repeat(300 * 1024));
    let res = app.call(&client, "login", &[("email", &long_email), ("password", "x")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"][0]["message"], "El correo electrónico no puede superar 254 caracteres.");
    let long_password = "p".repeat(10 * 1024);
    let res = app.call(&client, "login", &[("email", OFFICER), ("password", &long_password)]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(audit_rows().await.len(), before, "refused input reached the audit log");

    // A password typed into the e-mail field.
    let secret = "MiClaveSecreta-2026";
    let res = app.call(&client, "login", &[("email", secret), ("password", "x")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let rows = audit_rows().await;
    assert_eq!(rows.len(), before + 1, "the failed login is audited");
    let stored = serde_json::to_string(&rows.last().unwrap().after_value).unwrap().to_lowercase();
    assert!(!stored.contains(&secret.to_lowercase()), "the typed text was kept: {stored}");
}
on_both_backends!(login_input_is_bounded_and_never_audited);

/// Item 12: 30 parallel guesses: at most `GAD_LOGIN_MAX_FAILURES` are verified, and locked,
/// wrong and unknown get the very same answer.
async fn parallel_guesses_are_counted_atomically(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, &[("GAD_LOGIN_MAX_FAILURES", "5"), ("GAD_LOGIN_RATE_LIMIT_PER_MINUTE", "1000")])
            .await;
    let id = user_id(&app, OFFICER).await;
    let guesses = (0..30).map(|i| {
        let app = &app;
        async move {
            let password = format!("adivinanza-{i}");
            let res = app.call(&TestApp::client(), "login", &[("email", OFFICER), ("password", &password)]).await;
            (res.status(), res.json::<Value>().await.unwrap())
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let first = answers[0].clone();
    assert_eq!(first.0, StatusCode::UNAUTHORIZED);
    assert!(answers.iter().all(|a| *a == first), "answers differ: {answers:?}");

    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::ResourceId.eq(id.to_string()))
        .all(&app.state.db)
        .await
        .unwrap();
    let verified = rows
        .iter()
        .filter(|r| {
            r.action == "auth.locked"
                || (r.action == "auth.login_failed"
                    && r.after_value.as_ref().is_some_and(|v| v["reason"] == "wrong_password"))
        })
        .count();
    assert!(verified <= 5, "{verified} guesses were verified");
    let locked = users::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap().locked_until;
    assert!(locked.is_some_and(|t| t > chrono::Utc::now()), "the account is locked");

    // Locked with the right password, a wrong password, an unknown e-mail: one answer.
    let ask = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let res = app.call(&TestApp::client(), "login", &[("email", email), ("password", password)]).await;
            (res.status(), res.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(ask(OFFICER, DEMO_PASSWORD).await, first, "locked differs");
    assert_eq!(ask("efectivo2@gad.local", "equivocada").await, first, "wrong password differs");
    assert_eq!(ask("nadie@gad.local", "equivocada").await, first, "unknown e-mail differs");
}
on_both_backends!(parallel_guesses_are_counted_atomically);

/// Item 12: a Telegram link code redeemed in parallel links once.
async fn a_link_code_links_once(backend: Backend) {
    use gad_core::services::users::redeem_link_code;
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let id = user_id(&app, OFFICER).await;
    let res = admin.post(app.url(&format!("/api/v1/users/{id}/telegram-link"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let code: Value = res.json().await.unwrap();
    let code = code["code"].as_str().unwrap().to_owned();
    let tries = (0..8).map(|i| {
        let (state, code) = (app.state.clone(), code.clone());
        tokio::spawn(async move { redeem_link_code(&state, &code, 900_000_000 + i).await.is_ok() })
    });
    let linked = futures::future::join_all(tries).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(linked, 1, "one code linked {linked} Telegram accounts");
    let links = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("telegram.link"))
        .all(&app.state.db)
        .await
        .unwrap()
        .len();
    assert_eq!(links, 1);
}
on_both_backends!(a_link_code_links_once);

/// Item 12: someone else's token id is answered as one that does not exist.
async fn token_ids_reveal_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    new_token(&app, &admin, user_id(&app, "admin@gad.local").await).await;
    let admin_id = user_id(&app, "admin@gad.local").await;
    let tokens: Value =
        admin.get(app.url(&format!("/api/v1/users/{admin_id}/tokens"))).send().await.unwrap().json().await.unwrap();
    let existing = tokens[0]["id"].as_i64().unwrap();
    let officer = app.login(OFFICER, DEMO_PASSWORD).await;
    let answer = |id: i64| {
        let (app, officer) = (&app, &officer);
        async move {
            let res = officer.delete(app.url(&format!("/api/v1/tokens/{id}"))).send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        }
    };
    let theirs = answer(existing).await;
    assert_eq!(theirs.0, StatusCode::NOT_FOUND);
    assert_eq!(theirs, answer(999_999).await);
    let tokens: Value =
        admin.get(app.url(&format!("/api/v1/users/{admin_id}/tokens"))).send().await.unwrap().json().await.unwrap();
    assert!(tokens[0]["revoked_at"].is_null(), "the officer revoked the admin's token");
}
on_both_backends!(token_ids_reveal_nothing);

/// Item 12: a session in use slides past its idle expiry, an idle one ends, and a busy one
/// still ends at its absolute lifetime. Idle 3 s, lifetime 10 s.
async fn session_expiry(extra: &[(&str, &str)]) {
    let mut settings = vec![("GAD_SESSION_IDLE_MINUTES", "0.05"), ("GAD_SESSION_MAX_HOURS", "0.0027")];
    settings.extend_from_slice(extra);
    let app = TestApp::spawn_with(Backend::Postgres, &settings).await;

    // In use every second for 6 s (twice the idle expiry): still signed in; then idle: gone.
    let client = app.login(OFFICER, DEMO_PASSWORD).await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(whoami(&app, &client).await.as_deref(), Some(OFFICER), "an active session expired");
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(whoami(&app, &client).await, None, "an idle session lived on");

    // In use every second: ends once 10 s have passed since sign-in.
    let client = app.login(OFFICER, DEMO_PASSWORD).await;
    let start = std::time::Instant::now();
    while whoami(&app, &client).await.is_some() {
        assert!(start.elapsed() < Duration::from_secs(14), "the session outlived its absolute lifetime");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(start.elapsed() >= Duration::from_secs(8), "ended early: {:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_sessions_slide_and_end() {
    session_expiry(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_slide_and_end() {
    let redis = crate::common::redis_url();
    session_expiry(&[("REDIS_URL", &redis)]).await;
}

/// A request that read its actor before the password changed (one on its way when the change
/// committed, or served by a replica whose cache has not seen it yet) cannot mint a credential
/// that would outlive the change: tokens and link codes are made only for an actor whose
/// credentials are still the account's.
async fn a_credential_is_not_minted_on_an_actor_read_before_a_password_change(backend: Backend) {
    use contract::domain::Channel;
    use gad_core::error::AppError;
    use gad_core::services::{auth, users as accounts};
    let app = TestApp::spawn(backend).await;
    let meta = gad_core::meta::AuditMeta::internal(Channel::Web);
    let (officer, admin) = (user_id(&app, OFFICER).await, user_id(&app, "admin@gad.local").await);
    let stale = auth::actor_for_user(&app.state, officer, Channel::Web).await.unwrap();
    let stale_admin = auth::actor_for_user(&app.state, admin, Channel::Web).await.unwrap();
    // Each changes their own password from another session.
    for (id, current) in [(officer, DEMO_PASSWORD), (admin, ADMIN_PASSWORD)] {
        let fresh = auth::actor_for_user(&app.state, id, Channel::Web).await.unwrap();
        accounts::set_password(&app.state, &fresh, &meta, id, Some(current.into()), Some(NEW_PASSWORD.into()))
            .await
            .unwrap();
    }
    let token = accounts::create_api_token(&app.state, &stale, &meta, officer, "tarde", false, None).await;
    assert!(matches!(token, Err(AppError::Unauthenticated)), "{token:?}");
    let code = accounts::create_link_code(&app.state, &stale, &meta, officer).await;
    assert!(matches!(code, Err(AppError::Unauthenticated)), "{code:?}");
    let for_other = accounts::create_link_code(&app.state, &stale_admin, &meta, officer).await;
    assert!(matches!(for_other, Err(AppError::Unauthenticated)), "{for_other:?}");
    // The actor read after the change still can.
    let fresh = auth::actor_for_user(&app.state, officer, Channel::Web).await.unwrap();
    accounts::create_api_token(&app.state, &fresh, &meta, officer, "vigente", false, None).await.unwrap();
}
on_both_backends!(a_credential_is_not_minted_on_an_actor_read_before_a_password_change);
