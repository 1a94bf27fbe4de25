//! Test harness: a real `gad` application on 127.0.0.1:0 against a fresh database —
//! a temporary SQLite file, or a PostgreSQL database cloned from a migrated template.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;

use gad_core::config::Config;
use gad_core::state::AppState;
use gad_server::Application;
use reqwest::header::ACCEPT;
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::OnceCell;

pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const DEMO_PASSWORD: &str = "demo-password-123";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_server_url() -> String {
    std::env::var("GAD_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("GAD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn with_database(url: &str, name: &str) -> String {
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(url);
    format!("{base}/{name}")
}

static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// A migrated PostgreSQL template, made once per test binary.
async fn pg_template() -> String {
    PG_TEMPLATE
        .get_or_init(|| async {
            let name = format!("gad_tpl_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(pg_server_url()).await.unwrap_or_else(|e| {
                panic!("PostgreSQL is required for these tests (GAD_TEST_PG_URL, or run scripts/test.sh): {e}")
            });
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            let db = Database::connect(with_database(&pg_server_url(), &name)).await.unwrap();
            gad_core::db::migrate(&db).await.unwrap();
            db.close().await.unwrap();
            admin.close().await.unwrap();
            name
        })
        .await
        .clone()
}

/// A fresh, migrated, empty database URL for one test.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("gad-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}/{}.db?mode=rwc", dir.display(), uuid::Uuid::new_v4().simple())
        }
        Backend::Postgres => {
            let template = pg_template().await;
            let name = format!("gad_t_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(pg_server_url()).await.unwrap();
            let mut attempt = 0;
            // Concurrent clones of one template can collide briefly; retry.
            while let Err(e) = admin.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await {
                attempt += 1;
                assert!(attempt < 20, "cannot clone the template: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            admin.close().await.unwrap();
            with_database(&pg_server_url(), &name)
        }
    }
}

pub fn config(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.to_owned()),
        ("GAD_LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("GAD_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
        ("GAD_DEMO_PASSWORD".into(), DEMO_PASSWORD.into()),
        ("GAD_SEED_DEMO".into(), "true".into()),
        // The tests sign in as the seeded admin with a password alone; the two-factor tests
        // (tests/security/twofactor.rs) turn the requirement back on.
        ("GAD_2FA_REQUIRED_ROLES".into(), "none".into()),
    ]);
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    Config::from_lookup(move |name| vars.get(name).cloned()).unwrap()
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub database_url: String,
}

impl TestApp {
    /// Admin, demo data, on a fresh database.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        let database_url = fresh_database(backend).await;
        Self::spawn_on(&database_url, extra).await
    }

    pub async fn spawn_on(database_url: &str, extra: &[(&str, &str)]) -> Self {
        // A test that sets a rate limit fills a one-minute window: start it well inside one.
        if extra.iter().any(|(key, _)| key.contains("RATE_LIMIT")) {
            away_from_minute_edge().await;
        }
        let app = Application::build(config(database_url, extra)).await.unwrap();
        let addr = app.local_addr();
        let state = app.state().clone();
        tokio::spawn(app.run());
        Self { addr, state, database_url: database_url.to_owned() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A browser-like client with its own cookie jar that does not follow redirects.
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    /// Calls a server function the way the hydrated dashboard does.
    pub async fn call(&self, client: &reqwest::Client, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/fn/{name}")))
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Logs in through the server function and returns the signed-in client.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Client {
        let client = Self::client();
        let res = self.call(&client, "login", &[("email", email), ("password", password)]).await;
        assert!(res.status().is_success(), "login of {email} failed: {}", res.status());
        client
    }
}

/// Runs a scenario once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario($crate::common::Backend::Postgres).await;
            }
        }
    };
}

/// A REST client (`/api/v1`) authenticated with a personal API token.
pub struct Rest {
    base: String,
    http: reqwest::Client,
    pub token: String,
}

/// A REST answer: the status and the JSON body (`Null` when there is none).
pub type Answer = (reqwest::StatusCode, serde_json::Value);

impl Rest {
    /// Signs in through the dashboard and creates a personal token for `email`.
    pub async fn sign_in(app: &TestApp, email: &str, password: &str, read_only: bool) -> Self {
        let client = app.login(email, password).await;
        let me: serde_json::Value = client.get(app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
        let id = me["id"].as_i64().unwrap();
        let res = client
            .post(app.url(&format!("/api/v1/users/{id}/tokens")))
            .json(&serde_json::json!({ "name": "pruebas", "read_only": read_only }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let body: serde_json::Value = res.json().await.unwrap();
        Self {
            base: app.url("/api/v1"),
            http: reqwest::Client::new(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token)
    }

    /// Sends and reads the answer; every error must be `application/problem+json` whose
    /// `status` matches the HTTP status.
    pub async fn send(req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.unwrap();
        let status = res.status();
        let content_type =
            res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let text = res.text().await.unwrap();
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(content_type, "application/problem+json", "{status}: {text}");
        }
        let body = if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text).unwrap() };
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(body["status"].as_u64(), Some(u64::from(status.as_u16())), "{body}");
        }
        (status, body)
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Answer {
        Self::send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &serde_json::Value) -> Answer {
        Self::send(self.request(reqwest::Method::PUT, path).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &serde_json::Value) -> Answer {
        Self::send(self.request(reqwest::Method::PATCH, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        Self::send(self.request(reqwest::Method::DELETE, path)).await
    }
}

/// The field names of a validation problem, sorted.
pub fn problem_fields(body: &serde_json::Value) -> Vec<String> {
    assert_eq!(body["type"], "urn:gad:problem:validation", "{body}");
    let mut fields: Vec<String> = body["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    fields.sort();
    fields
}

/// A real `gad serve` process (the built binary), killed when dropped. For what is per
/// process and so cannot be shared with the other tests of this binary: the metrics
/// recorder, several replicas on one database.
pub struct GadProcess {
    child: std::process::Child,
    pub base: String,
}

impl Drop for GadProcess {
    /// SIGTERM, as `docker stop` would, so the process ends through its own shutdown (and an
    /// instrumented build writes its coverage profile); SIGKILL if it has not ended in 5 s.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GadProcess {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap()
    }

    /// Starts `gad serve` on a free port against `database_url` (with the test Redis and the
    /// demo data) and waits until it is ready; `extra` adds or overrides variables (an empty
    /// value unsets one: `("REDIS_URL", "")` runs without Redis).
    pub async fn start(database_url: &str, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let process = Self::spawn("serve", database_url, port, extra);
        process.wait_ready().await;
        process
    }

    /// Starts `gad bot` (long polling) against `database_url`; `base` is its operations
    /// listener (`GAD_METRICS_ADDR`: `/health`, `/metrics`), ready when this returns.
    pub async fn bot(database_url: &str, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut extra = extra.to_vec();
        let addr = format!("127.0.0.1:{port}");
        extra.push(("GAD_METRICS_ADDR", &addr));
        let process = Self::spawn("bot", database_url, port, &extra);
        process.wait_ready().await;
        process
    }

    fn spawn(command: &str, database_url: &str, port: u16, extra: &[(&str, &str)]) -> Self {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gad"));
        cmd.arg(command)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis_url())
            .env("GAD_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("GAD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("GAD_2FA_REQUIRED_ROLES", "none")
            .env("GAD_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("GAD_SEED_DEMO", "true")
            .env("RUST_LOG", std::env::var("GAD_TEST_CHILD_LOG").unwrap_or_else(|_| "warn".into()));
        // GAD_TEST_CHILD_LOG=info (say) shows what the processes log.
        if std::env::var_os("GAD_TEST_CHILD_LOG").is_none() {
            cmd.stdout(std::process::Stdio::null());
        }
        // Under `cargo llvm-cov` the child writes its coverage profile where the tests' go.
        if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
            cmd.env("LLVM_PROFILE_FILE", profile);
        }
        for (key, value) in extra {
            cmd.env(key, value);
        }
        GadProcess { child: cmd.spawn().unwrap(), base: format!("http://127.0.0.1:{port}") }
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if http.get(self.url("/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("gad did not become ready on {}", self.base);
    }

    /// Sends SIGTERM (what `docker stop` sends) and waits up to `limit` for the exit; the
    /// exit status, or None if it is still running.
    pub async fn terminate(&mut self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }

    /// Sends `signal` (`HUP`, `TERM`, …) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success());
    }

    /// Kills the process with SIGKILL (no clean-up of any kind) and reaps it.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// An API token of the demo admin, made through the login page and `POST …/tokens`.
    pub async fn admin_token(&self) -> String {
        let jar = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let res = jar
            .post(self.url("/api/fn/login"))
            .header("accept", "application/json")
            .form(&[("email", "admin@gad.local"), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "login: {}", res.status());
        let me: serde_json::Value = jar.get(self.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
        let token: serde_json::Value = jar
            .post(self.url(&format!("/api/v1/users/{}/tokens", me["id"])))
            .json(&serde_json::json!({ "name": "pruebas" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["token"].as_str().unwrap().to_owned()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The events committed to the outbox since it was made (or last taken): what the change
/// under test wrote, in order, read straight from the database.
pub struct EventLog {
    after: i64,
}

impl EventLog {
    pub async fn mark(state: &AppState) -> Self {
        Self { after: gad_core::events::latest_id(&state.db).await.unwrap() }
    }

    /// The events since the mark (the ones committed so far, sealed now if the sealer has not
    /// come round yet); moves the mark past them.
    pub async fn take(&mut self, state: &AppState) -> Vec<contract::events::Event> {
        gad_core::sealer::seal_now(&state.db).await.unwrap();
        let events = gad_core::events::read_after(&state.db, self.after, 10_000).await.unwrap();
        if let Some(last) = events.last() {
            self.after = last.id;
        }
        events.into_iter().map(|d| d.event).collect()
    }
}

/// Waits, if need be, until at least 20 s remain in the current minute: the rate limits count
/// in fixed one-minute windows, so a test that fills one must not straddle its end (slow
/// builds, such as the coverage-instrumented one, made that happen).
pub async fn away_from_minute_edge() {
    use chrono::Timelike;
    while chrono::Utc::now().second() >= 40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// How many times PostgreSQL planned `sql` on this connection: (generic, custom).
pub async fn plans_of(txn: &sea_orm::DatabaseTransaction, sql: &str) -> (i64, i64) {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
            [sql.into()],
        ))
        .await
        .unwrap()
        .expect("the statement is prepared on this connection");
    (row.try_get_by_index(0).unwrap(), row.try_get_by_index(1).unwrap())
}
