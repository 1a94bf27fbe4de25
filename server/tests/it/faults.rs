//! Faults under a steady write load, each against real processes on 127.0.0.1: PostgreSQL
//! restarted (fast, immediate) and down for 10 s, Redis killed and restarted, `gad bot` killed
//! with SIGKILL mid-delivery and mid-conversation, a read-only SQLite file, a full disk under
//! a SQLite file — and, first, the README's embedded default with the bot: `gad serve` and
//! `gad bot` as two processes on one SQLite file.
//!
//! For each fault: every acknowledged write is in the database, the event of every
//! acknowledged write reaches the live stream (resumed with `Last-Event-ID`, no event id
//! twice) and the Telegram notifier, and nothing fails once the service is back. Each test
//! prints its figures (`cargo test -p server --test it -- faults:: --nocapture`), which
//! docs/RELIABILITY.md records.
#![allow(clippy::unwrap_used)]

use crate::bot::{FakeTelegram, TOKEN, buttons, callback_update, text, text_update};
use crate::common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Backend, GadProcess};
use contract::domain::Channel;
use futures::StreamExt;
use gad_core::meta::AuditMeta;
use gad_core::state::AppState;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

// ------------------------------------------------------------------------------- helpers

/// An in-test view of the database the processes share (for link codes and checks).
pub(crate) async fn state_of(database_url: &str) -> AppState {
    gad_server::startup::connect(common::config(database_url, &[("REDIS_URL", "")])).await.unwrap()
}

/// SQLite's own check of the file finds nothing wrong.
async fn assert_sound(state: &AppState) {
    use sea_orm::ConnectionTrait;
    let check = state
        .db
        .query_one_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "PRAGMA integrity_check"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.try_get_by_index::<String>(0).unwrap(), "ok");
}

/// A write the database could not take: 503 problem+json saying nothing was saved, in
/// Spanish, without naming the database.
async fn assert_refused_cleanly(answer: reqwest::Response) {
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    let body: Value = answer.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no se guardó nada") && !detail.to_lowercase().contains("sqlite"), "{body}");
}

async fn user_id(state: &AppState, email: &str) -> i64 {
    use gad_core::entities::users;
    users::Entity::find().filter(users::Column::Email.eq(email)).one(&state.db).await.unwrap().unwrap().id
}

async fn officer_of(state: &AppState, email: &str) -> i64 {
    use gad_core::entities::officers;
    let user = user_id(state, email).await;
    officers::Entity::find().filter(officers::Column::UserId.eq(user)).one(&state.db).await.unwrap().unwrap().id
}

/// Links `email` to Telegram user `tg_user` through the running bot's `/start <code>`.
async fn link(state: &AppState, tg: &FakeTelegram, email: &str, tg_user: i64) {
    use gad_core::entities::users;
    let admin =
        users::Entity::find().filter(users::Column::Email.eq("admin@gad.local")).one(&state.db).await.unwrap().unwrap();
    let admin = gad_core::services::auth::actor_for_user(state, admin.id, Channel::Web).await.unwrap();
    let target = user_id(state, email).await;
    let meta = AuditMeta::internal(Channel::Web);
    let code = gad_core::services::users::create_link_code(state, &admin, &meta, target).await.unwrap().code;
    tg.push(text_update(tg_user, &format!("/start {code}")));
    tg.sent(tg_user, "Cuenta vinculada").await;
}

/// Creates `n` tasks assigned to `officer` through the REST API; their codes.
async fn assign_tasks(serve: &GadProcess, token: &str, officer: i64, n: usize, title: &str) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut codes = Vec::new();
    for i in 0..n {
        let created: Value = http
            .post(serve.url("/api/v1/tasks"))
            .bearer_auth(token)
            .json(&json!({"title": format!("{title} {i}"), "task_type": "administrative", "officer_ids": [officer]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        codes.push(created["code"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned());
    }
    codes
}

/// Codes of the tasks in the database among `codes`.
async fn stored(state: &AppState, codes: &[String]) -> HashSet<String> {
    use gad_core::entities::tasks;
    let mut found = HashSet::new();
    for chunk in codes.chunks(200) {
        let rows =
            tasks::Entity::find().filter(tasks::Column::Code.is_in(chunk.to_vec())).all(&state.db).await.unwrap();
        found.extend(rows.into_iter().map(|t| t.code));
    }
    found
}

/// One write of the load: when it was sent and how it ended.
#[derive(Clone, Debug)]
pub(crate) struct Attempt {
    sent: Instant,
    /// The HTTP status, or None when no answer came (connection refused, reset, timeout).
    status: Option<u16>,
    /// The code of the task, when acknowledged (2xx).
    code: Option<String>,
}

/// Creates a task every `every` through the REST API until `stop`; every attempt recorded.
pub(crate) fn write_load(
    base: String,
    token: String,
    officer: Option<i64>,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<Attempt>> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        let mut attempts = Vec::new();
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let sent = Instant::now();
            let body = json!({
                "title": format!("Carga bajo fallas {n}"),
                "task_type": "administrative",
                "priority": "low",
                "officer_ids": officer.into_iter().collect::<Vec<_>>(),
            });
            let answer = http.post(format!("{base}/api/v1/tasks")).bearer_auth(&token).json(&body).send().await;
            let attempt = match answer {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let code = if res.status().is_success() {
                        res.json::<Value>().await.ok().and_then(|v| v["code"].as_str().map(str::to_owned))
                    } else {
                        None
                    };
                    Attempt { sent, status: Some(status), code }
                }
                Err(_) => Attempt { sent, status: None, code: None },
            };
            attempts.push(attempt);
            tokio::time::sleep(every).await;
        }
        attempts
    })
}

/// What a live-stream client saw, reconnecting with `Last-Event-ID` whenever the stream ends.
#[derive(Default, Debug)]
pub(crate) struct Watched {
    /// Outbox ids of the events received, in order.
    ids: Vec<i64>,
    /// Codes of the `task.created` events received.
    created: HashSet<String>,
    resyncs: u32,
    connections: u32,
}

pub(crate) fn watch(
    base: String,
    token: String,
    stop: Arc<AtomicBool>,
) -> (Arc<Mutex<Watched>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Watched::default()));
    let out = seen.clone();
    let handle = tokio::spawn(async move {
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(2)).build().unwrap();
        let mut last: Option<i64> = None;
        while !stop.load(Ordering::SeqCst) {
            let mut request = http.get(format!("{base}/api/v1/events/stream")).bearer_auth(&token);
            if let Some(id) = last {
                request = request.header("last-event-id", id.to_string());
            }
            let Ok(response) = request.send().await else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            if !response.status().is_success() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            seen.lock().unwrap().connections += 1;
            let mut body = response.bytes_stream();
            let mut buffer = String::new();
            loop {
                let chunk = tokio::select! {
                    chunk = body.next() => chunk,
                    () = tokio::time::sleep(Duration::from_millis(300)) => {
                        if stop.load(Ordering::SeqCst) { return; }
                        continue;
                    }
                };
                let Some(Ok(chunk)) = chunk else { break };
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    let (mut id, mut kind, mut data) = (None, "", "");
                    for line in frame.lines() {
                        if let Some(v) = line.strip_prefix("id:") {
                            id = v.trim().parse::<i64>().ok();
                        } else if let Some(v) = line.strip_prefix("event:") {
                            kind = v.trim();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data = v.trim();
                        }
                    }
                    if let Some(id) = id {
                        last = Some(id);
                    }
                    let mut seen = seen.lock().unwrap();
                    match kind {
                        "resync" => seen.resyncs += 1,
                        "" => {}
                        _ => {
                            if let Some(id) = id {
                                seen.ids.push(id);
                            }
                            if kind == "task.created"
                                && let Ok(event) = serde_json::from_str::<Value>(data)
                                && let Some(code) = event["code"].as_str()
                            {
                                seen.created.insert(code.to_owned());
                            }
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    (out, handle)
}

/// Waits until the watcher's first stream is open: writes before it would not be replayed
/// (a first connection has no `Last-Event-ID`).
pub(crate) async fn connected(watched: &Mutex<Watched>) {
    let open = eventually(Duration::from_secs(10), || watched.lock().unwrap().connections > 0).await;
    assert!(open, "the live stream did not open");
}

/// Waits up to `limit` for `done`.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

/// The figures of one fault run, printed for docs/RELIABILITY.md.
pub(crate) struct Figures {
    pub(crate) fault: &'static str,
    pub(crate) attempts: Vec<Attempt>,
    /// When the service came back (the fault's end).
    pub(crate) back: Instant,
}

impl Figures {
    fn acknowledged(&self) -> Vec<String> {
        self.attempts.iter().filter_map(|a| a.code.clone()).collect()
    }

    /// Seconds from the service's return to the first acknowledged write sent after it.
    fn recovery(&self) -> Option<f64> {
        self.attempts
            .iter()
            .find(|a| a.sent >= self.back && a.code.is_some())
            .map(|a| a.sent.duration_since(self.back).as_secs_f64())
    }

    /// Failed writes sent after the first success that followed the service's return.
    fn failures_after_recovery(&self) -> Vec<Attempt> {
        let Some(first) = self.attempts.iter().position(|a| a.sent >= self.back && a.code.is_some()) else {
            return self.attempts.clone();
        };
        self.attempts[first..].iter().filter(|a| a.code.is_none()).cloned().collect()
    }

    fn print(&self, rows: usize, streamed: usize, notified: Option<usize>) {
        let failed = self.attempts.iter().filter(|a| a.code.is_none()).count();
        let server_errors = self.attempts.iter().filter(|a| a.status.is_some_and(|s| s >= 500)).count();
        eprintln!(
            "FAULT {}: {} writes sent, {} acknowledged, {} failed during the fault ({} answered 5xx, the rest \
             unanswered); {} rows found; {} events streamed; {} notified; recovery {:.2} s",
            self.fault,
            self.attempts.len(),
            self.acknowledged().len(),
            failed,
            server_errors,
            rows,
            streamed,
            notified.map_or("-".to_owned(), |n| n.to_string()),
            self.recovery().unwrap_or(f64::NAN),
        );
    }
}

/// Checks the promises of one fault run: acknowledged → stored, streamed once, notified (at
/// least once; twice only for an event in flight when the database went away — the notifier
/// sent it but could not record so — at most `in_flight` of them).
pub(crate) async fn check(
    figures: &Figures,
    state: &AppState,
    watched: &Mutex<Watched>,
    tg: Option<(&FakeTelegram, i64, usize)>,
) {
    let acknowledged = figures.acknowledged();
    assert!(acknowledged.len() >= 20, "too little load to judge: {}", acknowledged.len());
    let found = stored(state, &acknowledged).await;
    let lost: Vec<&String> = acknowledged.iter().filter(|c| !found.contains(*c)).collect();
    assert!(lost.is_empty(), "{}: acknowledged writes missing from the database: {lost:?}", figures.fault);

    let streamed = eventually(Duration::from_secs(20), || {
        let w = watched.lock().unwrap();
        acknowledged.iter().all(|c| w.created.contains(c))
    })
    .await;
    let (streamed_count, ids) = {
        let w = watched.lock().unwrap();
        (acknowledged.iter().filter(|c| w.created.contains(*c)).count(), w.ids.clone())
    };
    assert!(
        streamed,
        "{}: {} of {} acknowledged writes never reached the live stream",
        figures.fault,
        acknowledged.len() - streamed_count,
        acknowledged.len()
    );
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{}: an event reached the stream twice", figures.fault);

    let mut notified = None;
    if let Some((tg, chat, in_flight)) = tg {
        let sent_codes = || -> HashMap<String, usize> {
            let mut counts = HashMap::new();
            for call in tg.calls() {
                if call.method == "sendMessage" && call.body["chat_id"] == json!(chat) {
                    for code in &acknowledged {
                        if text(&call).contains(code.as_str()) && text(&call).contains("Se le asignó") {
                            *counts.entry(code.clone()).or_insert(0) += 1;
                        }
                    }
                }
            }
            counts
        };
        let all = eventually(Duration::from_secs(30), || sent_codes().len() == acknowledged.len()).await;
        let counts = sent_codes();
        assert!(
            all,
            "{}: {} of {} assignments never notified",
            figures.fault,
            acknowledged.len() - counts.len(),
            acknowledged.len()
        );
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.len() <= in_flight && twice.iter().all(|(_, n)| **n == 2),
            "{}: notified more than once beyond the events in flight: {twice:?}",
            figures.fault
        );
        eprintln!("{}: {} notification(s) in flight sent twice", figures.fault, twice.len());
        notified = Some(counts.len());
    }

    let late = figures.failures_after_recovery();
    assert!(late.is_empty(), "{}: writes failed after recovery: {late:?}", figures.fault);
    figures.print(found.len(), streamed_count, notified);
}

// -------------------------------------------------------------------- private services

/// A PostgreSQL cluster of this test's own (initdb on a free port), to restart at will.
struct PrivatePostgres {
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// None when no PostgreSQL server binaries with PostGIS are installed.
    fn start() -> Option<Self> {
        let bin = ["17", "16", "15"]
            .iter()
            .map(|v| std::path::PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
            .find(|b| b.join("initdb").exists())?;
        let dir = std::env::temp_dir().join(format!("gad-fault-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = Self { dir, bin, port: common::free_port() };
        if is_root() {
            assert!(
                std::process::Command::new("chown").arg("-R").arg("postgres").arg(&pg.dir).status().unwrap().success()
            );
        }
        let data = pg.dir.join("data");
        let ok = pg
            .run("initdb", &["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .success();
        assert!(ok, "initdb failed");
        pg.start_server();
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) -> std::process::ExitStatus {
        let path = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            std::process::Command::new(path)
        };
        command.args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status().unwrap()
    }

    fn data(&self) -> String {
        self.dir.join("data").to_str().unwrap().to_owned()
    }

    fn options(&self) -> String {
        format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display())
    }

    fn start_server(&self) {
        let log = self.dir.join("server.log");
        let status = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-l", log.to_str().unwrap(), "-o", &self.options(), "-w", "-t", "60", "start"],
        );
        assert!(status.success(), "pg_ctl start failed");
    }

    fn restart(&self, mode: &str) {
        let log = self.dir.join("server.log");
        let status = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &self.options(),
                "-m",
                mode,
                "-w",
                "-t",
                "60",
                "restart",
            ],
        );
        assert!(status.success(), "pg_ctl restart -m {mode} failed");
    }

    fn stop(&self, mode: &str) {
        assert!(self.run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"]).success());
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A Redis server of this test's own, killed and restarted at will on one port.
struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start() -> Option<Self> {
        let mut redis = Self { port: common::free_port(), child: None };
        redis.spawn()?;
        Some(redis)
    }

    fn spawn(&mut self) -> Option<()> {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Some(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

// ------------------------------------------------------------------------------- tests

/// The README's embedded default plus the bot: `gad serve` and `gad bot`, two processes on
/// one SQLite file, no Redis. A task assigned through the REST API reaches the officer on
/// Telegram; a task started from Telegram reaches the dashboard's live stream; the bot's own
/// metrics are served in polling mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_bot_on_one_sqlite_file_hear_each_other() {
    let tg = FakeTelegram::start().await;
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let serve = GadProcess::start(&database_url, &[("REDIS_URL", "")]).await;
    let bot = GadProcess::bot(
        &database_url,
        &[("REDIS_URL", ""), ("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", tg.url.as_str())],
    )
    .await;
    let state = state_of(&database_url).await;
    link(&state, &tg, "efectivo1@gad.local", 7001).await;
    let officer = officer_of(&state, "efectivo1@gad.local").await;
    // The command menu was registered, and a stale webhook removed, when polling started.
    let menu = tg.wait_for("setMyCommands", |c| c.method == "setMyCommands").await;
    assert!(menu.body["commands"].as_array().unwrap().iter().any(|c| c["command"] == "crear"));
    tg.wait_for("deleteWebhook", |c| c.method == "deleteWebhook").await;

    let token = serve.admin_token().await;
    let stop = Arc::new(AtomicBool::new(false));
    let (watched, watcher) = watch(serve.base.clone(), token.clone(), stop.clone());
    connected(&watched).await;

    // Dashboard/API → Telegram.
    let http = reqwest::Client::new();
    let created: Value = http
        .post(serve.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&json!({"title": "Custodia de urna", "task_type": "surveillance", "priority": "high", "officer_ids": [officer]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = created["code"].as_str().unwrap().to_owned();
    let id = created["id"].as_i64().unwrap();
    let notice = tg.sent(7001, &code).await;
    assert!(text(&notice).contains("Se le asignó una tarea"), "{}", text(&notice));
    let start = format!("t:{id}:in_progress");
    assert!(buttons(&notice).contains(&start), "{:?}", buttons(&notice));

    // Telegram → the dashboard's live stream.
    tg.push(callback_update(7001, "cb-1", notice.result["message_id"].as_i64().unwrap_or(1), &start));
    let seen = eventually(Duration::from_secs(10), || {
        let w = watched.lock().unwrap();
        w.created.contains(&code) && w.ids.len() >= 2
    })
    .await;
    assert!(seen, "the live stream on gad serve did not get the events: {:?}", watched.lock().unwrap());
    let task: Value = http
        .get(serve.url(&format!("/api/v1/tasks/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(task["status"], "in_progress");

    // gad bot's metrics, in polling mode.
    let metrics = http.get(bot.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("gad_bot_notifications_total"), "{metrics}");
    assert!(metrics.contains("gad_outbox_backlog_events{consumer=\"telegram:123456\"}"), "{metrics}");
    stop.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
}

/// `gad serve` on SIGTERM: open live streams end at once (the client resumes elsewhere), and
/// the process exits cleanly well within Docker's 10 s grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_drains_on_sigterm_even_with_open_streams() {
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let mut serve = GadProcess::start(&database_url, &[("REDIS_URL", "")]).await;
    let token = serve.admin_token().await;
    let stream =
        reqwest::Client::new().get(serve.url("/api/v1/events/stream")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    let started = Instant::now();
    let status = serve.terminate(Duration::from_secs(5)).await.expect("gad serve still running 5 s after SIGTERM");
    assert!(status.success(), "{status}");
    let ended =
        tokio::time::timeout(Duration::from_secs(2), async { while let Some(Ok(_)) = body.next().await {} }).await;
    assert!(ended.is_ok(), "the live stream did not end");
    eprintln!("gad serve exited {:.2} s after SIGTERM with a live stream open", started.elapsed().as_secs_f64());
}

/// `gad serve` in webhook mode holds the notifier's lease (it speaks Telegram); on SIGTERM it
/// gives the lease up before it exits, so another replica speaks at once instead of leaving
/// every chat unanswered until the lease lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_webhook_replica_gives_the_telegram_lease_up() {
    use gad_core::entities::event_consumers;
    let tg = FakeTelegram::start().await;
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let env = [
        ("REDIS_URL", ""),
        ("TELEGRAM_BOT_TOKEN", TOKEN),
        ("TELEGRAM_API_URL", tg.url.as_str()),
        ("TELEGRAM_WEBHOOK_SECRET", "s3cret-Path_0123456789abcdef"),
    ];
    let mut serve = GadProcess::start(&database_url, &env).await;
    let state = state_of(&database_url).await;
    let holder = || async {
        event_consumers::Entity::find()
            .filter(event_consumers::Column::Name.starts_with("telegram:"))
            .one(&state.db)
            .await
            .unwrap()
            .and_then(|row| row.owner)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while holder().await.is_none() {
        assert!(Instant::now() < deadline, "the webhook replica never took the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = serve.terminate(Duration::from_secs(10)).await.expect("gad serve still running 10 s after SIGTERM");
    assert!(status.success(), "{status}");
    assert_eq!(holder().await, None, "the lease was left to lapse");
}

/// Two `gad bot` processes on one database (a second replica, or a deploy overlapping the
/// old one): every assignment is notified exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bots_never_send_one_notification_twice() {
    let tg = FakeTelegram::start().await;
    let database_url = common::fresh_database(Backend::Postgres).await;
    let env = [("REDIS_URL", ""), ("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", tg.url.as_str())];
    let serve = GadProcess::start(&database_url, &[("REDIS_URL", "")]).await;
    let _first = GadProcess::bot(&database_url, &env).await;
    let _second = GadProcess::bot(&database_url, &env).await;
    let state = state_of(&database_url).await;
    link(&state, &tg, "efectivo4@gad.local", 7004).await;
    let officer = officer_of(&state, "efectivo4@gad.local").await;
    let token = serve.admin_token().await;
    let codes = assign_tasks(&serve, &token, officer, 20, "Doble").await;
    let count = |code: &str| {
        tg.calls()
            .iter()
            .filter(|c| c.method == "sendMessage" && text(c).contains("Se le asignó") && text(c).contains(code))
            .count()
    };
    assert!(eventually(Duration::from_secs(30), || codes.iter().all(|c| count(c) >= 1)).await, "not all notified");
    // Time for a second sender, if there were one, to send again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let twice: Vec<&String> = codes.iter().filter(|c| count(c) > 1).collect();
    assert!(twice.is_empty(), "notified twice: {twice:?}");
}

/// `gad bot` killed with SIGKILL while it delivers: a new one resumes from the last
/// acknowledged event once the dead one's lease lapses; every assignment is notified, none
/// twice but the one in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_killed_mid_delivery_resumes_where_it_stopped() {
    let tg = FakeTelegram::start().await;
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let env = [("REDIS_URL", ""), ("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", tg.url.as_str())];
    let serve = GadProcess::start(&database_url, &[("REDIS_URL", "")]).await;
    let mut bot = GadProcess::bot(&database_url, &env).await;
    let state = state_of(&database_url).await;
    link(&state, &tg, "efectivo2@gad.local", 7002).await;
    let officer = officer_of(&state, "efectivo2@gad.local").await;
    let token = serve.admin_token().await;
    // Telegram answers slowly, so the kill lands mid-delivery.
    tg.slow_down(150);
    let codes = assign_tasks(&serve, &token, officer, 30, "Entrega").await;
    tg.sent(7002, &codes[0]).await;
    bot.kill_hard();
    let killed = Instant::now();
    let delivered_before =
        tg.calls().iter().filter(|c| c.method == "sendMessage" && text(c).contains("Se le asignó")).count();

    let _bot = GadProcess::bot(&database_url, &env).await;
    let notified = |code: &str| {
        tg.calls()
            .iter()
            .any(|c| c.method == "sendMessage" && text(c).contains("Se le asignó") && text(c).contains(code))
    };
    let all = eventually(Duration::from_secs(60), || codes.iter().all(|c| notified(c))).await;
    assert!(all, "some assignments were never notified after the restart");
    let recovery = killed.elapsed().as_secs_f64();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for call in tg.calls() {
        if call.method == "sendMessage" && text(&call).contains("Se le asignó") {
            for code in &codes {
                if text(&call).contains(code.as_str()) {
                    *counts.entry(code.as_str()).or_default() += 1;
                }
            }
        }
    }
    let twice = counts.values().filter(|n| **n > 1).count();
    assert!(twice <= 1, "only the notification in flight may go twice: {counts:?}");
    eprintln!(
        "FAULT gad bot SIGKILL mid-delivery: {} assignments, {} notified before the kill, all {} notified after, \
         {} sent twice; recovery {:.2} s (lease 6 s)",
        codes.len(),
        delivered_before,
        counts.len(),
        twice,
        recovery
    );
}

/// `gad bot` killed with SIGKILL while it holds updates it took from Telegram (one being
/// answered, two waiting behind it in the same chat): Telegram already counts them as
/// delivered, and the next bot handles all three, because each was in the inbox before the
/// poller moved its offset. (Before the inbox, all three were lost.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_killed_with_updates_in_hand_loses_none() {
    use gad_core::entities::bot_inbox;
    let tg = FakeTelegram::start().await;
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let env = [("REDIS_URL", ""), ("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", tg.url.as_str())];
    let _serve = GadProcess::start(&database_url, &[("REDIS_URL", "")]).await;
    let mut bot = GadProcess::bot(&database_url, &env).await;
    let state = state_of(&database_url).await;
    let chat = 7103;
    link(&state, &tg, "efectivo3@gad.local", chat).await;
    let answers = || {
        tg.calls()
            .iter()
            .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == json!(chat) && text(c).contains("/historial"))
            .count()
    };
    // Telegram answers slowly: the first reply is on its way when the bot dies.
    // (Slow enough, and waited for long enough, for a slow instrumented run.)
    tg.slow_down(15_000);
    for _ in 0..3 {
        tg.push(text_update(chat, "/ayuda"));
    }
    let kept = bot_inbox::Entity::find().filter(bot_inbox::Column::HandledAt.is_null());
    let deadline = Instant::now() + Duration::from_secs(12);
    while kept.clone().all(&state.db).await.unwrap().len() < 3 || tg.queued() > 0 {
        assert!(Instant::now() < deadline, "the updates were not all taken from Telegram and kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(answers(), 0, "none answered yet");
    bot.kill_hard();
    tg.slow_down(0);
    let killed = Instant::now();
    let _bot = GadProcess::bot(&database_url, &env).await;
    assert!(eventually(Duration::from_secs(30), || answers() >= 3).await, "updates lost with the bot: {}", answers());
    let recovery = killed.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kept.clone().all(&state.db).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "updates left unhandled in the inbox");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(answers(), 3, "each answered once");
    eprintln!("FAULT gad bot SIGKILL holding 3 updates: all 3 answered after the restart; recovery {recovery:.2} s");
}

/// PostgreSQL restarted (fast, then immediate shutdown) and then down for 10 s under a steady
/// write load, with the bot notifying each assignment and a live stream open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_and_an_outage_lose_nothing() {
    let Some(pg) = PrivatePostgres::start() else {
        eprintln!("skipped: no PostgreSQL server binaries");
        return;
    };
    let tg = FakeTelegram::start().await;
    let url = pg.url();
    let serve = GadProcess::start(&url, &[("REDIS_URL", "")]).await;
    let _bot = GadProcess::bot(
        &url,
        &[("REDIS_URL", ""), ("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", tg.url.as_str())],
    )
    .await;
    let state = state_of(&url).await;
    link(&state, &tg, "efectivo3@gad.local", 7003).await;
    let officer = officer_of(&state, "efectivo3@gad.local").await;
    let token = serve.admin_token().await;

    let stop = Arc::new(AtomicBool::new(false));
    let (watched, watcher) = watch(serve.base.clone(), token.clone(), stop.clone());
    connected(&watched).await;
    let load = write_load(serve.base.clone(), token, Some(officer), Duration::from_millis(50), stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.restart("fast");
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.restart("immediate");
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.stop("fast");
    tokio::time::sleep(Duration::from_secs(10)).await;
    pg.start_server();
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, Ordering::SeqCst);
    let attempts = load.await.unwrap();
    let figures = Figures { fault: "PostgreSQL restart (fast, immediate) + 10 s down", attempts, back };
    // Three faults: at most one event in flight at each.
    check(&figures, &state, &watched, Some((&tg, 7003, 3))).await;
    watcher.await.unwrap();
}

/// A dashboard page asked while the database is down answers 503 with a retry hint — never
/// the login page: an outage does not sign anybody out, and the page is back with the
/// database, in the same session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_an_error_page_not_a_sign_out() {
    let Some(pg) = PrivatePostgres::start() else {
        eprintln!("skipped: no PostgreSQL server binaries");
        return;
    };
    let app = common::TestApp::spawn_on(&pg.url(), &[]).await;
    let admin = app.login("admin@gad.local", common::ADMIN_PASSWORD).await;
    assert_eq!(admin.get(app.url("/")).send().await.unwrap().status(), 200);

    pg.stop("fast");
    // Past the signed-in user's cache (2 s), so the page guard asks the database.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let down = admin.get(app.url("/")).send().await.unwrap();
    assert_eq!(down.status(), 503, "{:?}", down.headers().get("location"));
    assert!(down.headers().get("location").is_none());
    assert_eq!(down.headers().get("retry-after").unwrap(), "5");
    let page = down.text().await.unwrap();
    assert!(page.contains("no está disponible"), "{page}");
    assert!(!page.contains("127.0.0.1") && !page.contains("postgres"), "no cause on the page: {page}");

    pg.start_server();
    let back = Instant::now();
    let status = loop {
        let status = admin.get(app.url("/")).send().await.unwrap().status();
        if status == 200 || back.elapsed() > Duration::from_secs(20) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 200, "the same session sees the page again once the database is back");
}

/// Redis killed with SIGKILL and restarted empty under a steady write load: events never
/// depended on it, sessions and limits fall back; nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_loses_nothing() {
    let Some(mut redis) = PrivateRedis::start() else {
        eprintln!("skipped: no redis-server");
        return;
    };
    let database_url = common::fresh_database(Backend::Postgres).await;
    let redis_url = redis.url();
    let serve = GadProcess::start(&database_url, &[("REDIS_URL", redis_url.as_str())]).await;
    let state = state_of(&database_url).await;
    let token = serve.admin_token().await;
    let stop = Arc::new(AtomicBool::new(false));
    let (watched, watcher) = watch(serve.base.clone(), token.clone(), stop.clone());
    connected(&watched).await;
    let load = write_load(serve.base.clone(), token, None, Duration::from_millis(50), stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_secs(5)).await;
    redis.spawn().expect("redis restarts");
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::SeqCst);
    let attempts = load.await.unwrap();
    let figures = Figures { fault: "Redis SIGKILL + 5 s down + restart (empty)", attempts, back };
    check(&figures, &state, &watched, None).await;
    watcher.await.unwrap();
}

/// The Redis pool tests a connection (a PING) at most once a second, not on every checkout —
/// and still notices a Redis that died: after a restart, a checkout more than a second later
/// gets a working connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_pool_pings_once_a_second_and_replaces_a_dead_connection() {
    use gad_core::redis_pool::{RedisManager, TESTED_FOR};
    let Some(mut redis) = PrivateRedis::start() else {
        eprintln!("skipped: no redis-server");
        return;
    };
    let pool = bb8::Pool::builder()
        .max_size(4)
        .connection_timeout(Duration::from_secs(5))
        .build(RedisManager::new(&redis.url()).unwrap())
        .await
        .unwrap();
    async fn pings(pool: &gad_core::redis_pool::RedisPool) -> u64 {
        let mut conn = pool.get().await.unwrap();
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut *conn).await.unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("cmdstat_ping:calls="))
            .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
    }
    let start = Instant::now();
    for i in 0..200 {
        let mut conn = pool.get().await.unwrap();
        let _: () = redis::cmd("SET").arg("k").arg(i).query_async(&mut *conn).await.unwrap();
    }
    // (bb8 tests on every checkout by default: 200 PINGs.) At most one test per connection
    // (4) per second begun, however slowly this machine ran the loop.
    let count = pings(&pool).await;
    let most = 4 * (start.elapsed().as_secs() + 1);
    assert!(count <= most, "{count} PINGs for 200 checkouts (at most {most})");
    tokio::time::sleep(TESTED_FOR + Duration::from_millis(100)).await;
    assert!(pings(&pool).await > count, "a connection idle past a second is tested again");

    redis.kill();
    redis.spawn().expect("redis restarts");
    tokio::time::sleep(TESTED_FOR + Duration::from_millis(100)).await;
    let mut conn = pool.get().await.expect("a dead connection is replaced");
    let value: Option<String> = redis::cmd("GET").arg("k").query_async(&mut *conn).await.unwrap();
    assert_eq!(value, None, "a new connection to the restarted (empty) Redis");
}

/// A SQLite file that became read-only: writes get a clear error (no 5xx without a
/// problem body, no half-written row), reads go on, and once writable again everything is
/// there and the file is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_sqlite_file_refuses_writes_cleanly() {
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let token;
    let first_code;
    {
        let serve = GadProcess::start(&database_url, &[("REDIS_URL", "")]).await;
        token = serve.admin_token().await;
        let created: Value = reqwest::Client::new()
            .post(serve.url("/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({"title": "Antes de la falla", "task_type": "administrative"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        first_code = created["code"].as_str().unwrap().to_owned();
    }
    let read_only = format!("{}{}mode=ro", database_url, if database_url.contains('?') { "&" } else { "?" });
    {
        let serve = GadProcess::start(&read_only, &[("REDIS_URL", "")]).await;
        let http = reqwest::Client::new();
        let refused = http
            .post(serve.url("/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({"title": "Durante la falla", "task_type": "administrative"}))
            .send()
            .await
            .unwrap();
        assert_refused_cleanly(refused).await;
        let list = http.get(serve.url("/api/v1/tasks")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(list.status(), 200, "reads go on");
    }
    let state = state_of(&database_url).await;
    assert_sound(&state).await;
    assert_eq!(stored(&state, std::slice::from_ref(&first_code)).await.len(), 1);
    use gad_core::entities::tasks;
    let during =
        tasks::Entity::find().filter(tasks::Column::Title.eq("Durante la falla")).all(&state.db).await.unwrap();
    assert!(during.is_empty(), "nothing half-written");
}

/// A small real filesystem (tmpfs) holding one test's SQLite file, unmounted when dropped.
/// Mounting needs root (as in CI); `None` elsewhere.
struct SmallDisk {
    dir: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("gad-full-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(Self { dir })
    }

    /// Writes a filler file until the filesystem has no room left.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.dir.join("filler")).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while filler.write_all(&chunk).is_ok() {}
        // The last partial chunk: byte by byte until nothing fits.
        while filler.write_all(&[0]).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The SQLite file's disk fills up under a stream of task creations: every write either is
/// acknowledged and stored, or is refused with a clear 503 and leaves nothing behind; reads go
/// on; once there is room again writes succeed and the file is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_sqlite_writes_cleanly() {
    let Some(disk) = SmallDisk::mount(24) else {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    };
    let database_url = format!("sqlite://{}/gad.db?mode=rwc", disk.dir.display());
    let serve = GadProcess::start(&database_url, &[("REDIS_URL", "")]).await;
    let token = serve.admin_token().await;
    let http = reqwest::Client::new();
    let create = |title: String| {
        http.post(serve.url("/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({"title": title, "task_type": "administrative", "description": "x".repeat(3000)}))
            .send()
    };
    // The token's first use comes with the disk full: its bookkeeping write fails too, and
    // must neither refuse the request nor leave a connection that SQLite rolled back behind
    // (that one held the write lock: "database is locked" for every write after the fault).
    disk.fill();
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    // Pages SQLite already owns (its journal's) take a few writes before one needs new room.
    for i in 0..400 {
        let title = format!("Disco lleno {i}");
        let answer = create(title.clone()).await.unwrap();
        match answer.status().as_u16() {
            201 => acknowledged.push(title),
            503 => {
                assert_refused_cleanly(answer).await;
                refused.push(title);
                if refused.len() == 3 {
                    break;
                }
            }
            other => panic!("a write on a full disk answered {other}: {}", answer.text().await.unwrap()),
        }
    }
    assert!(!refused.is_empty(), "the disk never filled ({} writes acknowledged)", acknowledged.len());
    let list = http.get(serve.url("/api/v1/tasks")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(list.status(), 200, "reads go on while the disk is full");

    disk.free();
    let after = create("Con lugar otra vez".into()).await.unwrap();
    assert_eq!(after.status(), 201, "writes resume once there is room");
    acknowledged.push("Con lugar otra vez".into());
    println!(
        "disk full (SQLite): {} writes acknowledged, {} refused with 503, then writes resumed",
        acknowledged.len() - 1,
        refused.len()
    );

    let state = state_of(&database_url).await;
    use gad_core::entities::tasks;
    assert_sound(&state).await;
    let stored: HashSet<String> = tasks::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(tasks::Column::Title.starts_with("Disco lleno"))
                .add(tasks::Column::Title.eq("Con lugar otra vez")),
        )
        .all(&state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(stored, acknowledged.iter().cloned().collect::<HashSet<_>>(), "every acknowledged write, nothing else");
    drop(state);
    drop(serve);
}

/// `gad bot` killed with SIGKILL in the middle of a `/crear` conversation: the conversation
/// lives in the database, so the next process takes it up at the step it had reached (no
/// step asked twice, nothing answered as if the conversation were new).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_killed_mid_wizard_keeps_the_conversation() {
    let tg = FakeTelegram::start().await;
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let env = [("REDIS_URL", ""), ("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", tg.url.as_str())];
    // `gad serve` migrates and seeds the file.
    let _serve = GadProcess::start(&database_url, &[("REDIS_URL", "")]).await;
    let mut bot = GadProcess::bot(&database_url, &env).await;
    let state = state_of(&database_url).await;
    let chat = 7100;
    link(&state, &tg, "supervisor@gad.local", chat).await;
    tg.push(text_update(chat, "/crear"));
    tg.sent(chat, "1 de 7").await;
    tg.push(text_update(chat, "Vigilancia"));
    tg.sent(chat, "Paso 2 de 7").await;
    tg.push(text_update(chat, "Custodia durante la caída del bot"));
    tg.sent(chat, "Paso 3 de 7").await;
    // Killed between two answers (once the last one is marked handled: an update whose
    // handler had not returned would run again, at least once, which is another test's).
    let unhandled = || {
        gad_core::entities::bot_inbox::Entity::find().filter(gad_core::entities::bot_inbox::Column::HandledAt.is_null())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !unhandled().all(&state.db).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the answers were never marked handled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    bot.kill_hard();
    let _bot = GadProcess::bot(&database_url, &env).await;
    tg.push(text_update(chat, "Alta"));
    tg.sent(chat, "Paso 4 de 7").await;
    tg.push(text_update(chat, "omitir"));
    tg.sent(chat, "Paso 5 de 7").await;
    let asked = |step: &str| {
        tg.calls()
            .iter()
            .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == json!(chat) && text(c).contains(step))
            .count()
    };
    for step in ["Paso 2 de 7", "Paso 3 de 7", "Paso 4 de 7", "Paso 5 de 7"] {
        assert_eq!(asked(step), 1, "{step} asked once");
    }
}

// ------------------------------------------------------- a request dropped mid-statement

/// A TCP proxy to `target` whose answers (server to client) can be held back: a client is then
/// stopped between sending a statement and reading its answer.
struct HeldProxy {
    addr: std::net::SocketAddr,
    hold: tokio::sync::watch::Sender<bool>,
}

async fn held_proxy(target: std::net::SocketAddr) -> HeldProxy {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (hold, held) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(target).await else { return };
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
            });
            let mut held = held.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match from_server.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if held.wait_for(|h| !*h).await.is_err() || to_client.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    HeldProxy { addr, hold }
}

/// A write operation dropped after its `BEGIN` went out and before the answer came back (a
/// client that hangs up, a deadline) leaves no transaction open on the pooled connection: the
/// connection's next user writes outside any transaction, seen at once by everyone. (sqlx
/// counts a transaction only once `BEGIN` is answered; such a connection went back to the pool
/// inside a transaction, and its next users' statements — a task code's counter, under load —
/// stayed uncommitted, holding their locks, until something else ended it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_before_its_begin_is_answered_leaves_no_transaction_open() {
    use sea_orm::ConnectionTrait;
    let app = common::TestApp::spawn(Backend::Postgres).await;
    let mut url = reqwest::Url::parse(&app.database_url).unwrap();
    let host = url.host_str().unwrap().to_owned();
    let target = tokio::net::lookup_host((host.as_str(), url.port().unwrap_or(5432))).await.unwrap().next().unwrap();
    let proxy = held_proxy(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    url.query_pairs_mut().append_pair("application_name", "gad-held-proxy");
    let mut options = sea_orm::ConnectOptions::new(url.to_string());
    // One connection, not tested on its way out (a test would wait for the held answers).
    options.max_connections(1).min_connections(1).test_before_acquire(false).sqlx_logging(false);
    let db = sea_orm::Database::connect(options).await.unwrap();
    db.execute_unprepared("SELECT 1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let s = &app.state;
    let state = AppState::new(gad_core::state::Parts {
        db: db.clone(),
        redis: s.redis.clone(),
        config: s.config.clone(),
        events: s.events.clone(),
        sqlite_writer: s.sqlite_writer.clone(),
        caches: s.caches.clone(),
    });

    proxy.hold.send(true).unwrap();
    let begun = tokio::time::timeout(Duration::from_millis(500), gad_core::db::WriteTxn::begin(&state)).await;
    assert!(begun.is_err(), "BEGIN was answered while the answers were held");
    proxy.hold.send(false).unwrap();

    db.execute_unprepared("INSERT INTO task_code_counters (prefix, last_value) VALUES ('CORTADA-', 7)").await.unwrap();
    let count = |sql: &'static str| {
        let db = app.state.db.clone();
        async move {
            let row = db.query_one_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql));
            row.await.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gad-held-proxy'").await, 1);
    let seen = count("SELECT count(*) FROM task_code_counters WHERE prefix = 'CORTADA-'").await;
    assert_eq!(seen, 1, "the write ran inside a transaction the dropped BEGIN left open");
    let open = count(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gad-held-proxy' AND state LIKE 'idle in transaction%'",
    )
    .await;
    assert_eq!(open, 0, "a connection is left idle in a transaction");
}
