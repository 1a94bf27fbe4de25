//! The Telegram bot (SPEC §6.2): one more door into the same rooms as the dashboard.
//!
//! Every business action is a call to the *same* server function the dashboard uses, run
//! through [`app::server::harness::call_as`] with the linked user's actor
//! ([`services::auth::actor_for_telegram`]); this module never touches the database.
//!
//! Library choice: carapax 0.40 re-exports tgbot 0.48, whose `Client` we use to *send*
//! (it honours Telegram's 429 `retry_after` by itself) and whose `Update` types we parse
//! updates into. We do not use carapax's handler dispatch nor tgbot's `LongPoll`:
//! - `LongPoll` asks for `Vec<Update>` as one value, so one update it cannot parse would make
//!   the whole batch fail forever; we fetch `getUpdates` as raw JSON and parse update by
//!   update, logging and skipping the malformed ones;
//! - we need updates processed concurrently across chats but strictly in order within one
//!   chat ([`Dispatcher`]), which neither offers.
//!
//! Two ways in: long polling (`gad bot`, development) and, when `TELEGRAM_WEBHOOK_SECRET` is
//! set, a webhook route on `gad serve` ([`webhook_routes`], `POST /telegram/webhook`) that
//! checks Telegram's `X-Telegram-Bot-Api-Secret-Token` header in constant time (tgbot's own
//! webhook server does not). The secret is never in the URL, so no access log holds it. Both
//! store each update in the inbox ([`inbox`]) before Telegram is told we have it, and one
//! process at a time (a lease) hands the stored updates to its [`Dispatcher`]: nothing Telegram
//! was told we received is lost with a process, and one chat's updates do not run on two
//! replicas at once.
//!
//! Conversation state (wizard steps, the pending `/emergencia` location, the finishing note)
//! lives in `services::conversations` (Redis, or the database in embedded mode) with a
//! 30-minute expiry, so a restart mid-wizard loses nothing.
//!
//! Background jobs ([`jobs`]): the notifier (event bus → Telegram messages to officers) and the
//! broadcast deliverer. They run where Telegram is spoken: in `gad bot` (long polling) and in
//! `gad serve` only when the webhook is configured; a lease in the database makes sure only
//! one process sends at a time.

mod callbacks;
mod chat;
mod handlers;
pub mod inbox;
pub mod jobs;
mod render;
mod wizard;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carapax::api::{Client, ExecuteError, Method};
use carapax::types::Update;
use futures::FutureExt;
use gad_core::config::LiveSecret;
use gad_core::state::AppState;
use metrics::counter;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;

pub use chat::Conversation;

/// How long a chat's worker waits for another update before it goes away.
const WORKER_IDLE: Duration = Duration::from_secs(60);
/// Long-poll timeout asked from Telegram, in seconds.
const POLL_TIMEOUT_SECS: u64 = 25;
/// Never wait longer than this for a `retry_after` while sending.
const MAX_RETRY_AFTER_SECS: u64 = 60;
/// The longest one Bot API call may take (sending a message, a document, a pin).
const API_TIMEOUT_SECS: u64 = 30;

/// The bot: the application state and a Bot API client. It holds no conversation state of its
/// own (see `services::conversations`).
#[derive(Clone)]
pub struct Bot {
    pub(crate) state: AppState,
    pub(crate) api: Client,
    api_url: String,
    token: String,
    /// Chats told lately that they cannot use the bot (unlinked, a group): told again only
    /// after [`RETELL_AFTER`], so strangers cannot spend the bot's sending budget.
    told: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>>,
    /// Chats told lately that a link code is not valid: since the window's start, how many
    /// times (see [`Bot::may_refuse_link`]).
    refused_links: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, (std::time::Instant, u32)>>>,
}

/// How many times in [`RETELL_AFTER`] a chat is told that its link code is not valid (a person
/// mistyping it gets an answer each time; a script sending codes on and on, a few).
pub const LINK_REFUSALS: u32 = 5;

/// How long a chat that cannot use the bot is not told so again.
pub const RETELL_AFTER: std::time::Duration = std::time::Duration::from_secs(600);
/// Most chats remembered as told (bounded like every in-process store).
const TOLD_MAX: usize = 10_000;

impl Bot {
    /// A bot for `state`, talking to `TELEGRAM_API_URL` with `TELEGRAM_BOT_TOKEN`.
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        // Present from the start (at 0), so rules on the error rate see the series before the
        // first error rather than nothing.
        counter!("gad_bot_update_errors_total").increment(0);
        let token = state
            .config
            .telegram_bot_token
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("TELEGRAM_BOT_TOKEN is not set"))?
            .expose()
            .to_owned();
        let api_url = state.config.telegram_api_url.clone();
        // Every call has a time limit: one Telegram never answers must not hold the notifier
        // (and the lease the inbox renews meanwhile) for ever.
        let http = reqwest_telegram::Client::builder()
            .tls_backend_rustls()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(API_TIMEOUT_SECS))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the Telegram client: {e}"))?;
        let api = Client::with_http_client(http, token.clone())
            .with_host(api_url.clone())
            .with_max_retries(3)
            .with_max_retry_after(MAX_RETRY_AFTER_SECS);
        Ok(Self { state, api, api_url, token, told: Default::default(), refused_links: Default::default() })
    }

    /// Whether `chat` should be told (again) that it cannot use the bot: once per
    /// [`RETELL_AFTER`].
    pub(crate) fn tell_once(&self, chat: i64) -> bool {
        let mut told = self.told.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        if told.get(&chat).is_some_and(|at| now.duration_since(*at) < RETELL_AFTER) {
            return false;
        }
        gad_core::bounded::make_room(&mut told, TOLD_MAX, now, |at| *at + RETELL_AFTER);
        told.insert(chat, now);
        true
    }

    /// Whether `chat` should be told that its link code is not valid: [`LINK_REFUSALS`] times
    /// per [`RETELL_AFTER`].
    pub(crate) fn may_refuse_link(&self, chat: i64) -> bool {
        let mut refused = self.refused_links.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        if let Some((since, times)) = refused.get_mut(&chat)
            && now.duration_since(*since) < RETELL_AFTER
        {
            *times += 1;
            return *times <= LINK_REFUSALS;
        }
        gad_core::bounded::make_room(&mut refused, TOLD_MAX, now, |(since, _)| *since + RETELL_AFTER);
        refused.insert(chat, (now, 1));
        true
    }

    /// Calls a Bot API method, counting sent messages in `gad_bot_messages_sent_total{result}`.
    /// Errors never carry the token (tgbot strips the URL; [`Bot::describe`] scrubs the rest).
    pub(crate) async fn execute<M>(&self, method: M) -> Result<M::Response, ExecuteError>
    where
        M: Method,
        M::Response: DeserializeOwned + Send + 'static,
    {
        let result = self.api.execute(method).await;
        counter!("gad_bot_messages_sent_total", "result" => if result.is_ok() { "ok" } else { "error" }).increment(1);
        result
    }

    /// A sending error as it may be logged or stored: Telegram's own description, or the kind
    /// of failure, never the token.
    pub(crate) fn describe(&self, error: &ExecuteError) -> String {
        let text = match error {
            ExecuteError::Response(e) => e.to_string(),
            // A reply that came but could not be read is not a connection failure.
            ExecuteError::Http(e) if e.is_decode() || e.is_body() => {
                "respuesta ilegible de la API de Telegram".to_owned()
            }
            ExecuteError::Http(e) if e.is_status() => {
                format!("la API de Telegram respondió {}", e.status().map_or(0, |s| s.as_u16()))
            }
            ExecuteError::Http(_) => "no se pudo conectar con Telegram".to_owned(),
            ExecuteError::Payload(_) => "mensaje inválido".to_owned(),
        };
        text.replace(&self.token, "***")
    }

    /// Registers the command menu with Telegram (`setMyCommands`), so clients offer it.
    pub async fn register_commands(&self) {
        use carapax::types::{BotCommand, SetBotCommands};
        let commands =
            render::COMMANDS.iter().filter_map(|(name, description)| BotCommand::new(*name, *description).ok());
        if let Err(e) = self.execute(SetBotCommands::new(commands)).await {
            tracing::warn!(error = %self.describe(&e), "command menu not registered");
        }
    }

    /// Long polling (`getUpdates` in a loop) until `shutdown` completes. The background jobs
    /// (notifier, broadcast delivery) run alongside and stop with it. A webhook left registered
    /// (Telegram refuses `getUpdates` while one is) is removed first, and the command menu
    /// registered.
    ///
    /// With `TELEGRAM_WEBHOOK_SECRET` set, updates come to the webhook (`gad serve`, which runs
    /// the jobs too): polling would delete that webhook, so this process only waits for
    /// `shutdown` (a `bot` service left in a webhook deployment changes nothing).
    pub async fn run_long_poll(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        if self.state.config.telegram_webhook_secret.is_set() {
            tracing::info!("TELEGRAM_WEBHOOK_SECRET is set: updates arrive at the webhook; not polling");
            shutdown.await;
            return Ok(());
        }
        if let Err(e) = self.execute(carapax::types::DeleteWebhook::default()).await {
            tracing::warn!(error = %self.describe(&e), "stale webhook not removed");
        }
        self.register_commands().await;
        let jobs = jobs::spawn(self.clone());
        let inbox = inbox::Inbox::spawn(&self, Dispatcher::new(self.clone()), jobs.lease());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(POLL_TIMEOUT_SECS + 10))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        let url = format!("{}/bot{}/getUpdates", self.api_url, self.token);
        let mut offset: i64 = 0;
        tracing::info!(api = %self.api_url, "telegram bot polling");
        let poll = async {
            loop {
                let body = serde_json::json!({
                    "offset": offset,
                    "timeout": POLL_TIMEOUT_SECS,
                    "allowed_updates": ["message", "edited_message", "callback_query"],
                });
                let answer: Result<Value, reqwest::Error> = match http.post(&url).json(&body).send().await {
                    Ok(res) => res.json().await,
                    Err(e) => Err(e),
                };
                let answer = match answer {
                    Ok(v) => v,
                    Err(e) => {
                        // The error may name the URL, which holds the token: log the kind only.
                        let what = if e.is_decode() || e.is_body() {
                            "getUpdates reply unreadable"
                        } else {
                            "getUpdates failed"
                        };
                        tracing::warn!(error = %e.without_url(), "{what}");
                        counter!("gad_bot_poll_errors_total").increment(1);
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                };
                if answer.get("ok").and_then(Value::as_bool) != Some(true) {
                    let wait = answer.pointer("/parameters/retry_after").and_then(Value::as_u64).unwrap_or(2);
                    let description = answer.get("description").and_then(|d| d.as_str()).unwrap_or("").to_owned();
                    tracing::warn!(%description, wait, "getUpdates refused");
                    tokio::time::sleep(Duration::from_secs(wait.min(MAX_RETRY_AFTER_SECS))).await;
                    continue;
                }
                let updates = answer.get("result").and_then(Value::as_array).cloned().unwrap_or_default();
                // The offset confirms the updates to Telegram: it moves past each only once
                // the inbox keeps it (a failure asks for the same updates again).
                for raw in updates {
                    let id = raw.get("update_id").and_then(Value::as_i64);
                    if let Err(e) =
                        gad_core::services::bot_inbox::keep(&self.state.db, &raw, raw.to_string().len()).await
                    {
                        tracing::warn!(error = %e, "telegram update not stored; asking for it again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                    if let Some(id) = id {
                        offset = offset.max(id + 1);
                    }
                }
                inbox.wake();
            }
        };
        let outcome = tokio::select! {
            () = poll => Ok(()),
            () = shutdown => {
                tracing::info!("telegram bot stopped");
                Ok(())
            }
        };
        inbox.stop().await;
        jobs.stop().await;
        outcome
    }

    /// Handles one update now (webhook and tests); a panic inside is caught and logged.
    pub async fn handle_update(&self, update: Update) {
        let id = update.id;
        let outcome = std::panic::AssertUnwindSafe(handlers::handle(self, update)).catch_unwind().await;
        if outcome.is_err() {
            counter!("gad_bot_update_errors_total").increment(1);
            tracing::error!(update_id = id, "telegram update handler panicked");
        }
    }
}

/// The header in which Telegram repeats the webhook's `secret_token`.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The webhook's path. Telegram authenticates with [`SECRET_HEADER`]; the path holds no secret.
pub const WEBHOOK_PATH: &str = "/telegram/webhook";

/// `POST /telegram/webhook` when the bot token and `TELEGRAM_WEBHOOK_SECRET` are set; no route
/// otherwise. Updates are acknowledged once stored in the inbox ([`inbox`]) and handled from
/// there.
pub fn webhook_routes(state: &AppState) -> axum::Router<AppState> {
    let router = axum::Router::new();
    if !state.config.telegram_webhook_secret.is_set() {
        return router;
    }
    if state.config.telegram_bot_token.is_none() {
        tracing::warn!("TELEGRAM_WEBHOOK_SECRET is set without TELEGRAM_BOT_TOKEN: no webhook");
        return router;
    }
    let bot = match Bot::new(state.clone()) {
        Ok(bot) => bot,
        Err(e) => {
            tracing::error!(error = %e, "telegram webhook disabled");
            return router;
        }
    };
    // The webhook process is where Telegram is spoken: it runs the jobs until it drains, then
    // gives the notifier's lease up, so another replica takes over now instead of once the
    // lease lapses (updates still arriving during the drain are kept for that replica).
    let jobs = jobs::spawn(bot.clone());
    let inbox = inbox::Inbox::spawn(&bot, Dispatcher::new(bot.clone()), jobs.lease());
    let stopping = inbox.clone();
    crate::startup::on_drain(async move {
        stopping.stop().await;
        jobs.stop().await;
    });
    // During a rotation the previous secret is accepted too (docs/OPERATIONS.md, "Secrets");
    // both are read at each call, so a rotation through their files needs no restart.
    let secrets = [state.config.telegram_webhook_secret.clone(), state.config.telegram_webhook_previous_secret.clone()];
    let hook = WebhookHook { db: state.db.clone(), inbox, secrets: Arc::new(secrets) };
    router.route(
        WEBHOOK_PATH,
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
            hook.receive(&headers, &body).await
        }),
    )
}

#[derive(Clone)]
struct WebhookHook {
    db: sea_orm::DatabaseConnection,
    inbox: inbox::Inbox,
    /// The secret, and the previous one during a rotation.
    secrets: Arc<[LiveSecret; 2]>,
}

impl WebhookHook {
    /// `200` once the update is stored (`bot_inbox`), so Telegram never drops one we have not
    /// kept; `503` when it cannot be stored, so Telegram sends it again later.
    async fn receive(&self, headers: &axum::http::HeaderMap, body: &[u8]) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        let header = headers.get(SECRET_HEADER).map_or(&[][..], |v| v.as_bytes());
        // Every secret is compared (no early exit), so the time taken tells nothing either.
        let accepted = self
            .secrets
            .iter()
            .filter_map(LiveSecret::get)
            .fold(false, |ok, secret| same_secret(header, secret.expose().as_bytes()) | ok);
        if !accepted {
            tracing::warn!("telegram webhook call without the right secret-token header refused");
            return StatusCode::UNAUTHORIZED;
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(raw) => match gad_core::services::bot_inbox::keep(&self.db, &raw, body.len()).await {
                Ok(kept) => {
                    if kept {
                        self.inbox.wake();
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "telegram update not stored; Telegram will send it again");
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
            },
            // Acknowledged anyway: Telegram would redeliver a refused update forever.
            Err(e) => tracing::warn!(error = %e, "telegram webhook body is not JSON; skipped"),
        }
        StatusCode::OK
    }
}

/// Compares in constant time: the digests have one length whatever was sent, and every byte
/// of them is compared (no early exit).
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(secret));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Registers `<GAD_PUBLIC_URL>/telegram/webhook` with Telegram, with the secret token (sent
/// back by Telegram in [`SECRET_HEADER`]).
pub async fn set_webhook(state: &AppState) -> anyhow::Result<String> {
    let public = state.config.public_url.as_deref().ok_or_else(|| anyhow::anyhow!("GAD_PUBLIC_URL is not set"))?;
    let secret = state
        .config
        .telegram_webhook_secret
        .get()
        .ok_or_else(|| anyhow::anyhow!("TELEGRAM_WEBHOOK_SECRET is not set"))?
        .expose()
        .to_owned();
    let bot = Bot::new(state.clone())?;
    let url = format!("{}{WEBHOOK_PATH}", public.trim_end_matches('/'));
    let method = carapax::types::SetWebhook::new(url.clone()).with_secret_token(secret).with_allowed_updates([
        carapax::types::AllowedUpdate::Message,
        carapax::types::AllowedUpdate::EditedMessage,
        carapax::types::AllowedUpdate::CallbackQuery,
    ]);
    bot.api.execute(method).await.map_err(|e| anyhow::anyhow!("setWebhook failed: {}", bot.describe(&e)))?;
    bot.register_commands().await;
    Ok(url)
}

/// Updates one chat may have waiting; beyond, the chat is flooding and the excess is dropped
/// (logged and counted), so no chat can grow the process's memory.
pub const CHAT_QUEUE_MAX: usize = 256;

/// Runs updates concurrently across chats, in arrival order within each chat: one worker
/// task per active chat, fed through a bounded channel.
#[derive(Clone)]
pub struct Dispatcher {
    bot: Bot,
    workers: Arc<Mutex<HashMap<i64, mpsc::Sender<Job>>>>,
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    queue_max: usize,
    /// Set by [`Dispatcher::close`]: nothing is handed to a worker any more.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl Dispatcher {
    pub fn new(bot: Bot) -> Self {
        Self::with_queue_max(bot, CHAT_QUEUE_MAX)
    }

    /// A dispatcher whose chats may each have `queue_max` updates waiting.
    pub fn with_queue_max(bot: Bot, queue_max: usize) -> Self {
        Self {
            bot,
            workers: Arc::default(),
            tasks: Arc::default(),
            queue_max: queue_max.max(1),
            closed: Arc::default(),
        }
    }

    /// Parses one raw update; a malformed one is logged, counted and dropped.
    pub fn dispatch_raw(&self, raw: Value) {
        self.dispatch_then(raw, nothing_to_do());
    }

    /// [`Self::dispatch_raw`], then `done` once the update is handled (awaited by the chat's
    /// worker before its next update), or dropped (malformed,
    /// or its chat flooding).
    pub fn dispatch_then(&self, raw: Value, done: Done) {
        let id = raw.get("update_id").cloned();
        match serde_json::from_value::<Update>(raw) {
            Ok(update) => self.send(Job { update, done }),
            Err(e) => {
                counter!("gad_bot_updates_total", "kind" => "other").increment(1);
                counter!("gad_bot_update_errors_total").increment(1);
                tracing::warn!(update_id = ?id, error = %e, "malformed telegram update skipped");
                tokio::spawn(done());
            }
        }
    }

    /// Stops every chat worker (updates still queued are dropped, as in a crash: conversation
    /// state is persisted, so a new dispatcher carries on).
    pub fn stop(&self) {
        self.workers.lock().unwrap_or_else(|e| e.into_inner()).clear();
        for task in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            task.abort();
        }
    }

    /// For good: takes nothing more, lets the workers finish what they hold for up to `grace`
    /// (a handler cut short runs again at the next lease holder: better it ends here), then
    /// stops them.
    pub async fn close(&self, grace: Duration) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        // Their senders dropped, the workers end once their queues are empty.
        self.workers.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline
            && self.tasks.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|t| !t.is_finished())
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stop();
    }

    fn send(&self, job: Job) {
        let key = chat_key(&job.update);
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the workers' lock, which `close` takes after setting it: a hand-out
        // racing a close either is stopped by it or sees it.
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let job = match workers.get(&key) {
            Some(tx) => match tx.try_send(job) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(job)) => {
                    counter!("gad_bot_update_errors_total").increment(1);
                    tracing::warn!(chat = key, "telegram update dropped: the chat has too many waiting");
                    tokio::spawn((job.done)());
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = mpsc::channel(self.queue_max);
        // A fresh channel's receiver is alive and empty: this send cannot fail.
        let _ = tx.try_send(job);
        workers.insert(key, tx);
        let handle = tokio::spawn(self.clone().work(key, rx)).abort_handle();
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    async fn work(self, key: i64, mut rx: mpsc::Receiver<Job>) {
        loop {
            match tokio::time::timeout(WORKER_IDLE, rx.recv()).await {
                Ok(Some(job)) => {
                    self.bot.handle_update(job.update).await;
                    (job.done)().await;
                }
                Ok(None) => return,
                Err(_idle) => {
                    // Senders hold the map lock while sending, so an empty queue seen under
                    // the lock stays empty once we are out of the map.
                    let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
                    if rx.is_empty() {
                        workers.remove(&key);
                        return;
                    }
                }
            }
        }
    }
}

/// What runs once an update is handled (or dropped).
pub type Done = Box<dyn FnOnce() -> futures::future::BoxFuture<'static, ()> + Send>;

fn nothing_to_do() -> Done {
    Box::new(|| Box::pin(async {}))
}

/// An update waiting for its chat's worker.
struct Job {
    update: Update,
    done: Done,
}

/// The ordering key of an update: its chat, else its user, else one shared lane.
fn chat_key(update: &Update) -> i64 {
    if let Some(id) = update.get_chat_id() {
        return id.into();
    }
    update.get_user_id().map(i64::from).unwrap_or(0)
}
