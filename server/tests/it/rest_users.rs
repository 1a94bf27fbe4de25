//! The REST API's users, tokens and error contract, over real HTTP.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn token_for(app: &TestApp, email: &str, password: &str, read_only: bool) -> String {
    let client = app.login(email, password).await;
    let me: Value = client.get(app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    let id = me["id"].as_i64().unwrap();
    let res = client
        .post(app.url(&format!("/api/v1/users/{id}/tokens")))
        .json(&json!({ "name": "pruebas", "read_only": read_only }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn problem(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    assert_eq!(res.headers()["content-type"], "application/problem+json", "{status}");
    (status, res.json().await.unwrap())
}

async fn users_over_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::new();
    let admin = token_for(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let officer = token_for(&app, "efectivo1@gad.local", DEMO_PASSWORD, false).await;

    // No credentials, a bad token: 401 problems.
    let (status, body) = problem(http.get(app.url("/api/v1/users")).send().await.unwrap()).await;
    assert_eq!((status, body["type"].as_str().unwrap()), (StatusCode::UNAUTHORIZED, "urn:gad:problem:unauthenticated"));
    let res = http.get(app.url("/api/v1/users")).bearer_auth("gad_nope").send().await.unwrap();
    assert_eq!(problem(res).await.0, StatusCode::UNAUTHORIZED);

    // The admin lists and creates; the officer may not.
    let page: Value =
        http.get(app.url("/api/v1/users?limit=3")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let next = page["next_cursor"].as_str().unwrap();
    let rest: Value = http
        .get(app.url(&format!("/api/v1/users?limit=50&cursor={next}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 5, "8 users: admin, supervisor, 6 officers");
    let (status, body) = problem(http.get(app.url("/api/v1/users")).bearer_auth(&officer).send().await.unwrap()).await;
    assert_eq!((status, body["type"].as_str().unwrap()), (StatusCode::FORBIDDEN, "urn:gad:problem:forbidden"));

    let new_user = json!({ "dni": "40111222", "first_name": "Ana", "last_name": "Paz",
        "email": "ana.paz@gad.local", "role": "supervisor" });
    let res = http.post(app.url("/api/v1/users")).bearer_auth(&admin).json(&new_user).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["user"]["role"], "supervisor");
    assert!(created["generated_password"].as_str().unwrap().len() >= 10);
    let res = http.post(app.url("/api/v1/users")).bearer_auth(&admin).json(&new_user).send().await.unwrap();
    assert_eq!(problem(res).await.0, StatusCode::CONFLICT);

    // Strict input: unknown fields, bad values and broken JSON are 400 problems with details.
    let res = http
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({ "dni": "1", "first_name": "", "last_name": "X", "email": "no", "role": "officer" }))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["dni", "first_name", "email"]);
    let mut extra = new_user.clone();
    extra["is_admin"] = json!(true);
    let (status, body) =
        problem(http.post(app.url("/api/v1/users")).bearer_auth(&admin).json(&extra).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("is_admin"), "{body}");
    let res = http
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res).await.0, StatusCode::BAD_REQUEST);
    let huge = "x".repeat(100 * 1024);
    let res =
        http.post(app.url("/api/v1/users")).bearer_auth(&admin).json(&json!({ "dni": huge })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // The last admin cannot be demoted or deactivated.
    let me: Value = http.get(app.url("/api/v1/me")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let admin_id = me["id"].as_i64().unwrap();
    let res = http
        .patch(app.url(&format!("/api/v1/users/{admin_id}")))
        .bearer_auth(&admin)
        .json(&json!({ "role": "officer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res).await.0, StatusCode::CONFLICT);

    // Unknown routes are problems too.
    assert_eq!(problem(http.get(app.url("/api/v1/nada")).send().await.unwrap()).await.0, StatusCode::NOT_FOUND);
}
on_both_backends!(users_over_rest);

async fn tokens_are_scoped_and_revocable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::new();
    let read_only = token_for(&app, "admin@gad.local", ADMIN_PASSWORD, true).await;
    let full = token_for(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let me: Value = http.get(app.url("/api/v1/me")).bearer_auth(&read_only).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], "admin@gad.local");
    // A read-only token cannot change anything.
    let res = http
        .post(app.url("/api/v1/users"))
        .bearer_auth(&read_only)
        .json(&json!({ "dni": "40111223", "first_name": "B", "last_name": "C", "email": "b@gad.local", "role": "officer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res).await.0, StatusCode::FORBIDDEN);

    // Tokens are listed without secrets, and a revoked token stops working at once.
    let id = me["id"].as_i64().unwrap();
    let tokens: Value = http
        .get(app.url(&format!("/api/v1/users/{id}/tokens")))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokens.as_array().unwrap().len(), 2);
    let res = http.get(app.url("/api/v1/users/999999/tokens")).bearer_auth(&full).send().await.unwrap();
    assert_eq!(problem(res).await.0, StatusCode::NOT_FOUND, "tokens of a user who does not exist");
    assert!(!tokens.to_string().contains(&read_only));
    let ro_id =
        tokens.as_array().unwrap().iter().find(|t| t["scopes"] == json!(["read"])).unwrap()["id"].as_i64().unwrap();
    let res = http.delete(app.url(&format!("/api/v1/tokens/{ro_id}"))).bearer_auth(&full).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = http.get(app.url("/api/v1/me")).bearer_auth(&read_only).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
on_both_backends!(tokens_are_scoped_and_revocable);

/// Each token has a request budget and its own event streams: a user minting tokens without
/// end would multiply both. Twenty live ones at most, counted in turn when requests race.
async fn a_user_holds_a_bounded_number_of_live_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let supervisor = app.login("supervisor@gad.local", DEMO_PASSWORD).await;
    let me: Value = supervisor.get(app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    let url = app.url(&format!("/api/v1/users/{}/tokens", me["id"]));
    let mint = |n: usize| {
        let (client, url) = (supervisor.clone(), url.clone());
        async move { client.post(url).json(&json!({ "name": format!("t{n}"), "read_only": true })).send().await.unwrap() }
    };
    let answers = futures::future::join_all((0..26).map(mint)).await;
    let mut created = Vec::new();
    for res in answers {
        match res.status() {
            StatusCode::CREATED => created.push(res.json::<Value>().await.unwrap()["info"]["id"].as_i64().unwrap()),
            _ => {
                let (status, body) = problem(res).await;
                assert_eq!(status, StatusCode::CONFLICT, "{body}");
                assert!(body["detail"].as_str().unwrap().contains("revoque alguno"), "{body}");
            }
        }
    }
    assert_eq!(created.len(), 20, "live tokens after 26 racing creations");
    // A revoked token frees its place.
    let res = supervisor.delete(app.url(&format!("/api/v1/tokens/{}", created[0]))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(mint(99).await.status(), StatusCode::CREATED);
    assert_eq!(mint(100).await.status(), StatusCode::CONFLICT);
}
on_both_backends!(a_user_holds_a_bounded_number_of_live_tokens);

/// Telegram link codes: one-time, hashed, 15-minute expiry.
async fn link_codes_are_single_use(backend: Backend) {
    use gad_core::services::users::redeem_link_code;
    let app = TestApp::spawn(backend).await;
    let admin = token_for(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let http = reqwest::Client::new();
    let page: Value = http
        .get(app.url("/api/v1/users?text=efectivo2"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let officer_id = page["items"][0]["id"].as_i64().unwrap();
    // Link codes are minted by a person (the dashboard session), never by a token.
    let res = http
        .post(app.url(&format!("/api/v1/users/{officer_id}/telegram-link")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res).await.0, StatusCode::FORBIDDEN);
    let session = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let res = session.post(app.url(&format!("/api/v1/users/{officer_id}/telegram-link"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let code: Value = res.json().await.unwrap();
    let code = code["code"].as_str().unwrap().to_owned();

    let linked = redeem_link_code(&app.state, &code, 777_000_111).await.unwrap();
    assert_eq!(linked.id, officer_id);
    assert!(linked.telegram_linked);
    // Reused: refused.
    assert!(redeem_link_code(&app.state, &code, 777_000_112).await.is_err());
    // Only the hash is stored.
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT code_hash FROM telegram_links"))
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.try_get::<String>("", "code_hash").unwrap() != code));
    // Expired: refused.
    let res = session.post(app.url(&format!("/api/v1/users/{officer_id}/telegram-link"))).send().await.unwrap();
    let code: Value = res.json().await.unwrap();
    db.execute_unprepared("UPDATE telegram_links SET expires_at = created_at").await.unwrap();
    assert!(redeem_link_code(&app.state, code["code"].as_str().unwrap(), 777_000_113).await.is_err());
}
on_both_backends!(link_codes_are_single_use);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let http = reqwest::Client::new();
    let doc: Value = http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 8, "{:?}", paths.keys());
    for expected in [
        "/officers",
        "/officers/{id}",
        "/officers/{id}/status",
        "/officers/{id}/positions",
        "/officers/{id}/position",
        "/officers/{id}/track",
        "/me/officer",
        "/me/status",
        "/me/positions",
        "/geo/nearest-officers",
        "/geo/officers-within",
        "/geo/officers-in-bbox",
        "/geo/tasks-within",
        "/geo/tasks-in-bbox",
        "/statistics",
        "/tasks/{id}/assignments/{officer_id}",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    // Every documented operation exists: an anonymous call is refused (401), never 404/405.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&format!("/api/v1{}", path.replace("{id}", "1").replace("{officer_id}", "1")));
            assert!(!url.contains('{'), "a path parameter left unfilled: {path}");
            let req = match method.as_str() {
                "get" => http.get(&url),
                "post" => http.post(&url).json(&json!({})),
                "put" => http.put(&url).json(&json!({})),
                "patch" => http.patch(&url).json(&json!({})),
                "delete" => http.delete(&url),
                other => panic!("unexpected method {other}"),
            };
            let status = req.send().await.unwrap().status();
            if path == "/health" {
                assert_eq!(status, StatusCode::OK);
                continue;
            }
            // Authentication comes before any reading of the path, query or body.
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            // ...and the document says so, as it says where each parameter goes.
            let op = &item[method];
            assert!(op["responses"].get("401").is_some(), "{method} {path} does not document 401");
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                if param["in"] == "path" {
                    assert!(path.contains(&format!("{{{name}}}")), "{method} {path}: `{name}` is not in the path");
                    assert!(op["responses"].get("400").is_some(), "{method} {path} does not document 400");
                }
            }
        }
    }
    let docs = http.get(app.url("/api/docs")).send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("/js/api-docs.js") && docs.contains("/vendor/swagger-ui/swagger-ui-bundle.js"), "{docs}");
    // The start-up script is a file (the Content-Security-Policy allows no inline script).
    let start = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../public/js/api-docs.js")).unwrap();
    assert!(start.contains("/api/v1/openapi.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("GAD_RATE_LIMIT_PER_MINUTE", "5"), ("GAD_LOGIN_RATE_LIMIT_PER_MINUTE", "3")],
    )
    .await;
    let http = reqwest::Client::new();
    wait_for_fresh_window().await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(http.get(app.url("/api/v1/me")).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    let res = http.get(app.url("/api/v1/me")).send().await.unwrap();
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let (status, body) = problem(res).await;
    assert_eq!(
        (status, body["type"].as_str().unwrap()),
        (StatusCode::TOO_MANY_REQUESTS, "urn:gad:problem:rate_limited")
    );
    // Health is exempt.
    for _ in 0..10 {
        assert_eq!(http.get(app.url("/health")).send().await.unwrap().status(), StatusCode::OK);
    }
    // Login attempts have their own, smaller budget.
    let client = TestApp::client();
    wait_for_fresh_window().await;
    let mut logins = Vec::new();
    for _ in 0..4 {
        logins.push(app.call(&client, "login", &[("email", "x@gad.local"), ("password", "y")]).await.status().as_u16());
    }
    assert_eq!(logins, [401, 401, 401, 429]);
    // Without JavaScript the refusal is a redirect to the login page with a Spanish message.
    let res = client
        .post(app.url("/api/fn/login"))
        .header("accept", "text/html")
        .form(&[("email", "x@gad.local"), ("password", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/login?error=rate_limited");
    let page = client.get(app.url("/login?error=rate_limited")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Demasiados intentos"), "{page}");
}

async fn idempotent_retries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::new();
    let admin = token_for(&app, "admin@gad.local", ADMIN_PASSWORD, false).await;
    let body = json!({ "dni": "40111999", "first_name": "Iris", "last_name": "Vega",
        "email": "iris@gad.local", "role": "officer", "password": "una-clave-larga" });
    let post = |body: &Value| {
        http.post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .header("idempotency-key", "alta-iris-1")
            .json(body)
            .send()
    };
    let first = post(&body).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = post(&body).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED, "the retry gets the first answer, not a conflict");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    // One user was created.
    let found: Value = http
        .get(app.url("/api/v1/users?text=iris@gad.local"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    // The same key with another body is refused.
    let mut other = body.clone();
    other["first_name"] = json!("Otra");
    assert_eq!(post(&other).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
}
on_both_backends!(idempotent_retries);

/// Limits count in one-minute windows: start a burst well inside one.
async fn wait_for_fresh_window() {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 60;
    if secs > 50 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - secs)).await;
    }
}

/// With Redis the budget is shared by every replica: requests spread over two replicas are
/// counted together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_rate_limits_are_shared_by_replicas() {
    let redis = common::redis_url();
    let first =
        TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", &redis), ("GAD_RATE_LIMIT_PER_MINUTE", "4")]).await;
    let second =
        TestApp::spawn_on(&first.database_url, &[("REDIS_URL", &redis), ("GAD_RATE_LIMIT_PER_MINUTE", "4")]).await;
    // A token of its own gives this test its own budget on the shared Redis. It is made
    // through a replica without Redis: the session requests that make it are counted per IP,
    // a budget other test binaries on this Redis may have spent in the same minute.
    let maker = TestApp::spawn_on(&first.database_url, &[]).await;
    let token = token_for(&maker, "admin@gad.local", ADMIN_PASSWORD, true).await;
    let http = reqwest::Client::new();
    wait_for_fresh_window().await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let app = if i % 2 == 0 { &first } else { &second };
        statuses.push(http.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap().status().as_u16());
    }
    // Four pass, alternating replicas; the fifth and sixth exceed the shared budget.
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
}

/// The first admin's actor, and the id of a second admin it creates.
async fn second_admin(app: &TestApp) -> (gad_core::actor::Actor, i64) {
    use contract::domain::{Channel, Role};
    use gad_core::services::{auth::actor_for_user, users};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let state = &app.state;
    let admin = gad_core::entities::users::Entity::find()
        .filter(gad_core::entities::users::Column::Email.eq("admin@gad.local"))
        .one(&state.db)
        .await
        .unwrap()
        .unwrap();
    let first = actor_for_user(state, admin.id, Channel::Web).await.unwrap();
    let input = contract::users::NewUserInput {
        dni: "30999111".into(),
        first_name: "Segunda".into(),
        last_name: "Admin".into(),
        email: "admin2@gad.local".into(),
        phone: None,
        role: Role::Admin,
        password: Some("clave-segura-2024".into()),
        officer: None,
    };
    let meta = gad_core::meta::AuditMeta::internal(Channel::Web);
    let second = users::create(state, &first, &meta, input).await.unwrap().user.id;
    (first, second)
}

/// Two admins deactivating each other at the same moment take turns on the last-admin guard:
/// one wins, the other is refused, and an active admin always remains (PostgreSQL; SQLite
/// writes one at a time).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_removing_each_other_at_once_leave_one() {
    use contract::domain::Channel;
    use gad_core::meta::AuditMeta;
    use gad_core::services::{auth::actor_for_user, users};
    let app = TestApp::spawn(Backend::Postgres).await;
    let state = &app.state;
    let meta = AuditMeta::internal(Channel::Web);
    let (first, second_id) = second_admin(&app).await;
    let second = actor_for_user(state, second_id, Channel::Web).await.unwrap();
    for round in 0..6 {
        let (a, b) = tokio::join!(
            users::set_active(state, &first, &meta, second.user_id, false),
            users::set_active(state, &second, &meta, first.user_id, false),
        );
        assert!(a.is_ok() != b.is_ok(), "round {round}: exactly one stands: {a:?} {b:?}");
        let first_won = a.is_ok();
        let refused = if first_won { b.unwrap_err() } else { a.unwrap_err() };
        assert!(refused.to_string().contains("conflict"), "{refused:?}");
        // The winner brings the other back for the next round.
        let (winner, loser) = if first_won { (&first, &second) } else { (&second, &first) };
        users::set_active(state, winner, &meta, loser.user_id, true).await.unwrap();
    }
}

/// An admin creates tokens for anyone but another admin: what a token does is recorded as its
/// owner's doing, so one admin would act in a colleague's name (past their second factor).
/// Over REST the refusal is a 403 in Spanish, and no token is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_mints_no_token_or_link_code_in_another_admin_s_name() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let app = TestApp::spawn(Backend::Sqlite).await;
    let state = &app.state;
    let (_, second) = second_admin(&app).await;
    let client = app.login("admin@gad.local", ADMIN_PASSWORD).await;
    let res = client
        .post(app.url(&format!("/api/v1/users/{second}/tokens")))
        .json(&json!({ "name": "en su nombre", "read_only": true }))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(res).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("otro administrador"), "{body}");
    let tokens = gad_core::entities::api_tokens::Entity::find()
        .filter(gad_core::entities::api_tokens::Column::UserId.eq(second))
        .count(&state.db)
        .await
        .unwrap();
    assert_eq!(tokens, 0);
    // Nor a Telegram link code: a linked account acts as its user through the bot, past the
    // second factor.
    let res = client.post(app.url(&format!("/api/v1/users/{second}/telegram-link"))).send().await.unwrap();
    let (status, body) = problem(res).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("otro administrador"), "{body}");
    let codes = gad_core::entities::telegram_links::Entity::find()
        .filter(gad_core::entities::telegram_links::Column::UserId.eq(second))
        .count(&state.db)
        .await
        .unwrap();
    assert_eq!(codes, 0);
    // An officer's, for an integration, is still the admin's to make.
    let officer = gad_core::entities::users::Entity::find()
        .filter(gad_core::entities::users::Column::Email.eq("efectivo1@gad.local"))
        .one(&state.db)
        .await
        .unwrap()
        .unwrap();
    let res = client
        .post(app.url(&format!("/api/v1/users/{}/tokens", officer.id)))
        .json(&json!({ "name": "integración", "read_only": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let me = |token: String| {
        let url = app.url("/api/v1/me");
        async move { reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(me(token.clone()).await, StatusCode::OK);
    // So is the officer's link code: the admin redeems one with their own Telegram account
    // (acting as the officer through the bot) and keeps another unredeemed.
    let code = |client: reqwest::Client| {
        let url = app.url(&format!("/api/v1/users/{}/telegram-link", officer.id));
        async move {
            let res = client.post(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned()
        }
    };
    let first = code(client.clone()).await;
    gad_core::services::users::redeem_link_code(state, &first, 555_000_111).await.unwrap();
    let waiting = code(client.clone()).await;
    // Promoted to admin, all of that ends: it would otherwise act as a new admin.
    let res =
        client.patch(app.url(&format!("/api/v1/users/{}", officer.id))).json(&json!({ "role": "admin" })).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
    assert_eq!(me(token).await, StatusCode::UNAUTHORIZED);
    let promoted = gad_core::entities::users::Entity::find_by_id(officer.id).one(&state.db).await.unwrap().unwrap();
    assert_eq!(promoted.telegram_user_id, None, "the Telegram link an admin could have made ends");
    assert!(gad_core::services::users::redeem_link_code(state, &waiting, 555_000_112).await.is_err());
    let promoted = gad_core::entities::users::Entity::find_by_id(officer.id).one(&state.db).await.unwrap().unwrap();
    assert_eq!(promoted.telegram_user_id, None);
}
