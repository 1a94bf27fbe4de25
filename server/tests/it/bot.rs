//! The Telegram bot against a fake Bot API: a real axum server on 127.0.0.1:0 that serves
//! queued updates through `getUpdates` and records every other call with its JSON body.
//! Tests feed real update JSON and assert on what the bot sent and on the application state.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::officers::officer_last_position;
use app::api::stats::task_stats;
use app::api::tasks::{list_tasks, task_detail};
use app::server::harness::call_as;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::{Backend, TestApp};
use contract::domain::{Channel, TaskStatus};
use contract::tasks::TaskScope;
use gad_core::actor::Actor;
use gad_core::entities::{audit_log, feedback, telegram_links, users};
use gad_core::meta::AuditMeta;
use gad_core::services::auth::{actor_for_telegram, actor_for_user};
use gad_core::services::users::create_link_code;
use gad_server::bot::Bot;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "123456:TEST-TOKEN";

/// Error paths, forged buttons, storage and Bot API faults (a child module: it uses this
/// module's fake Bot API and helpers).
mod edges;

// ------------------------------------------------------------------------- the fake Bot API

#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) method: String,
    pub(crate) body: Value,
    /// The `result` the fake answered with (for `sendMessage`, the message with its id).
    pub(crate) result: Value,
    at: Instant,
}

/// How the fake Bot API misbehaves for one call (see [`FakeTelegram::fault`]).
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// 200 with a body that is not JSON (a proxy's error page).
    Garbage,
    /// `ok: false` with status 400, as Telegram refuses a request.
    Refuse,
    /// 502 with a proxy's error page: Telegram is out of reach.
    Down,
}

#[derive(Default)]
struct FakeState {
    /// Method → the faults its next calls meet, in order.
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    updates: Mutex<VecDeque<Value>>,
    calls: Mutex<Vec<Call>>,
    /// Method → how many more times to answer 429 with `retry_after: 1`.
    throttle: Mutex<HashMap<String, u32>>,
    /// Chats Telegram refuses to send to ("chat not found").
    missing_chats: Mutex<Vec<i64>>,
    next_message_id: AtomicI64,
    next_update_id: AtomicI64,
    /// `getUpdates` calls answered (they are not recorded as calls).
    polls: AtomicI64,
    /// Calls of other methods received (counted on arrival, before any delay).
    arrivals: AtomicI64,
    /// Milliseconds every other method waits before answering (a slow Telegram).
    delay_ms: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
pub(crate) struct FakeTelegram {
    pub(crate) url: String,
    state: Arc<FakeState>,
}

impl FakeTelegram {
    pub(crate) async fn start() -> Self {
        let state = Arc::new(FakeState {
            next_message_id: AtomicI64::new(1000),
            next_update_id: AtomicI64::new(1),
            ..Default::default()
        });
        let app =
            axum::Router::new().route("/{bot}/{method}", axum::routing::any(fake_method)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state }
    }

    /// Queues an update; `update_id` is filled in.
    pub(crate) fn push(&self, mut update: Value) {
        let id = self.state.next_update_id.fetch_add(1, Ordering::SeqCst);
        if update.get("update_id").is_none() {
            update["update_id"] = json!(id);
        }
        self.state.updates.lock().unwrap().push_back(update);
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Calls of methods other than `getUpdates` received so far (counted on arrival).
    pub(crate) fn arrivals(&self) -> i64 {
        self.state.arrivals.load(Ordering::SeqCst)
    }

    /// Updates pushed and not yet taken by a `getUpdates`.
    pub(crate) fn queued(&self) -> usize {
        self.state.updates.lock().unwrap().len()
    }

    /// Makes every method but `getUpdates` answer `ms` milliseconds late.
    pub(crate) fn slow_down(&self, ms: u64) {
        self.state.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Makes the next `times` calls of `method` (`getUpdates` included) meet `fault`.
    fn fault(&self, method: &str, fault: Fault, times: usize) {
        self.state.faults.lock().unwrap().entry(method.into()).or_default().extend(std::iter::repeat_n(fault, times));
    }

    fn throttle(&self, method: &str, times: u32) {
        self.state.throttle.lock().unwrap().insert(method.into(), times);
    }

    /// Waits (up to 10 s) for a call matching `pred`.
    pub(crate) async fn wait_for(&self, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(call) = self.calls().into_iter().find(|c| pred(c)) {
                return call;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; calls: {:#?}", self.calls());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for a `sendMessage` to `chat` whose text contains `needle`.
    pub(crate) async fn sent(&self, chat: i64, needle: &str) -> Call {
        self.wait_for(&format!("a message to {chat} containing {needle:?}"), |c| {
            c.method == "sendMessage" && c.body["chat_id"] == json!(chat) && text(c).contains(needle)
        })
        .await
    }

    fn messages_to(&self, chat: i64) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method == "sendMessage" && c.body["chat_id"] == json!(chat)).collect()
    }
}

pub(crate) fn text(c: &Call) -> &str {
    c.body["text"].as_str().unwrap_or("")
}

/// Every callback data of the inline keyboard in a call's body.
pub(crate) fn buttons(c: &Call) -> Vec<String> {
    c.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
        .collect()
}

async fn fake_method(
    State(state): State<Arc<FakeState>>,
    Path((bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        )
            .into_response();
    }
    // JSON for most methods; multipart (kept raw) for those that may upload a file.
    let body: Value =
        serde_json::from_slice(&body).unwrap_or_else(|_| json!({"_raw": String::from_utf8_lossy(&body).into_owned()}));
    let fault = state.faults.lock().unwrap().get_mut(&method).and_then(VecDeque::pop_front);
    if let Some(fault) = fault {
        if method == "getUpdates" {
            state.polls.fetch_add(1, Ordering::SeqCst);
        } else {
            state.calls.lock().unwrap().push(Call {
                method: method.clone(),
                body,
                result: Value::Null,
                at: Instant::now(),
            });
        }
        return match fault {
            Fault::Garbage => (StatusCode::OK, "<html>502 Bad Gateway</html>").into_response(),
            Fault::Down => (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response(),
            Fault::Refuse => {
                let answer =
                    json!({"ok": false, "error_code": 400, "description": format!("Bad Request: {method} refused")});
                (StatusCode::BAD_REQUEST, Json(answer)).into_response()
            }
        };
    }
    if method == "getUpdates" {
        state.polls.fetch_add(1, Ordering::SeqCst);
        // A short long poll: answer as soon as something is queued, else after 200 ms.
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            let batch: Vec<Value> = state.updates.lock().unwrap().drain(..).collect();
            if !batch.is_empty() || Instant::now() >= deadline {
                return Json(json!({"ok": true, "result": batch})).into_response();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    state.arrivals.fetch_add(1, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let throttled = {
        let mut throttle = state.throttle.lock().unwrap();
        match throttle.get_mut(&method) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    };
    let missing = body["chat_id"].as_i64().is_some_and(|chat| state.missing_chats.lock().unwrap().contains(&chat));
    if missing && !throttled {
        state.calls.lock().unwrap().push(Call { method, body, result: Value::Null, at: Instant::now() });
        let answer = json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"});
        return (StatusCode::BAD_REQUEST, Json(answer)).into_response();
    }
    let result = if throttled {
        Value::Null
    } else {
        match method.as_str() {
            "sendLocation" => json!({
                "message_id": state.next_message_id.fetch_add(1, Ordering::SeqCst),
                "date": chrono::Utc::now().timestamp(),
                "chat": {"id": body["chat_id"], "type": "private", "first_name": "Agente"},
                "location": {"latitude": body["latitude"], "longitude": body["longitude"]},
            }),
            "sendVenue" => json!({
                "message_id": state.next_message_id.fetch_add(1, Ordering::SeqCst),
                "date": chrono::Utc::now().timestamp(),
                "chat": {"id": body["chat_id"], "type": "private", "first_name": "Agente"},
                "venue": {
                    "location": {"latitude": body["latitude"], "longitude": body["longitude"]},
                    "title": body["title"],
                    "address": body["address"],
                },
            }),
            "sendMessage" => json!({
                "message_id": state.next_message_id.fetch_add(1, Ordering::SeqCst),
                "date": chrono::Utc::now().timestamp(),
                "chat": {"id": body["chat_id"], "type": "private", "first_name": "Agente"},
                "from": {"id": 42, "is_bot": true, "first_name": "GAD", "username": "gad_bot"},
                "text": body["text"],
            }),
            _ => json!(true),
        }
    };
    state.calls.lock().unwrap().push(Call { method: method.clone(), body, result: result.clone(), at: Instant::now() });
    if throttled {
        let answer = json!({
            "ok": false,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        });
        return (StatusCode::TOO_MANY_REQUESTS, Json(answer)).into_response();
    }
    Json(json!({"ok": true, "result": result})).into_response()
}

// ------------------------------------------------------------------------------ updates

fn user_json(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "Agente", "language_code": "es"})
}

fn chat_json(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "Agente"})
}

pub(crate) fn text_update(user: i64, text: &str) -> Value {
    let mut message = json!({
        "message_id": 1,
        "date": chrono::Utc::now().timestamp(),
        "chat": chat_json(user),
        "from": user_json(user),
        "text": text,
    });
    if text.starts_with('/') {
        let len = text.split_whitespace().next().unwrap().encode_utf16().count();
        message["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
    }
    json!({"message": message})
}

fn location_update(user: i64, lat: f64, lon: f64) -> Value {
    json!({"message": {
        "message_id": 2,
        "date": chrono::Utc::now().timestamp(),
        "chat": chat_json(user),
        "from": user_json(user),
        "location": {"latitude": lat, "longitude": lon, "horizontal_accuracy": 12.5},
    }})
}

fn live_location_edit(user: i64, lat: f64, lon: f64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"edited_message": {
        "message_id": 3,
        "date": now - 60,
        "edit_date": now,
        "chat": chat_json(user),
        "from": user_json(user),
        "location": {"latitude": lat, "longitude": lon, "live_period": 3600},
    }})
}

pub(crate) fn callback_update(user: i64, id: &str, message_id: i64, data: &str) -> Value {
    json!({"callback_query": {
        "id": id,
        "from": user_json(user),
        "chat_instance": "ci-1",
        "data": data,
        "message": {
            "message_id": message_id,
            "date": chrono::Utc::now().timestamp(),
            "chat": chat_json(user),
            "from": {"id": 42, "is_bot": true, "first_name": "GAD"},
            "text": "tarea",
        },
    }})
}

// ------------------------------------------------------------------------------ harness

struct Rig {
    app: TestApp,
    tg: FakeTelegram,
}

async fn rig(backend: Backend) -> Rig {
    rig_with(backend, &[]).await
}

async fn rig_with(backend: Backend, extra: &[(&str, &str)]) -> Rig {
    let tg = FakeTelegram::start().await;
    let mut env = vec![("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", tg.url.as_str())];
    env.extend_from_slice(extra);
    let app = TestApp::spawn_with(backend, &env).await;
    let bot = Bot::new(app.state.clone()).unwrap();
    tokio::spawn(bot.run_long_poll(std::future::pending()));
    Rig { app, tg }
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    users::Entity::find().filter(users::Column::Email.eq(email)).one(&app.state.db).await.unwrap().unwrap().id
}

async fn admin(app: &TestApp) -> Actor {
    actor_for_user(&app.state, user_id(app, "admin@gad.local").await, Channel::Web).await.unwrap()
}

async fn link_code(app: &TestApp, email: &str) -> String {
    let target = user_id(app, email).await;
    let meta = AuditMeta::internal(Channel::Web);
    create_link_code(&app.state, &admin(app).await, &meta, target).await.unwrap().code
}

/// Links `email` to Telegram user `tg_user` through the bot's own `/start <code>`.
async fn link(rig: &Rig, email: &str, tg_user: i64) -> Actor {
    let code = link_code(&rig.app, email).await;
    rig.tg.push(text_update(tg_user, &format!("/start {code}")));
    rig.tg.sent(tg_user, "Cuenta vinculada").await;
    actor_for_telegram(&rig.app.state, tg_user).await.unwrap()
}

// -------------------------------------------------------------------------------- tests

async fn linking_by_code(backend: Backend) {
    let rig = rig(backend).await;
    let code = link_code(&rig.app, "efectivo1@gad.local").await;
    rig.tg.push(text_update(5001, &format!("/start {code}")));
    let welcome = rig.tg.sent(5001, "Cuenta vinculada").await;
    assert!(buttons(&welcome).contains(&"m:tareas".to_owned()), "main menu buttons: {:?}", buttons(&welcome));
    let actor = actor_for_telegram(&rig.app.state, 5001).await.unwrap();
    assert_eq!(actor.user_id, user_id(&rig.app, "efectivo1@gad.local").await);

    // The same code again, from someone else: refused, nobody linked.
    rig.tg.push(text_update(5002, &format!("/start {code}")));
    rig.tg.sent(5002, "el código no es válido, ya fue usado o venció").await;
    assert!(actor_for_telegram(&rig.app.state, 5002).await.is_err());

    // An expired code.
    let expired = link_code(&rig.app, "efectivo2@gad.local").await;
    telegram_links::Entity::update_many()
        .col_expr(
            telegram_links::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(telegram_links::Column::UsedAt.is_null())
        .exec(&rig.app.state.db)
        .await
        .unwrap();
    rig.tg.push(text_update(5003, &format!("/start {expired}")));
    rig.tg.sent(5003, "venció").await;
    assert!(actor_for_telegram(&rig.app.state, 5003).await.is_err());
}
on_both_backends!(linking_by_code);

/// A code passed on by its user does not take over a Telegram account already linked to
/// someone else (whoever taps it would have their positions, alerts and emergencies become the
/// code's user's): refused, the code left unused; the account's holder unlinks it with
/// `/desvincular` (audited), and then the same code links it.
async fn a_linked_telegram_account_moves_only_after_its_holder_unlinks_it(backend: Backend) {
    let rig = rig(backend).await;
    let supervisor = link(&rig, "supervisor@gad.local", 5101).await;
    let officers_code = link_code(&rig.app, "efectivo1@gad.local").await;
    rig.tg.push(text_update(5101, &format!("/start {officers_code}")));
    rig.tg.sent(5101, "ya está vinculada a otro usuario de GAD").await;
    let still = actor_for_telegram(&rig.app.state, 5101).await.unwrap();
    assert_eq!(still.user_id, supervisor.user_id, "the account stays with its holder");

    rig.tg.push(text_update(5101, "/desvincular"));
    rig.tg.sent(5101, "quedó desvinculada").await;
    assert!(actor_for_telegram(&rig.app.state, 5101).await.is_err(), "unlinked");
    let unlinked = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("telegram.unlink"))
        .filter(audit_log::Column::UserId.eq(supervisor.user_id))
        .count(&rig.app.state.db)
        .await
        .unwrap();
    assert_eq!(unlinked, 1, "the unlinking is audited as its holder's");

    let before = rig.tg.messages_to(5101).len();
    rig.tg.push(text_update(5101, &format!("/start {officers_code}")));
    wait_new(&rig.tg, 5101, before, "Cuenta vinculada").await;
    let officer = actor_for_telegram(&rig.app.state, 5101).await.unwrap();
    assert_eq!(officer.user_id, user_id(&rig.app, "efectivo1@gad.local").await, "the unused code linked it");
}
on_both_backends!(a_linked_telegram_account_moves_only_after_its_holder_unlinks_it);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlinked_users_get_an_explanation_and_nothing_else() {
    let rig = rig(Backend::Sqlite).await;
    rig.tg.push(text_update(6001, "/tareas"));
    rig.tg.sent(6001, "Su cuenta de Telegram no está vinculada").await;
    rig.tg.push(callback_update(6001, "cb-unlinked", 77, "t:1:in_progress"));
    let answer = rig.tg.wait_for("the callback answer", |c| c.method == "answerCallbackQuery").await;
    assert_eq!(answer.body["callback_query_id"], "cb-unlinked");
    assert!(answer.body["text"].as_str().unwrap().contains("no está vinculada"));
    rig.tg.push(location_update(6001, -34.6, -58.38));
    rig.tg.push(text_update(6001, "/ayuda"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Edits are not answered one by one either, and made-up link codes only a few times.
    let now = chrono::Utc::now().timestamp();
    for n in 0..4 {
        rig.tg.push(json!({"edited_message": {
            "message_id": 40 + n, "date": now - 5, "edit_date": now,
            "chat": chat_json(6001), "from": user_json(6001), "text": format!("/tareas {n}"),
        }}));
    }
    for n in 0..8 {
        rig.tg.push(text_update(6001, &format!("/start ZZZZZZZZ{n}")));
    }
    rig.tg.push(text_update(6001, "/ayuda"));
    // Every update (17 in all) taken and handled, however slow the machine, then counted.
    let handled = || {
        use sea_orm::PaginatorTrait;
        let done = gad_core::entities::bot_inbox::Entity::find()
            .filter(gad_core::entities::bot_inbox::Column::HandledAt.is_not_null());
        done.count(&rig.app.state.db)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while handled().await.unwrap() < 17 {
        assert!(Instant::now() < deadline, "updates left unhandled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Told once: a stranger sending on and on spends nothing of the bot's sending budget.
    let sent = rig.tg.messages_to(6001);
    let unlinked = sent.iter().filter(|c| text(c).contains("no está vinculada")).count();
    let refused = sent.iter().filter(|c| text(c).contains("No se pudo vincular")).count();
    assert_eq!((unlinked, refused), (1, 5), "the explanation once, five refused codes: {sent:#?}");
    assert_eq!(sent.len(), 6, "{sent:#?}");
    assert!(rig.tg.calls().iter().all(|c| c.method != "editMessageText"));
    // Another stranger is told too.
    say(&rig, 6002, text_update(6002, "/tareas"), "no está vinculada").await;
}

/// A Telegram link is a credential: whatever ends a user's sessions and tokens (an admin's
/// password reset, their own password change, a deactivation) ends it too, so an account
/// taken over does not keep the bot after the admin acts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_account_loses_the_bot() {
    use gad_core::services::users::{set_active, set_password};
    let rig = rig(Backend::Sqlite).await;
    let meta = AuditMeta::internal(Channel::Web);
    let admin = admin(&rig.app).await;
    let cases = [
        ("efectivo3@gad.local", 7301, "reset"),
        ("efectivo4@gad.local", 7302, "own"),
        ("efectivo5@gad.local", 7303, "off"),
    ];
    for (email, tg_user, how) in cases {
        let linked = link(&rig, email, tg_user).await;
        say(&rig, tg_user, text_update(tg_user, "/ayuda"), "/tareas").await;
        let id = linked.user_id;
        // A code asked for before the revocation (by whoever held the account) is spent with it.
        let pending = link_code(&rig.app, email).await;
        match how {
            "reset" => {
                let set = set_password(&rig.app.state, &admin, &meta, id, None, None).await.unwrap();
                assert!(set.generated.is_some());
            }
            "own" => {
                let me = actor_for_user(&rig.app.state, id, Channel::Web).await.unwrap();
                let new = Some("otra-clave-larga-1".to_owned());
                set_password(&rig.app.state, &me, &meta, id, Some(common::DEMO_PASSWORD.to_owned()), new)
                    .await
                    .unwrap();
            }
            _ => {
                set_active(&rig.app.state, &admin, &meta, id, false).await.unwrap();
            }
        }
        let err = actor_for_telegram(&rig.app.state, tg_user).await.unwrap_err();
        assert!(matches!(err, gad_core::error::AppError::Unauthenticated), "{how}: {err:?}");
        say(&rig, tg_user, text_update(tg_user, "/tareas"), "no está vinculada").await;
        let row = users::Entity::find_by_id(id).one(&rig.app.state.db).await.unwrap().unwrap();
        assert_eq!(row.telegram_user_id, None, "{how}: the link is gone, not only refused");
        let thief = tg_user + 100;
        say(&rig, thief, text_update(thief, &format!("/start {pending}")), "no es válido").await;
        let row = users::Entity::find_by_id(id).one(&rig.app.state.db).await.unwrap().unwrap();
        assert_eq!(row.telegram_user_id, None, "{how}: a code from before the revocation links nobody");
    }
    // A deactivated account is linked by no code, even one asked for after the deactivation.
    let off = user_id(&rig.app, "efectivo5@gad.local").await;
    let late = create_link_code(&rig.app.state, &admin, &meta, off).await.unwrap().code;
    say(&rig, 7399, text_update(7399, &format!("/start {late}")), "no es válido").await;
    assert_eq!(users::Entity::find_by_id(off).one(&rig.app.state.db).await.unwrap().unwrap().telegram_user_id, None);
}

/// The bot applies the account gates of every other door: a role that requires two-factor
/// sign-in links its Telegram account but acts through the bot only once enrolled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_requires_two_factor_acts_through_the_bot_only_once_enrolled() {
    let rig = rig_with(Backend::Sqlite, &[("GAD_2FA_REQUIRED_ROLES", "supervisor")]).await;
    let code = link_code(&rig.app, "supervisor@gad.local").await;
    say(&rig, 7401, text_update(7401, &format!("/start {code}")), "Cuenta vinculada").await;
    let err = actor_for_telegram(&rig.app.state, 7401).await.unwrap_err();
    assert!(matches!(err, gad_core::error::AppError::TwoFactorSetupRequired), "{err:?}");
    say(&rig, 7401, text_update(7401, "/crear"), "verificación en dos pasos").await;
    rig.tg.push(callback_update(7401, "cb-2fa", 77, "m:tareas"));
    let answer = rig.tg.wait_for("the callback answer", |c| c.method == "answerCallbackQuery").await;
    assert!(answer.body["text"].as_str().unwrap().contains("verificación en dos pasos"), "{answer:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<String> = rig.tg.messages_to(7401).iter().map(|c| text(c).to_owned()).collect();
    assert_eq!(sent.len(), 2, "the link's welcome and one refusal, no wizard: {sent:#?}");
    // An officer (a role without the requirement) still acts.
    let officer = link(&rig, "efectivo1@gad.local", 7402).await;
    assert_eq!(officer.telegram_user_id, Some(7402));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tareas_lists_my_tasks_and_buttons_run_the_lifecycle() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo2@gad.local", 7002).await;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let open: Vec<_> = mine.iter().filter(|t| t.status.is_open()).collect();
    assert!(!open.is_empty(), "demo data gives efectivo2 open tasks");

    rig.tg.push(text_update(7002, "/tareas"));
    rig.tg.sent(7002, &format!("Sus tareas activas: {}", open.len())).await;
    let mut cards = Vec::new();
    for task in &open {
        let card = rig.tg.sent(7002, &task.code).await;
        let detail = call_as(&rig.app.state, Some(me.clone()), || task_detail(task.id)).await.unwrap();
        // "Recibido" first while the officer has not confirmed receipt.
        let expected: Vec<String> = detail
            .can_acknowledge
            .then(|| format!("a:{}", task.id))
            .into_iter()
            .chain(detail.allowed_transitions.iter().filter_map(|to| match to {
                TaskStatus::InProgress | TaskStatus::Paused => Some(format!("t:{}:{}", task.id, to.as_str())),
                TaskStatus::Completed => Some(format!("f:{}", task.id)),
                _ => None,
            }))
            .chain([format!("i:{}", task.id), format!("d:{}", task.id)])
            .collect();
        assert_eq!(buttons(&card), expected, "buttons of {}", task.code);
        cards.push((task.id, card));
    }

    // Start a scheduled task with its button.
    let (id, card) = cards
        .iter()
        .find(|(id, _)| open.iter().any(|t| t.id == *id && t.status == TaskStatus::Scheduled))
        .unwrap()
        .clone();
    let message_id = card.result["message_id"].as_i64().unwrap();
    rig.tg.push(callback_update(7002, "cb-start", message_id, &format!("t:{id}:in_progress")));
    let answer = rig
        .tg
        .wait_for("the start answer", |c| {
            c.method == "answerCallbackQuery" && c.body["callback_query_id"] == "cb-start"
        })
        .await;
    assert_eq!(answer.body["text"], "Tarea en curso.");
    let edited = rig
        .tg
        .wait_for("the edited card", |c| c.method == "editMessageText" && c.body["message_id"] == json!(message_id))
        .await;
    assert!(text(&edited).contains("Estado: En curso"), "{}", text(&edited));
    assert!(buttons(&edited).contains(&format!("t:{id}:paused")));
    let detail = call_as(&rig.app.state, Some(me.clone()), || task_detail(id)).await.unwrap();
    assert_eq!(detail.status, TaskStatus::InProgress);
    assert_eq!(detail.history.last().unwrap().channel, Channel::Telegram);

    // Finishing asks first; "Sí, finalizar" completes it.
    rig.tg.push(callback_update(7002, "cb-finish", message_id, &format!("f:{id}")));
    let confirm =
        rig.tg.wait_for("the confirmation", |c| c.method == "editMessageText" && text(c).contains("¿Confirma")).await;
    assert_eq!(buttons(&confirm), vec![format!("t:{id}:completed"), format!("n:{id}"), format!("d:{id}")]);
    let still = call_as(&rig.app.state, Some(me.clone()), || task_detail(id)).await.unwrap();
    assert_eq!(still.status, TaskStatus::InProgress, "nothing changes before the confirmation");
    rig.tg.push(callback_update(7002, "cb-yes", message_id, &format!("t:{id}:completed")));
    rig.tg
        .wait_for("the finish answer", |c| {
            c.method == "answerCallbackQuery"
                && c.body["callback_query_id"] == "cb-yes"
                && c.body["text"] == "Tarea finalizada."
        })
        .await;
    let done = call_as(&rig.app.state, Some(me.clone()), || task_detail(id)).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    let answers = rig.tg.calls().into_iter().filter(|c| c.method == "answerCallbackQuery").count();
    assert_eq!(answers, 3, "every button press is answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_cannot_cancel_a_task_the_refusal_is_in_spanish() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo2@gad.local", 7102).await;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let task = mine.iter().find(|t| t.status == TaskStatus::Scheduled).unwrap();
    rig.tg.push(callback_update(7102, "cb-cancel", 900, &format!("t:{}:cancelled", task.id)));
    let answer = rig.tg.wait_for("the refusal", |c| c.method == "answerCallbackQuery").await;
    assert_eq!(answer.body["text"], "⚠️ No tiene permiso para realizar esta acción.");
    assert_eq!(answer.body["show_alert"], true);
    let after = call_as(&rig.app.state, Some(me), || task_detail(task.id)).await.unwrap();
    assert_eq!(after.status, TaskStatus::Scheduled);
    assert!(rig.tg.calls().iter().all(|c| c.method != "editMessageText"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_update_the_officers_position() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo3@gad.local", 7203).await;
    let officer_id = me.officer_id.unwrap();
    rig.tg.push(location_update(7203, -34.6100, -58.3900));
    rig.tg.sent(7203, "Ubicación actualizada").await;
    let pos = call_as(&rig.app.state, Some(me.clone()), || officer_last_position(officer_id)).await.unwrap().unwrap();
    assert_eq!((pos.lat, pos.lon), (-34.61, -58.39), "Telegram's 32-bit floats are rounded to 5 decimals");
    assert_eq!(pos.source, contract::domain::PositionSource::Telegram);

    // A live-location edit moves the officer silently.
    let before = rig.tg.messages_to(7203).len();
    rig.tg.push(live_location_edit(7203, -34.6200, -58.4000));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pos =
            call_as(&rig.app.state, Some(me.clone()), || officer_last_position(officer_id)).await.unwrap().unwrap();
        if (pos.lat - -34.62).abs() < 1e-4 {
            break;
        }
        assert!(Instant::now() < deadline, "the live location never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rig.tg.messages_to(7203).len(), before, "live updates are silent");

    // A location forwarded from someone else's message (a citizen's pin) is a place, not the
    // officer: refused with a word, and a forwarded live location moving moves nobody.
    let mut forwarded = location_update(7203, -34.7000, -58.5000);
    forwarded["message"]["forward_origin"] = json!({"type": "hidden_user", "sender_user_name": "Vecino", "date": 1});
    say(&rig, 7203, forwarded, "fue reenviada").await;
    let mut moving = live_location_edit(7203, -34.7100, -58.5100);
    moving["edited_message"]["forward_origin"] =
        json!({"type": "hidden_user", "sender_user_name": "Vecino", "date": 1});
    rig.tg.push(moving);
    // Then a real edit: once it is stored, the forwarded one (pushed before it) was not.
    rig.tg.push(live_location_edit(7203, -34.6300, -58.4100));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pos =
            call_as(&rig.app.state, Some(me.clone()), || officer_last_position(officer_id)).await.unwrap().unwrap();
        assert!(
            (pos.lat - -34.70).abs() > 1e-3 && (pos.lat - -34.71).abs() > 1e-3,
            "moved by a forwarded pin: {pos:?}"
        );
        if (pos.lat - -34.63).abs() < 1e-4 {
            break;
        }
        assert!(Instant::now() < deadline, "the live location never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_is_recorded() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo4@gad.local", 7304).await;
    rig.tg.push(text_update(7304, "/feedback"));
    rig.tg.sent(7304, "Escriba su comentario").await;
    rig.tg.push(text_update(7304, "/feedback La radio del móvil 12 falla seguido"));
    rig.tg.sent(7304, "Gracias").await;
    let rows =
        feedback::Entity::find().filter(feedback::Column::UserId.eq(me.user_id)).all(&rig.app.state.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].text, "La radio del móvil 12 falla seguido");
    assert_eq!(rows[0].channel, Channel::Telegram);
    assert_eq!(rows[0].telegram_user_id, Some(7304));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_are_the_server_functions_figures() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "supervisor@gad.local", 7400).await;
    let today = chrono::Utc::now().with_timezone(&rig.app.state.config.timezone).date_naive();
    let from = today - chrono::Days::new(29);
    let figures = call_as(&rig.app.state, Some(me), || task_stats(from, today)).await.unwrap();
    rig.tg.push(text_update(7400, "/estadisticas"));
    let reply = rig.tg.sent(7400, "Estadísticas de los últimos 30 días").await;
    assert!(text(&reply).contains(&format!("Tareas: {}", figures.total)), "{}", text(&reply));
    assert!(text(&reply).contains(&format!("Finalizadas en el período: {}", figures.completed_in_period)));
    assert!(figures.total > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergencia_asks_for_a_location_and_dispatches() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo1@gad.local", 7501).await;
    rig.tg.push(text_update(7501, "/emergencia"));
    let ask = rig.tg.sent(7501, "envíe la ubicación").await;
    assert_eq!(ask.body["reply_markup"]["keyboard"][0][0]["request_location"], true);
    // An available officer close to the scene, with a fresh position.
    let helper = actor_for_user(&rig.app.state, user_id(&rig.app, "efectivo3@gad.local").await, Channel::Telegram)
        .await
        .unwrap();
    call_as(&rig.app.state, Some(helper), || app::api::officers::update_my_position(-34.6160, -58.4330, None, None))
        .await
        .unwrap();
    let own_before =
        call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap())).await.unwrap();
    rig.tg.push(location_update(7501, -34.6158, -58.4333));
    let reply = rig.tg.sent(7501, "Emergencia registrada").await;
    let supervisor =
        actor_for_user(&rig.app.state, user_id(&rig.app, "supervisor@gad.local").await, Channel::Web).await.unwrap();
    let all = call_as(&rig.app.state, Some(supervisor.clone()), || list_tasks(TaskScope::All)).await.unwrap();
    let emergency = all.iter().find(|t| t.task_type == contract::domain::TaskType::Emergency).unwrap();
    assert!(text(&reply).contains(&emergency.code));
    let detail = call_as(&rig.app.state, Some(supervisor), || task_detail(emergency.id)).await.unwrap();
    assert!(!detail.assignments.is_empty(), "somebody was dispatched");
    assert!(text(&reply).contains("Asignado"), "{}", text(&reply));
    for a in &detail.assignments {
        assert!(text(&reply).contains(&a.name), "{} not named in {}", a.name, text(&reply));
    }
    // The location went to the emergency, not to the reporter's own position.
    let own =
        call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap())).await.unwrap();
    assert_eq!(own.map(|p| (p.lat, p.lon)), own_before.map(|p| (p.lat, p.lon)));

    // /cancelar ends a pending emergency.
    rig.tg.push(text_update(7501, "/emergencia"));
    rig.tg.push(text_update(7501, "/cancelar"));
    rig.tg.sent(7501, "Operación cancelada").await;
}

/// The pending `/emergencia` cannot be read (its storage away) when the location comes: the
/// location is not taken for the officer's position (the emergency silently lost); the officer
/// is asked to send it again, and then it raises the emergency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_location_is_never_taken_for_a_position_when_its_step_cannot_be_read() {
    use sea_orm::ConnectionTrait;
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo3@gad.local", 7511).await;
    rig.tg.push(text_update(7511, "/emergencia"));
    rig.tg.sent(7511, "envíe la ubicación").await;
    let own_before =
        call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap())).await.unwrap();
    let db = &rig.app.state.db;
    db.execute_unprepared("ALTER TABLE bot_conversations RENAME TO bot_conversations_away").await.unwrap();
    rig.tg.push(location_update(7511, -34.6158, -58.4333));
    rig.tg.sent(7511, "No se pudo procesar la ubicación").await;
    let own =
        call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap())).await.unwrap();
    assert_eq!(own.map(|p| (p.lat, p.lon)), own_before.map(|p| (p.lat, p.lon)), "not taken for a position");
    assert!(rig.tg.messages_to(7511).iter().all(|c| !text(c).contains("Ubicación actualizada")));

    db.execute_unprepared("ALTER TABLE bot_conversations_away RENAME TO bot_conversations").await.unwrap();
    rig.tg.push(location_update(7511, -34.6158, -58.4333));
    rig.tg.sent(7511, "Emergencia registrada").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_updates_never_stop_the_bot() {
    let rig = rig(Backend::Sqlite).await;
    link(&rig, "efectivo5@gad.local", 7605).await;
    rig.tg.push(json!({"message": {"garbage": true}}));
    rig.tg.push(json!({"no_update_id_here": 1, "update_id": "x"}));
    rig.tg.push(json!({"callback_query": {"id": 5}}));
    rig.tg.push(text_update(7605, "/ayuda"));
    rig.tg.sent(7605, "Comandos disponibles").await;
    rig.tg.push(text_update(7605, "/start"));
    let menu = rig.tg.sent(7605, "menú principal").await;
    assert!(buttons(&menu).contains(&"m:emergencia".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_retry_after_is_honoured() {
    let rig = rig(Backend::Sqlite).await;
    link(&rig, "efectivo6@gad.local", 7706).await;
    rig.tg.throttle("sendMessage", 1);
    rig.tg.push(text_update(7706, "/ayuda"));
    let delivered = rig
        .tg
        .wait_for("the delivered help", |c| {
            c.method == "sendMessage" && text(c).contains("Comandos disponibles") && !c.result.is_null()
        })
        .await;
    let attempts: Vec<Call> =
        rig.tg.messages_to(7706).into_iter().filter(|c| text(c).contains("Comandos disponibles")).collect();
    assert_eq!(attempts.len(), 2, "one refused, one delivered");
    let waited = delivered.at.duration_since(attempts[0].at);
    assert!(waited >= Duration::from_millis(950), "retried after {waited:?}, before retry_after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_of_one_chat_are_handled_in_order() {
    let rig = rig(Backend::Sqlite).await;
    link(&rig, "efectivo1@gad.local", 7801).await;
    for i in 0..5 {
        rig.tg.push(text_update(7801, &format!("/feedback comentario {i}")));
    }
    rig.tg.sent(7801, "Gracias").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while rig.tg.messages_to(7801).iter().filter(|c| text(c).contains("Gracias")).count() < 5 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let uid = user_id(&rig.app, "efectivo1@gad.local").await;
    let rows = feedback::Entity::find().filter(feedback::Column::UserId.eq(uid)).all(&rig.app.state.db).await.unwrap();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, (0..5).map(|i| format!("comentario {i}")).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_chats_get_no_personal_data() {
    let rig = rig(Backend::Sqlite).await;
    link(&rig, "efectivo2@gad.local", 7902).await;
    let group = -100_200_300;
    let mut update = text_update(7902, "/tareas");
    update["message"]["chat"] = json!({"id": group, "type": "supergroup", "title": "Brigada"});
    rig.tg.push(update);
    let mut chatter = text_update(7902, "hola a todos");
    chatter["message"]["chat"] = json!({"id": group, "type": "supergroup", "title": "Brigada"});
    rig.tg.push(chatter);
    rig.tg.sent(group, "chat privado").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rig.tg.messages_to(group).len(), 1, "{:#?}", rig.tg.messages_to(group));
}

// ------------------------------------------------------------------------------ webhook

const WEBHOOK_SECRET: &str = "s3cret-Path_0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_requires_the_secret_header() {
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url), ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)],
    )
    .await;
    let http = reqwest::Client::new();
    // The secret is never in the path (access logs record paths): only the header holds it.
    let hook = app.url("/telegram/webhook");
    let update = json!({"update_id": 1, "message": text_update(8001, "/ayuda")["message"]});

    let missing = http.post(&hook).json(&update).send().await.unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::UNAUTHORIZED);
    let wrong = http.post(&hook).header("X-Telegram-Bot-Api-Secret-Token", "nope").json(&update).send().await.unwrap();
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);
    // A prefix of the secret, or the secret with one more character, is as wrong as any.
    for near in [&WEBHOOK_SECRET[..WEBHOOK_SECRET.len() - 1], &format!("{WEBHOOK_SECRET}x")] {
        let res = http.post(&hook).header("X-Telegram-Bot-Api-Secret-Token", near).json(&update).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
    }
    // The old route with the secret in its path is gone.
    let elsewhere = http
        .post(app.url(&format!("/telegram/webhook/{WEBHOOK_SECRET}")))
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), reqwest::StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tg.calls().is_empty(), "refused calls reach nobody: {:#?}", tg.calls());

    // Garbage is acknowledged (Telegram would redeliver it forever) and skipped.
    let garbage = http
        .post(&hook)
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), reqwest::StatusCode::OK);

    let ok =
        http.post(&hook).header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET).json(&update).send().await.unwrap();
    assert_eq!(ok.status(), reqwest::StatusCode::OK);
    tg.sent(8001, "Su cuenta de Telegram no está vinculada").await;

    // The secret never shows in the metrics.
    let metrics = http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains(WEBHOOK_SECRET));

    // A long-polling `gad bot` left running in a webhook deployment neither deletes the
    // webhook nor polls: it waits for its shutdown.
    let idle = Bot::new(app.state.clone()).unwrap().run_long_poll(tokio::time::sleep(Duration::from_millis(1500)));
    idle.await.unwrap();
    let polled: Vec<String> = tg
        .calls()
        .into_iter()
        .map(|c| c.method)
        .filter(|m| m == "deleteWebhook" || m == "getUpdates" || m == "setMyCommands")
        .collect();
    assert!(polled.is_empty(), "{polled:?}");
    assert_eq!(tg.state.polls.load(Ordering::SeqCst), 0, "no getUpdates");
}

/// A double-tapped location after `/emergencia`, each tap received by another api replica:
/// one emergency is raised (one process hands out the stored updates, each chat's in order),
/// the other tap is a position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_tapped_emergency_location_on_two_replicas_raises_one() {
    use gad_core::entities::{bot_inbox, tasks};
    use sea_orm::PaginatorTrait;
    let tg = FakeTelegram::start().await;
    let database_url = common::fresh_database(Backend::Postgres).await;
    let env = [
        ("REDIS_URL", ""),
        ("TELEGRAM_BOT_TOKEN", TOKEN),
        ("TELEGRAM_API_URL", tg.url.as_str()),
        ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ];
    let a = TestApp::spawn_on(&database_url, &env).await;
    let b = TestApp::spawn_on(&database_url, &env).await;
    let http = reqwest::Client::new();
    let post = |app: &TestApp, update: Value| {
        let req = http.post(app.url("/telegram/webhook")).header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET);
        async move { req.json(&update).send().await.unwrap().status() }
    };
    let emergencies = || {
        tasks::Entity::find()
            .filter(tasks::Column::TaskType.eq(contract::domain::TaskType::Emergency))
            .count(&a.state.db)
    };
    let before = emergencies().await.unwrap();
    let code = link_code(&a, "efectivo1@gad.local").await;
    let start = json!({"update_id": 1, "message": text_update(7601, &format!("/start {code}"))["message"]});
    assert_eq!(post(&a, start).await, StatusCode::OK);
    tg.sent(7601, "Cuenta vinculada").await;
    let ask = json!({"update_id": 2, "message": text_update(7601, "/emergencia")["message"]});
    assert_eq!(post(&b, ask).await, StatusCode::OK);
    tg.sent(7601, "envíe la ubicación").await;
    let (mut one, mut two) = (location_update(7601, -34.6150, -58.4340), location_update(7601, -34.6150, -58.4340));
    one["update_id"] = json!(3);
    two["update_id"] = json!(4);
    let (x, y) = tokio::join!(post(&a, one), post(&b, two));
    assert_eq!((x, y), (StatusCode::OK, StatusCode::OK));
    tg.sent(7601, "Emergencia registrada").await;
    let waiting = || bot_inbox::Entity::find().filter(bot_inbox::Column::HandledAt.is_null()).count(&a.state.db);
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "taps left unhandled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(emergencies().await.unwrap(), before + 1, "one emergency for one request");
}

/// A process that loses the lease (another took it while this one waited on Telegram) stops
/// what it was handling and marks nothing handled; the holder hands the update out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_in_hand_when_the_lease_is_lost_is_handed_out_again() {
    use gad_core::entities::{bot_inbox, event_consumers};
    use sea_orm::sea_query::Expr;
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url), ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)],
    )
    .await;
    let lease = |owner: Option<&str>| {
        let until = owner.map(|_| chrono::Utc::now() + chrono::Duration::seconds(60));
        event_consumers::Entity::update_many()
            .col_expr(event_consumers::Column::Owner, Expr::value(owner.map(str::to_owned)))
            .col_expr(event_consumers::Column::LeaseUntil, Expr::value(until))
            .filter(event_consumers::Column::Name.starts_with("telegram:"))
            .exec(&app.state.db)
    };
    // The answer takes 6 s to reach Telegram.
    tg.slow_down(6_000);
    let arrived = tg.arrivals();
    let update = json!({"update_id": 900, "message": text_update(8501, "/start ZZZZZZZZ")["message"]});
    let res = reqwest::Client::new()
        .post(app.url("/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tg.arrivals() == arrived {
        assert!(Instant::now() < deadline, "the answer never left");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another process takes the lease while the answer is on its way; past the moment the
    // answer would have arrived, nothing is marked handled by the process that lost it.
    assert_eq!(lease(Some("another-process")).await.unwrap().rows_affected, 1);
    tokio::time::sleep(Duration::from_millis(7_500)).await;
    let row = bot_inbox::Entity::find_by_id(900).one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(row.handled_at, None, "marked handled by a process that no longer held the lease");
    assert_eq!(rig_count(&tg, 8501, "No se pudo vincular"), 0, "the stopped handler sent nothing");
    // It gives the lease up: this process takes it again and handles the update.
    tg.slow_down(0);
    lease(None).await.unwrap();
    tg.sent(8501, "No se pudo vincular").await;
}

/// The webhook answers Telegram only once the update is stored: an update sent twice (our
/// answer lost on the way) is handled once, and one that cannot be stored is refused with 503,
/// so Telegram sends it again instead of counting it delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_update_is_stored_before_it_is_acknowledged() {
    use gad_core::entities::bot_inbox;
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url), ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)],
    )
    .await;
    let http = reqwest::Client::new();
    let post = |update: Value| {
        let req = http.post(app.url("/telegram/webhook")).header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET);
        async move { req.json(&update).send().await.unwrap().status() }
    };
    let update = json!({"update_id": 700, "message": text_update(8401, "/start ZZZZZZZZ")["message"]});
    assert_eq!(post(update.clone()).await, reqwest::StatusCode::OK);
    tg.sent(8401, "No se pudo vincular").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = bot_inbox::Entity::find_by_id(700).one(&app.state.db).await.unwrap().unwrap();
        if row.handled_at.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the update was never marked handled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(post(update).await, reqwest::StatusCode::OK);
    // A later update of the same chat is handled after it: counted once that one is.
    let marker = json!({"update_id": 702, "message": text_update(8401, "/start YYYYYYYY")["message"]});
    assert_eq!(post(marker).await, reqwest::StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    while rig_count(&tg, 8401, "No se pudo vincular") < 2 {
        assert!(Instant::now() < deadline, "the later update was not handled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rig_count(&tg, 8401, "No se pudo vincular"), 2, "the same update handled twice");

    sqlx_drop_inbox(&app).await;
    let update = json!({"update_id": 701, "message": text_update(8401, "/ayuda")["message"]});
    assert_eq!(post(update).await, reqwest::StatusCode::SERVICE_UNAVAILABLE);
}

fn rig_count(tg: &FakeTelegram, chat: i64, needle: &str) -> usize {
    tg.messages_to(chat).iter().filter(|c| text(c).contains(needle)).count()
}

async fn sqlx_drop_inbox(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    app.state.db.execute_unprepared("DROP TABLE bot_inbox").await.unwrap();
}

/// A webhook secret rotates without a refused update: with `TELEGRAM_WEBHOOK_SECRET_PREVIOUS`
/// set, both the new secret and the previous one are accepted (Telegram keeps sending the old
/// one until `gad bot --set-webhook` registers the new one), any other is refused, and neither
/// shows in the metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_rotates_with_both_accepted_meanwhile() {
    const NEW: &str = "rotated-webhook-secret-0123456789";
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", &tg.url),
            ("TELEGRAM_WEBHOOK_SECRET", NEW),
            ("TELEGRAM_WEBHOOK_SECRET_PREVIOUS", WEBHOOK_SECRET),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let hook = app.url("/telegram/webhook");
    for (update_id, chat, secret) in [(1, 8101, NEW), (2, 8102, WEBHOOK_SECRET)] {
        let update = json!({"update_id": update_id, "message": text_update(chat, "/ayuda")["message"]});
        let res =
            http.post(&hook).header("X-Telegram-Bot-Api-Secret-Token", secret).json(&update).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::OK, "{secret}");
        tg.sent(chat, "Su cuenta de Telegram no está vinculada").await;
    }
    for wrong in ["", "nope", &NEW[..NEW.len() - 1], &format!("{WEBHOOK_SECRET}x")] {
        let update = json!({"update_id": 3, "message": text_update(8103, "/ayuda")["message"]});
        let res = http.post(&hook).header("X-Telegram-Bot-Api-Secret-Token", wrong).json(&update).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    let metrics = http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains(NEW) && !metrics.contains(WEBHOOK_SECRET));
}

/// A secrets manager's agent rotates the webhook secret by rewriting the files `gad serve`
/// reads (`TELEGRAM_WEBHOOK_SECRET_FILE`, `…_PREVIOUS_FILE`) and sending SIGHUP: the running
/// process takes the new secret at once, accepts the previous one until its file is emptied,
/// and never restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_takes_rotated_webhook_secrets_from_its_files_on_sighup() {
    const NEW: &str = "rotated-by-the-agent-0123456789";
    let tg = FakeTelegram::start().await;
    let dir = std::env::temp_dir().join(format!("gad-sighup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (current, previous) = (dir.join("webhook_secret"), dir.join("webhook_secret_previous"));
    std::fs::write(&current, format!("{WEBHOOK_SECRET}\n")).unwrap();
    std::fs::write(&previous, "").unwrap();
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let gad = common::GadProcess::start(
        &database_url,
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", &tg.url),
            ("TELEGRAM_WEBHOOK_SECRET_FILE", current.to_str().unwrap()),
            ("TELEGRAM_WEBHOOK_SECRET_PREVIOUS_FILE", previous.to_str().unwrap()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let status = async |secret: &str| {
        let update = json!({"update_id": 1, "message": text_update(8201, "/ayuda")["message"]});
        let res = http
            .post(gad.url("/telegram/webhook"))
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .json(&update)
            .send()
            .await
            .unwrap();
        res.status()
    };
    assert_eq!(status(WEBHOOK_SECRET).await, reqwest::StatusCode::OK);
    assert_eq!(status(NEW).await, reqwest::StatusCode::UNAUTHORIZED);

    // The agent renders the new secret and keeps the old one as previous, then signals.
    std::fs::write(&current, NEW).unwrap();
    std::fs::write(&previous, WEBHOOK_SECRET).unwrap();
    gad.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    while status(NEW).await != reqwest::StatusCode::OK {
        assert!(Instant::now() < deadline, "the new secret was not taken after SIGHUP");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status(WEBHOOK_SECRET).await, reqwest::StatusCode::OK, "the previous one still works");

    // Telegram has the new secret (`gad bot --set-webhook`): the previous one is dropped.
    std::fs::write(&previous, "").unwrap();
    gad.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    while status(WEBHOOK_SECRET).await != reqwest::StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "the previous secret was still accepted after SIGHUP");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status(NEW).await, reqwest::StatusCode::OK);
    // The process lived through it, and its metrics count the reloads without any secret.
    let metrics = http.get(gad.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("gad_secret_reloads_total{result=\"changed\"} 3"), "{metrics}");
    assert!(!metrics.contains(NEW) && !metrics.contains(WEBHOOK_SECRET));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_webhook_route_without_its_secret() {
    let tg = FakeTelegram::start().await;
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    let res =
        reqwest::Client::new().post(app.url("/telegram/webhook")).json(&json!({"update_id": 1})).send().await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(tg.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_webhook_registers_a_url_without_the_secret() {
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", &tg.url),
            ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("GAD_PUBLIC_URL", "https://gad.example.org/"),
        ],
    )
    .await;
    let shown = gad_server::bot::set_webhook(&app.state).await.unwrap();
    assert_eq!(shown, "https://gad.example.org/telegram/webhook");
    let call = tg.wait_for("setWebhook", |c| c.method == "setWebhook").await;
    let form = call.body["_raw"].as_str().unwrap();
    let field = |name: &str| {
        let start = form.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no {name} in {form}"));
        form[start..].split("\r\n\r\n").nth(1).unwrap().split("\r\n").next().unwrap().to_owned()
    };
    assert_eq!(field("url"), "https://gad.example.org/telegram/webhook");
    assert_eq!(field("secret_token"), WEBHOOK_SECRET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizar_by_code_asks_for_confirmation() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo1@gad.local", 8101).await;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let started: Vec<_> = mine.iter().filter(|t| t.status.is_active()).collect();
    assert_eq!(started.len(), 1, "demo data: efectivo1 has one task in progress");
    let task = started[0];
    let scheduled = mine.iter().find(|t| t.status == TaskStatus::Scheduled).unwrap();

    rig.tg.push(text_update(8101, &format!("/finalizar {}", task.code.to_lowercase())));
    let prompt = rig.tg.sent(8101, "¿Confirma que desea finalizar").await;
    assert_eq!(
        buttons(&prompt),
        vec![format!("t:{}:completed", task.id), format!("n:{}", task.id), format!("d:{}", task.id)]
    );

    rig.tg.push(text_update(8101, "/finalizar"));
    rig.tg
        .wait_for("the second prompt", |c| {
            c.method == "sendMessage" && text(c).contains("¿Confirma") && c.at > prompt.at
        })
        .await;

    rig.tg.push(text_update(8101, "/finalizar NO-EXISTE-1"));
    rig.tg.sent(8101, "No encontré la tarea «NO-EXISTE-1»").await;
    rig.tg.push(text_update(8101, &format!("/finalizar {}", scheduled.code)));
    rig.tg.sent(8101, "debe estar en curso o pausada").await;

    let after = call_as(&rig.app.state, Some(me), || task_detail(task.id)).await.unwrap();
    assert_eq!(after.status, TaskStatus::InProgress, "nothing is finished without the confirmation");
}

// ------------------------------------------------------------------ conversations and wizard

/// Pushes `update` and waits for a new message to `chat` (after those already sent) that
/// contains `needle`.
async fn say(rig: &Rig, chat: i64, update: Value, needle: &str) -> Call {
    let before = rig.tg.messages_to(chat).len();
    rig.tg.push(update);
    wait_new(&rig.tg, chat, before, needle).await
}

async fn wait_new(tg: &FakeTelegram, chat: i64, before: usize, needle: &str) -> Call {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(c) = tg.messages_to(chat).into_iter().skip(before).find(|c| text(c).contains(needle)) {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {needle:?} to {chat}; got: {:#?}",
            tg.messages_to(chat).into_iter().skip(before).map(|c| text(&c).to_owned()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Presses a button and waits for its callback answer.
async fn press(rig: &Rig, chat: i64, message: &Call, data: &str) -> Call {
    let id = format!("cb-{}", rig.tg.state.next_update_id.load(Ordering::SeqCst));
    let message_id = message.result["message_id"].as_i64().unwrap_or(1);
    rig.tg.push(callback_update(chat, &id, message_id, data));
    rig.tg
        .wait_for(&format!("the answer to {data}"), |c| {
            c.method == "answerCallbackQuery" && c.body["callback_query_id"] == json!(id)
        })
        .await
}

async fn supervisor_actor(app: &TestApp) -> Actor {
    actor_for_user(&app.state, user_id(app, "supervisor@gad.local").await, Channel::Web).await.unwrap()
}

/// A local start time three days from now, as typed (`dd/mm/aaaa HH:MM`), and its instant.
fn future_start(app: &TestApp) -> (String, chrono::DateTime<chrono::Utc>) {
    use chrono::{TimeZone, Timelike};
    let tz = app.state.config.timezone;
    let local = (chrono::Utc::now() + chrono::Duration::days(3)).with_timezone(&tz);
    let local = local.with_second(0).unwrap().with_nanosecond(0).unwrap();
    let typed = local.format("%d/%m/%Y %H:%M").to_string();
    let instant = tz.from_local_datetime(&local.naive_local()).earliest().unwrap().with_timezone(&chrono::Utc);
    (typed, instant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crear_wizard_happy_path_with_retries() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "supervisor@gad.local", 9100).await;
    let chat = 9100;

    let ask_type = say(&rig, chat, text_update(chat, "/crear"), "paso 1 de 7").await;
    assert!(buttons(&ask_type).contains(&"c:ty:surveillance".to_owned()));
    assert!(!buttons(&ask_type).contains(&"c:ty:emergency".to_owned()), "emergencies have /emergencia");
    say(&rig, chat, text_update(chat, "bicicleta"), "No reconozco ese tipo").await;
    // A button of a later step is refused while choosing the type.
    let early = press(&rig, chat, &ask_type, "c:pr:high").await;
    assert_eq!(early.body["show_alert"], true);

    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &ask_type, "c:ty:surveillance").await;
    wait_new(&rig.tg, chat, before, "Paso 2 de 7").await;
    let retry = say(&rig, chat, text_update(chat, "ab"), "entre 3 y 200 caracteres").await;
    assert!(text(&retry).starts_with("⚠️"), "{}", text(&retry));
    say(&rig, chat, text_update(chat, "Vigilancia del archivo central"), "Paso 3 de 7").await;
    say(&rig, chat, text_update(chat, "altísima"), "No reconozco esa prioridad").await;
    say(&rig, chat, text_update(chat, "Alta"), "Paso 4 de 7").await;
    say(&rig, chat, text_update(chat, "por ahí"), "Envíe una ubicación de Telegram o escriba «omitir»").await;
    let (lat, lon) = (-34.6083, -58.3712);
    let officers = say(&rig, chat, location_update(chat, lat, lon), "Paso 5 de 7").await;
    assert!(text(&officers).contains("los más cercanos primero"));

    // Nearest first, as the geo server function ranks them.
    let near =
        call_as(&rig.app.state, Some(me.clone()), || app::api::geo::officers_within_radius(lat, lon, 100_000.0, 200))
            .await
            .unwrap();
    let shown: Vec<String> = buttons(&officers).into_iter().filter(|b| b.starts_with("c:o:")).collect();
    let expected: Vec<String> = near.iter().take(shown.len()).map(|o| format!("c:o:{}", o.officer_id)).collect();
    assert_eq!(shown, expected);
    assert_eq!(shown.len(), 6.min(near.len().max(shown.len())));

    // Choose two officers (paging to the second page when there is one), toggling one off and
    // on again.
    let all_ids: Vec<i64> = {
        let page = call_as(&rig.app.state, Some(me.clone()), || {
            app::api::officers::list_officers(None, None, None, None, Some(200))
        })
        .await
        .unwrap();
        let mut ids: Vec<i64> = near.iter().map(|o| o.officer_id).collect();
        ids.extend(page.items.iter().map(|o| o.id).filter(|id| !near.iter().any(|n| n.officer_id == *id)));
        ids
    };
    let second = if all_ids.len() > 6 { 6 } else { 1 };
    let free: Vec<(usize, i64)> = vec![(0, all_ids[0]), (second, all_ids[second])];
    let mut page = 0;
    for (index, id) in &free {
        if index / 6 != page {
            page = index / 6;
            press(&rig, chat, &officers, &format!("c:pg:{page}")).await;
            let paged = rig
                .tg
                .wait_for("page 2", |c| c.method == "editMessageText" && buttons(c).contains(&format!("c:o:{id}")))
                .await;
            assert!(buttons(&paged).contains(&"c:pg:0".to_owned()));
        }
        press(&rig, chat, &officers, &format!("c:o:{id}")).await;
    }
    press(&rig, chat, &officers, &format!("c:o:{}", free[1].1)).await;
    let edited = rig
        .tg
        .wait_for("one selected", |c| c.method == "editMessageText" && text(c).contains("Seleccionados: 1"))
        .await;
    assert!(buttons(&edited).contains(&"c:done".to_owned()));
    press(&rig, chat, &officers, &format!("c:o:{}", free[1].1)).await;
    rig.tg
        .wait_for("two selected", |c| {
            c.method == "editMessageText" && text(c).contains("Seleccionados: 2") && c.at > edited.at
        })
        .await;
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &officers, "c:done").await;
    wait_new(&rig.tg, chat, before, "Paso 6 de 7").await;

    say(&rig, chat, text_update(chat, "mañana temprano"), "No entendí la fecha").await;
    say(&rig, chat, text_update(chat, "01/01/2020 10:00"), "ya pasaron").await;
    say(&rig, chat, text_update(chat, "31/02 10:00"), "no existe").await;
    let (typed, start) = future_start(&rig.app);
    let ask_end = say(&rig, chat, text_update(chat, &typed), "Paso 7 de 7").await;
    assert_eq!(buttons(&ask_end), vec!["c:h:1", "c:h:2", "c:h:4", "c:h:8", "c:x"]);
    say(&rig, chat, text_update(chat, "un rato"), "No entendí").await;
    say(&rig, chat, text_update(chat, "500 h"), "más de una semana").await;
    let summary = say(&rig, chat, text_update(chat, "2h30"), "Resumen de la nueva tarea").await;
    assert!(text(&summary).contains("Fin: ") && text(&summary).contains("(2 h 30 min)"), "{}", text(&summary));
    assert!(text(&summary).contains("Título: Vigilancia del archivo central"));
    assert!(text(&summary).contains("Prioridad: Alta"));
    assert!(text(&summary).contains(&format!("Inicio: {typed}")), "{}", text(&summary));
    assert_eq!(buttons(&summary), vec!["c:ok", "c:back", "c:x"]);

    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &summary, "c:ok").await;
    let created = wait_new(&rig.tg, chat, before, "Tarea creada").await;

    let all = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::All)).await.unwrap();
    let task = all.iter().find(|t| t.title == "Vigilancia del archivo central").expect("the task exists");
    assert!(text(&created).contains(&task.code));
    let detail = call_as(&rig.app.state, Some(me.clone()), || task_detail(task.id)).await.unwrap();
    assert_eq!(detail.task_type, contract::domain::TaskType::Surveillance);
    assert_eq!(detail.priority, contract::domain::TaskPriority::High);
    assert_eq!(detail.status, TaskStatus::Scheduled);
    assert_eq!(detail.scheduled_start, Some(start));
    assert_eq!(detail.scheduled_end, Some(start + chrono::Duration::minutes(150)), "every task made here ends");
    assert!((detail.lat.unwrap() - lat).abs() < 1e-4 && (detail.lon.unwrap() - lon).abs() < 1e-4);
    let mut assigned: Vec<i64> = detail.assignments.iter().map(|a| a.officer_id).collect();
    assigned.sort();
    let mut chosen: Vec<i64> = free.iter().map(|(_, id)| *id).collect();
    chosen.sort();
    assert_eq!(assigned, chosen);
    assert!(detail.assignments.iter().all(|a| !a.overlap_override));
    assert_eq!(detail.created_by, me.user_id);
    assert_eq!(detail.history[0].channel, Channel::Telegram);

    // The wizard is over: plain text is not taken as an answer any more.
    say(&rig, chat, text_update(chat, "Alta"), "No entendí el mensaje").await;

    // The same officer at the same time again: the task just created overlaps, the
    // server function refuses, and the wizard offers the dashboard's explicit override.
    say(&rig, chat, text_update(chat, "/crear"), "paso 1 de 7").await;
    say(&rig, chat, text_update(chat, "vigilancia"), "Paso 2 de 7").await;
    say(&rig, chat, text_update(chat, "Custodia del depósito judicial"), "Paso 3 de 7").await;
    say(&rig, chat, text_update(chat, "urgente"), "Paso 4 de 7").await;
    let officers = say(&rig, chat, text_update(chat, "Omitir"), "Paso 5 de 7").await;
    assert!(!text(&officers).contains("cercanos"));
    let index = all_ids.iter().position(|id| *id == free[0].1).unwrap();
    if index >= 6 {
        press(&rig, chat, &officers, &format!("c:pg:{}", index / 6)).await;
    }
    press(&rig, chat, &officers, &format!("c:o:{}", free[0].1)).await;
    say(&rig, chat, text_update(chat, "listo"), "Paso 6 de 7").await;
    let ask_end = say(&rig, chat, text_update(chat, &typed), "Paso 7 de 7").await;
    press(&rig, chat, &ask_end, "c:h:1").await;
    rig.tg
        .wait_for("summary", |c| text(c).contains("Resumen de la nueva tarea") && text(c).contains("1 h 00 min"))
        .await;
    let refused = say(&rig, chat, text_update(chat, "confirmar"), "ya tiene otra tarea").await;
    assert!(buttons(&refused).contains(&"c:force".to_owned()), "{:?}", buttons(&refused));
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &refused, "c:force").await;
    let created = wait_new(&rig.tg, chat, before, "Tarea creada").await;
    let all = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::All)).await.unwrap();
    let task = all.iter().find(|t| t.title == "Custodia del depósito judicial").unwrap();
    assert!(text(&created).contains(&task.code));
    let detail = call_as(&rig.app.state, Some(me.clone()), || task_detail(task.id)).await.unwrap();
    assert_eq!(detail.assignments.len(), 1);
    assert!(detail.assignments[0].overlap_override, "the override is recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crear_can_be_cancelled_at_any_step() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "supervisor@gad.local", 9200).await;
    let chat = 9200;
    let count =
        || async { call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::All)).await.unwrap().len() };
    let tasks_before = count().await;

    say(&rig, chat, text_update(chat, "/crear"), "paso 1 de 7").await;
    say(&rig, chat, text_update(chat, "patrullaje"), "Paso 2 de 7").await;
    say(&rig, chat, text_update(chat, "/cancelar"), "Operación cancelada").await;
    say(&rig, chat, text_update(chat, "Un título"), "No entendí el mensaje").await;

    // The «Cancelar» button, later in the wizard.
    say(&rig, chat, text_update(chat, "/crear"), "paso 1 de 7").await;
    say(&rig, chat, text_update(chat, "Capacitación"), "Paso 2 de 7").await;
    say(&rig, chat, text_update(chat, "Curso de tiro"), "Paso 3 de 7").await;
    let priority = say(&rig, chat, text_update(chat, "baja"), "Paso 4 de 7").await;
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &priority, "c:x").await;
    wait_new(&rig.tg, chat, before, "Operación cancelada").await;
    // A button of the cancelled wizard is stale.
    let stale = press(&rig, chat, &priority, "c:skip").await;
    assert_eq!(stale.body["show_alert"], true);
    say(&rig, chat, text_update(chat, "/cancelar"), "No hay ninguna operación en curso").await;
    assert_eq!(count().await, tasks_before, "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crear_is_refused_to_an_officer_by_the_server_function() {
    let rig = rig(Backend::Sqlite).await;
    link(&rig, "efectivo4@gad.local", 9304).await;
    let refusal = say(&rig, 9304, text_update(9304, "/crear"), "No tiene permiso para realizar esta acción").await;
    assert!(text(&refusal).contains("supervisores"));
    assert!(buttons(&refusal).is_empty());
    // No wizard was opened.
    say(&rig, 9304, text_update(9304, "Patrullaje"), "No entendí el mensaje").await;
    let stored: Option<gad_server::bot::Conversation> =
        gad_core::services::conversations::load(&rig.app.state, 9304).await.unwrap();
    assert_eq!(stored, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_wizard_loses_nothing() {
    let tg = FakeTelegram::start().await;
    let url = tg.url.clone();
    let extra = [("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", url.as_str())];
    let app = TestApp::spawn_with(Backend::Sqlite, &extra).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let first = Bot::new(app.state.clone()).unwrap();
    let first = tokio::spawn(first.run_long_poll(async {
        let _ = stopped.await;
    }));
    let rig = Rig { app, tg };
    let me = link(&rig, "supervisor@gad.local", 9400).await;
    let chat = 9400;
    say(&rig, chat, text_update(chat, "/crear"), "paso 1 de 7").await;
    say(&rig, chat, text_update(chat, "Administrativa"), "Paso 2 de 7").await;
    say(&rig, chat, text_update(chat, "Inventario de chalecos"), "Paso 3 de 7").await;

    // The bot process goes away; a new one starts on the same database with a fresh state.
    stop.send(()).unwrap();
    first.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let state = gad_server::startup::connect(common::config(&rig.app.database_url, &extra)).await.unwrap();
    tokio::spawn(Bot::new(state).unwrap().run_long_poll(std::future::pending()));

    say(&rig, chat, text_update(chat, "media"), "Paso 4 de 7").await;
    say(&rig, chat, text_update(chat, "omitir"), "Paso 5 de 7").await;
    say(&rig, chat, text_update(chat, "listo"), "Paso 6 de 7").await;
    say(&rig, chat, text_update(chat, "ahora"), "Paso 7 de 7").await;
    let summary = say(&rig, chat, text_update(chat, "4"), "Resumen de la nueva tarea").await;
    assert!(text(&summary).contains("Tipo: Administrativa"), "{}", text(&summary));
    assert!(text(&summary).contains("Título: Inventario de chalecos"));
    assert!(text(&summary).contains("Ubicación: sin ubicación"));
    say(&rig, chat, text_update(chat, "confirmar"), "Tarea creada").await;
    let all = call_as(&rig.app.state, Some(me), || list_tasks(TaskScope::All)).await.unwrap();
    let task = all.iter().find(|t| t.title == "Inventario de chalecos").unwrap();
    assert_eq!(task.task_type, contract::domain::TaskType::Administrative);
    assert_eq!(task.priority, contract::domain::TaskPriority::Medium);
    assert!(task.officer_ids.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_expire_after_thirty_minutes_in_the_database() {
    use gad_core::entities::bot_conversations;
    let rig = rig(Backend::Sqlite).await;
    link(&rig, "efectivo1@gad.local", 9501).await;
    say(&rig, 9501, text_update(9501, "/emergencia"), "envíe la ubicación").await;
    let row = bot_conversations::Entity::find_by_id(9501).one(&rig.app.state.db).await.unwrap().unwrap();
    let ttl = row.expires_at - chrono::Utc::now();
    assert!(ttl > chrono::Duration::minutes(29) && ttl <= chrono::Duration::minutes(30), "{ttl:?}");
    assert_eq!(serde_json::from_str::<Value>(&row.state).unwrap(), json!({"kind": "emergency_location"}));
    say(&rig, 9501, text_update(9501, "hola"), "Estoy esperando la ubicación").await;

    bot_conversations::Entity::update_many()
        .col_expr(
            bot_conversations::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&rig.app.state.db)
        .await
        .unwrap();
    say(&rig, 9501, text_update(9501, "hola"), "No entendí el mensaje").await;
    // A location is now just a position report, not an emergency.
    say(&rig, 9501, location_update(9501, -34.6, -58.4), "Ubicación actualizada").await;
    assert_eq!(gad_core::services::conversations::purge_expired(&rig.app.state).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_live_in_redis_when_configured() {
    let tg = FakeTelegram::start().await;
    let redis = common::redis_url();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url), ("REDIS_URL", &redis)],
    )
    .await;
    tokio::spawn(Bot::new(app.state.clone()).unwrap().run_long_poll(std::future::pending()));
    let rig = Rig { app, tg };
    let tg_user = 9_600_000 + (uuid::Uuid::new_v4().as_u128() % 100_000) as i64;
    link(&rig, "efectivo2@gad.local", tg_user).await;
    say(&rig, tg_user, text_update(tg_user, "/emergencia"), "envíe la ubicación").await;

    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("gad:bot:conv:{tg_user}");
    let stored: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&stored.unwrap()).unwrap(), json!({"kind": "emergency_location"}));
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut conn).await.unwrap();
    assert!((1790..=1800).contains(&ttl), "{ttl}");
    use sea_orm::PaginatorTrait;
    assert_eq!(gad_core::entities::bot_conversations::Entity::find().count(&rig.app.state.db).await.unwrap(), 0);

    say(&rig, tg_user, text_update(tg_user, "/cancelar"), "Operación cancelada").await;
    let gone: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
    assert_eq!(gone, None);
}

// ------------------------------------------------------------------ history, finishing, details

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn historial_pages_through_my_tasks() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "supervisor@gad.local", 9700).await;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    assert!(mine.len() > 5, "the demo supervisor is in charge of several tasks");
    let pages = mine.len().div_ceil(5);

    let first = say(&rig, 9700, text_update(9700, "/historial"), "🗂 Historial (todas)").await;
    assert!(text(&first).contains(&format!("{} tareas — página 1 de {pages}", mine.len())), "{}", text(&first));
    assert!(buttons(&first).contains(&"h:t:1".to_owned()));
    assert!(!buttons(&first).iter().any(|b| b == "h:t:-1"));
    let listed_first: Vec<String> = buttons(&first).into_iter().filter(|b| b.starts_with("i:")).collect();
    assert_eq!(listed_first.len(), 5);

    press(&rig, 9700, &first, "h:t:1").await;
    let second = rig.tg.wait_for("page 2", |c| c.method == "editMessageText" && text(c).contains("página 2 de")).await;
    assert!(buttons(&second).contains(&"h:t:0".to_owned()));
    let listed_second: Vec<String> = buttons(&second).into_iter().filter(|b| b.starts_with("i:")).collect();
    assert!(listed_second.iter().all(|b| !listed_first.contains(b)), "pages do not repeat tasks");

    let finished = mine.iter().filter(|t| t.status.is_final()).count();
    let only = say(&rig, 9700, text_update(9700, "/historial finalizadas"), "🗂 Historial (finalizadas)").await;
    if finished > 0 {
        assert!(text(&only).contains(&format!("{finished} tareas")), "{}", text(&only));
    }
    say(&rig, 9700, text_update(9700, "/historial ayer"), "Uso: /historial").await;

    // Details of a listed task.
    let detail = press(&rig, 9700, &first, &listed_first[0]).await;
    assert!(detail.body.get("text").is_none(), "{detail:?}");
    let id: i64 = listed_first[0][2..].parse().unwrap();
    let code = mine.iter().find(|t| t.id == id).unwrap().code.clone();
    let info = rig.tg.sent(9700, "Historial:").await;
    assert!(text(&info).contains(&code));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishing_with_a_note_records_it_in_the_history() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo1@gad.local", 9801).await;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let task = mine.iter().find(|t| t.status.is_active()).unwrap().clone();
    let prompt = say(&rig, 9801, text_update(9801, "/finalizar"), "¿Confirma").await;
    let before = rig.tg.messages_to(9801).len();
    press(&rig, 9801, &prompt, &format!("n:{}", task.id)).await;
    wait_new(&rig.tg, 9801, before, "Escriba la nota de cierre").await;
    let still = call_as(&rig.app.state, Some(me.clone()), || task_detail(task.id)).await.unwrap();
    assert_eq!(still.status, TaskStatus::InProgress);

    let long = "x".repeat(1001);
    say(&rig, 9801, text_update(9801, &long), "nota más corta").await;
    say(&rig, 9801, text_update(9801, "Sin novedades, zona despejada"), "Tarea finalizada").await;
    let done = call_as(&rig.app.state, Some(me.clone()), || task_detail(task.id)).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    let last = done.history.last().unwrap();
    assert_eq!(last.to, TaskStatus::Completed);
    assert_eq!(last.reason.as_deref(), Some("Sin novedades, zona despejada"));
    assert_eq!(last.channel, Channel::Telegram);
    say(&rig, 9801, text_update(9801, "otra cosa"), "No entendí el mensaje").await;
}

// ------------------------------------------------------------------------ notifications

/// Telegram out of reach for a while (a proxy's 502s) when an officer is assigned: the
/// notification waits and arrives once Telegram answers again, instead of being acknowledged
/// unsent; a chat that refuses (a 4xx) is not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_outage_delays_notifications_without_losing_them() {
    let rig = rig(Backend::Sqlite).await;
    let officer = link(&rig, "efectivo5@gad.local", 9915).await;
    let supervisor = supervisor_actor(&rig.app).await;
    rig.tg.fault("sendMessage", Fault::Down, 3);
    let mut new = contract::tasks::NewTask::new("Control en la estación", contract::domain::TaskType::Patrol);
    new.officer_ids = vec![officer.officer_id.unwrap()];
    let task = call_as(&rig.app.state, Some(supervisor.clone()), || app::api::tasks::create_task(new)).await.unwrap();
    // (The fake records the failed tries too.)
    let calls = |code: &str| {
        rig.tg
            .calls()
            .iter()
            .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == json!(9915) && text(c).contains(code))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls(&task.code) < 4 {
        assert!(Instant::now() < deadline, "the notification never arrived: {} tries", calls(&task.code));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(calls(&task.code), 4, "three failed tries, then the one that arrived, and no more");

    // Refused by Telegram (a chat that blocked the bot): tried once, not again and again.
    rig.tg.fault("sendMessage", Fault::Refuse, 1);
    let mut new = contract::tasks::NewTask::new("Control en el puerto", contract::domain::TaskType::Patrol);
    new.officer_ids = vec![officer.officer_id.unwrap()];
    let refused = call_as(&rig.app.state, Some(supervisor), || app::api::tasks::create_task(new)).await.unwrap();
    while calls(&refused.code) == 0 {
        assert!(Instant::now() < deadline, "never tried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(calls(&refused.code), 1, "a refusal is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_actions_notify_the_linked_officer() {
    let rig = rig(Backend::Sqlite).await;
    let officer = link(&rig, "efectivo5@gad.local", 9905).await;
    let officer_id = officer.officer_id.unwrap();
    let supervisor = supervisor_actor(&rig.app).await;
    let new = contract::tasks::NewTask::new("Control vehicular en Av. Corrientes", contract::domain::TaskType::Patrol);
    let task = call_as(&rig.app.state, Some(supervisor.clone()), || app::api::tasks::create_task(new)).await.unwrap();

    // A supervisor assigns the officer through the REST API, as an integrator or the dashboard would.
    let rest = common::Rest::sign_in(&rig.app, "supervisor@gad.local", common::DEMO_PASSWORD, false).await;
    let answer = rest
        .post(&format!("/tasks/{}/assignments", task.id), &json!({"officer_ids": [officer_id], "allow_overlap": true}))
        .await;
    assert_eq!(answer.0, reqwest::StatusCode::OK, "{:?}", answer.1);
    let note = rig.tg.sent(9905, "Se le asignó una tarea").await;
    assert!(text(&note).contains(&task.code), "{}", text(&note));
    assert!(buttons(&note).contains(&format!("t:{}:in_progress", task.id)), "the officer's own buttons");

    // A status change by the supervisor, an edit, an unassignment.
    let id = task.id;
    call_as(&rig.app.state, Some(supervisor.clone()), || {
        app::api::tasks::transition_task(id, TaskStatus::InProgress, None)
    })
    .await
    .unwrap();
    rig.tg.sent(9905, &format!("La tarea {} pasó a «En curso»", task.code)).await;
    let changes =
        contract::tasks::TaskUpdate { title: Some("Control vehicular reforzado".into()), ..Default::default() };
    call_as(&rig.app.state, Some(supervisor.clone()), || app::api::tasks::update_task(id, changes)).await.unwrap();
    let edited = rig.tg.sent(9905, "fue modificada").await;
    assert!(text(&edited).contains("Control vehicular reforzado"));
    call_as(&rig.app.state, Some(supervisor.clone()), || app::api::tasks::unassign_officer(id, officer_id))
        .await
        .unwrap();
    rig.tg.sent(9905, &format!("La tarea {} ya no está a su cargo", task.code)).await;

    // The officer's own change is not echoed back to them.
    let before = rig.tg.messages_to(9905).len();
    let own = call_as(&rig.app.state, Some(officer.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let scheduled = own.iter().find(|t| t.status == TaskStatus::Scheduled).unwrap().id;
    call_as(&rig.app.state, Some(officer.clone()), || {
        app::api::tasks::transition_task(scheduled, TaskStatus::InProgress, None)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rig.tg.messages_to(9905).len(), before, "{:#?}", rig.tg.messages_to(9905));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_notifies_the_dispatched_officer_with_the_place() {
    let rig = rig(Backend::Sqlite).await;
    let officer = link(&rig, "efectivo6@gad.local", 9906).await;
    call_as(&rig.app.state, Some(officer.clone()), || {
        app::api::officers::set_my_status(contract::domain::OfficerStatus::Available)
    })
    .await
    .unwrap();
    call_as(&rig.app.state, Some(officer.clone()), || {
        app::api::officers::update_my_position(-34.7000, -58.5000, None, None)
    })
    .await
    .unwrap();
    let supervisor = supervisor_actor(&rig.app).await;
    let outcome = call_as(&rig.app.state, Some(supervisor), || {
        app::api::emergency::raise_emergency(
            -34.7001,
            -58.5001,
            None,
            contract::emergency::EmergencyAssign::Officers(vec![officer.officer_id.unwrap()]),
        )
    })
    .await
    .unwrap();
    let alert = rig.tg.sent(9906, "EMERGENCIA").await;
    assert!(text(&alert).contains(&outcome.task.code));
    let pin = rig.tg.wait_for("the place", |c| c.method == "sendVenue" && c.body["chat_id"] == json!(9906)).await;
    assert!((pin.body["latitude"].as_f64().unwrap() - -34.7001).abs() < 1e-4);
    // A named pin: the emergency's code, and a place in words rather than coordinates.
    assert_eq!(pin.body["title"], json!(format!("🚨 Emergencia {}", outcome.task.code)));
    assert_eq!(pin.body["address"], "Lugar de la emergencia");
}

// ----------------------------------------------------------------------------- broadcasts

async fn broadcast_row(app: &TestApp, id: i64) -> gad_core::entities::broadcasts::Model {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = gad_core::entities::broadcasts::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
        if row.delivery_status != contract::domain::DeliveryStatus::Pending {
            return row;
        }
        assert!(Instant::now() < deadline, "broadcast {id} never left pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_are_delivered_and_failures_recorded() {
    use app::api::broadcasts::*;
    use contract::domain::{BroadcastKind, DeliveryStatus};
    let rig = rig(Backend::Sqlite).await;
    rig.tg.state.missing_chats.lock().unwrap().push(-100_222);
    let admin = admin(&rig.app).await;
    let supervisor = supervisor_actor(&rig.app).await;
    let officer =
        actor_for_user(&rig.app.state, user_id(&rig.app, "efectivo1@gad.local").await, Channel::Web).await.unwrap();

    // Groups are the admins'.
    let refused = call_as(&rig.app.state, Some(supervisor.clone()), || {
        create_telegram_group("operaciones".into(), -100_111, None)
    })
    .await
    .unwrap_err();
    assert_eq!(refused.code, contract::ErrorCode::Forbidden);
    let ops = call_as(&rig.app.state, Some(admin.clone()), || {
        create_telegram_group("Operaciones".into(), -100_111, Some("Grupo de operaciones".into()))
    })
    .await
    .unwrap();
    assert_eq!(ops.name, "Operaciones", "a group's name keeps its case");
    let twin =
        call_as(&rig.app.state, Some(admin.clone()), || create_telegram_group("OPERACIONES".into(), -100_999, None))
            .await
            .unwrap_err();
    assert_eq!(twin.code, contract::ErrorCode::Conflict, "names differing only in case are one group");
    let gone = call_as(&rig.app.state, Some(admin.clone()), || create_telegram_group("antiguo".into(), -100_222, None))
        .await
        .unwrap();
    let groups = call_as(&rig.app.state, Some(supervisor.clone()), list_telegram_groups).await.unwrap();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec!["antiguo", "Operaciones"]);

    // Officers may not broadcast; empty text is refused.
    let no = call_as(&rig.app.state, Some(officer), || create_broadcast(ops.id, BroadcastKind::Normal, "hola".into()))
        .await
        .unwrap_err();
    assert_eq!(no.code, contract::ErrorCode::Forbidden);
    let empty = call_as(&rig.app.state, Some(supervisor.clone()), || {
        create_broadcast(ops.id, BroadcastKind::Normal, "   ".into())
    })
    .await
    .unwrap_err();
    assert_eq!(empty.code, contract::ErrorCode::Validation);

    let templates = call_as(&rig.app.state, Some(supervisor.clone()), broadcast_templates).await.unwrap();
    let red = templates.iter().find(|t| t.key == "codigo_rojo").unwrap().clone();
    let sent =
        call_as(&rig.app.state, Some(supervisor.clone()), || create_broadcast(ops.id, red.kind, red.text.clone()))
            .await
            .unwrap();
    assert_eq!(sent.delivery_status, DeliveryStatus::Pending);
    let failed = call_as(&rig.app.state, Some(supervisor.clone()), || {
        create_broadcast(gone.id, BroadcastKind::Info, "Mensaje a un grupo que ya no existe".into())
    })
    .await
    .unwrap();

    let delivered = broadcast_row(&rig.app, sent.id).await;
    assert_eq!(delivered.delivery_status, DeliveryStatus::Delivered);
    assert!(delivered.sent_at.is_some());
    assert_eq!(delivered.delivery_error, None);
    let message = rig.tg.sent(-100_111, "CÓDIGO ROJO").await;
    assert!(text(&message).starts_with("🚨 URGENTE — Laura Gómez"), "{}", text(&message));

    let refused = broadcast_row(&rig.app, failed.id).await;
    assert_eq!(refused.delivery_status, DeliveryStatus::Failed);
    let error = refused.delivery_error.unwrap();
    assert!(error.contains("chat not found"), "{error}");
    assert!(!error.contains("TEST-TOKEN"), "{error}");

    let history = call_as(&rig.app.state, Some(supervisor), || list_broadcasts(None, None, None)).await.unwrap();
    assert_eq!(
        history.items.iter().map(|b| (b.id, b.delivery_status)).collect::<Vec<_>>(),
        vec![(failed.id, DeliveryStatus::Failed), (sent.id, DeliveryStatus::Delivered)]
    );
    assert_eq!(history.items[1].group_name, "Operaciones");
    assert_eq!(history.items[1].sender.as_deref(), Some("Laura Gómez"));

    call_as(&rig.app.state, Some(admin.clone()), || delete_telegram_group(gone.id)).await.unwrap();
    let groups = call_as(&rig.app.state, Some(admin), list_telegram_groups).await.unwrap();
    assert_eq!(groups.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_missed_while_the_bot_was_down_are_swept() {
    use app::api::broadcasts::*;
    let tg = FakeTelegram::start().await;
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    let admin = admin(&app).await;
    let group = call_as(&app.state, Some(admin.clone()), || create_telegram_group("general".into(), -100_333, None))
        .await
        .unwrap();
    let queued = call_as(&app.state, Some(admin), || {
        create_broadcast(group.id, contract::domain::BroadcastKind::Alert, "Corte de energía en la base".into())
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tg.calls().is_empty(), "no bot is running yet");
    tokio::spawn(Bot::new(app.state.clone()).unwrap().run_long_poll(std::future::pending()));
    let row = broadcast_row(&app, queued.id).await;
    assert_eq!(row.delivery_status, contract::domain::DeliveryStatus::Delivered);
    let message = tg.sent(-100_333, "Corte de energía").await;
    assert!(text(&message).starts_with("⚠️ ALERTA"));
}

/// A broadcast sent whose outcome the database will not take (a fault while recording) is
/// recorded once the database takes it again, and never sent a second time meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_sent_but_not_recorded_is_not_sent_again() {
    use app::api::broadcasts::*;
    use contract::domain::{BroadcastKind, DeliveryStatus};
    use sea_orm::ConnectionTrait;
    let rig = rig(Backend::Sqlite).await;
    let admin = admin(&rig.app).await;
    let group =
        call_as(&rig.app.state, Some(admin.clone()), || create_telegram_group("guardia".into(), -100_444, None))
            .await
            .unwrap();
    let broadcast = |text: &'static str| {
        let (state, admin) = (rig.app.state.clone(), admin.clone());
        async move {
            call_as(&state, Some(admin), || create_broadcast(group.id, BroadcastKind::Info, text.into())).await.unwrap()
        }
    };
    let sends =
        |needle: &str| rig.tg.calls().iter().filter(|c| c.method == "sendMessage" && text(c).contains(needle)).count();
    // Recording a delivery is an UPDATE of the row: the database refuses every one for now.
    rig.app
        .state
        .db
        .execute_unprepared(
            "CREATE TRIGGER refuse_records BEFORE UPDATE ON broadcasts BEGIN SELECT RAISE(ABORT, 'no record'); END",
        )
        .await
        .unwrap();
    let first = broadcast("Primer aviso").await;
    rig.tg.sent(-100_444, "Primer aviso").await;
    // The next broadcast wakes the deliverer: the first one is still pending in the database.
    let second = broadcast("Segundo aviso").await;
    rig.tg.sent(-100_444, "Segundo aviso").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sends("Primer aviso"), 1, "sent again while its delivery could not be recorded");

    rig.app.state.db.execute_unprepared("DROP TRIGGER refuse_records").await.unwrap();
    let third = broadcast("Tercer aviso").await;
    for id in [first.id, second.id, third.id] {
        assert_eq!(broadcast_row(&rig.app, id).await.delivery_status, DeliveryStatus::Delivered);
    }
    assert_eq!((sends("Primer aviso"), sends("Segundo aviso"), sends("Tercer aviso")), (1, 1, 1));
}

// ----------------------------------------------------------------------------- robustness

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_updates_are_answered_politely_and_counted() {
    let rig = rig(Backend::Sqlite).await;
    link(&rig, "efectivo3@gad.local", 9953).await;
    let mut sticker = text_update(9953, "x");
    sticker["message"].as_object_mut().unwrap().remove("text");
    sticker["message"]["sticker"] = json!({
        "file_id": "CAAC", "file_unique_id": "AgAD", "type": "regular",
        "width": 512, "height": 512, "is_animated": false, "is_video": false
    });
    say(&rig, 9953, sticker, "No entendí el mensaje").await;

    let now = chrono::Utc::now().timestamp();
    rig.tg.push(json!({"edited_message": {
        "message_id": 9, "date": now - 5, "edit_date": now,
        "chat": chat_json(9953), "from": user_json(9953), "text": "/tareas corregido",
    }}));
    rig.tg.sent(9953, "Los mensajes editados no se procesan").await;

    let answer = press(&rig, 9953, &rig.tg.messages_to(9953)[0], "zz:9:9").await;
    assert_eq!(answer.body["text"], "Este botón ya no es válido. Envíe /tareas para ver sus tareas.");
    rig.tg.push(json!({"poll": {"id": "1", "question": "¿?", "options": [], "total_voter_count": 0,
        "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}}));
    rig.tg.push(json!({"message": {"garbage": true}}));
    say(&rig, 9953, text_update(9953, "/ayuda"), "/historial").await;

    let metrics = reqwest::get(rig.app.url("/metrics")).await.unwrap().text().await.unwrap();
    for needle in [
        "gad_bot_updates_total{kind=\"callback\"}",
        "gad_bot_updates_total{kind=\"command\"}",
        "gad_bot_updates_total{kind=\"message\"}",
        "gad_bot_updates_total{kind=\"other\"}",
        "gad_bot_update_errors_total",
        "gad_bot_messages_sent_total{result=\"ok\"}",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from /metrics");
    }
}

// ------------------------------------------------------------------------------ benchmark

/// Updates handled per second and time from update received (handed to the dispatcher) to
/// reply sent (the fake Bot API receives it), for a mix of commands and callbacks across 7
/// linked chats. Run with
/// `cargo test --release -p server --test bot -- --ignored --nocapture bench_`; the figures
/// go to docs/PERFORMANCE.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release and read the printed figures"]
async fn bench_updates_per_second_and_reply_latency() {
    let tg = FakeTelegram::start().await;
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    let mut chats = Vec::new();
    for (i, email) in ["supervisor@gad.local"]
        .into_iter()
        .map(str::to_owned)
        .chain((1..=6).map(|n| format!("efectivo{n}@gad.local")))
        .enumerate()
    {
        let chat = 20_000 + i as i64;
        let code = link_code(&app, &email).await;
        gad_core::services::users::redeem_link_code(&app.state, &code, chat).await.unwrap();
        chats.push(chat);
    }
    let dispatcher = gad_server::bot::Dispatcher::new(Bot::new(app.state.clone()).unwrap());

    // One reply each: a sendMessage for a command, an answerCallbackQuery for a button.
    let update = |i: usize| -> (i64, Value, Option<String>) {
        let chat = chats[i % chats.len()];
        match (i / chats.len()) % 6 {
            0 => (chat, text_update(chat, "/ayuda"), None),
            1 => (chat, text_update(chat, "/start"), None),
            2 => (chat, text_update(chat, "/historial activas"), None),
            3 => (chat, text_update(chat, "/estadisticas"), None),
            4 => {
                let id = format!("bench-{i}");
                (chat, callback_update(chat, &id, 1, "h:t:0"), Some(id))
            }
            _ => {
                let id = format!("bench-{i}");
                (chat, callback_update(chat, &id, 1, "zz"), Some(id))
            }
        }
    };
    let send = |i: usize| {
        let (chat, mut raw, callback) = update(i);
        raw["update_id"] = json!(i as i64 + 1_000_000);
        let at = Instant::now();
        dispatcher.dispatch_raw(raw);
        (chat, callback, at)
    };
    // The reply times: per chat, the k-th sendMessage answers its k-th command.
    let latencies = |sent: &[(i64, Option<String>, Instant)], calls: &[Call]| -> Vec<Duration> {
        let mut per_chat: HashMap<i64, Vec<Instant>> = HashMap::new();
        let mut answers: HashMap<String, Instant> = HashMap::new();
        for c in calls {
            match c.method.as_str() {
                "sendMessage" => per_chat.entry(c.body["chat_id"].as_i64().unwrap()).or_default().push(c.at),
                "answerCallbackQuery" => {
                    answers.insert(c.body["callback_query_id"].as_str().unwrap().to_owned(), c.at);
                }
                _ => {}
            }
        }
        let mut seen: HashMap<i64, usize> = HashMap::new();
        let mut out = Vec::new();
        for (chat, callback, at) in sent {
            let replied = match callback {
                Some(id) => answers[id],
                None => {
                    let k = seen.entry(*chat).or_default();
                    *k += 1;
                    per_chat[chat][*k - 1]
                }
            };
            out.push(replied.duration_since(*at));
        }
        out.sort();
        out
    };
    let wait_all = |expected: usize| {
        let tg = tg.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            while tg.calls().iter().filter(|c| c.method == "sendMessage" || c.method == "answerCallbackQuery").count()
                < expected
            {
                assert!(Instant::now() < deadline, "replies missing");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    let pct = |d: &[Duration], p: f64| d[((d.len() as f64 * p).ceil() as usize).clamp(1, d.len()) - 1];

    // Warm-up.
    let warm: Vec<_> = (0..84).map(send).collect();
    wait_all(warm.len()).await;
    let base = tg.calls().len();

    // 1. Throughput: a burst of updates, all at once.
    const BURST: usize = 4200;
    let started = Instant::now();
    let burst: Vec<_> = (0..BURST).map(send).collect();
    wait_all(warm.len() + BURST).await;
    let elapsed = started.elapsed();
    let burst_lat = latencies(&burst, &tg.calls()[base..]);
    println!(
        "burst: {BURST} updates in {:.3} s = {:.0} updates/s; reply latency under the burst p50 {:?} p99 {:?}",
        elapsed.as_secs_f64(),
        BURST as f64 / elapsed.as_secs_f64(),
        pct(&burst_lat, 0.50),
        pct(&burst_lat, 0.99)
    );

    // 2. Latency at a steady 500 updates/s for 6 s.
    let base = tg.calls().len();
    let mut paced = Vec::new();
    let tick = Duration::from_millis(2);
    let start = Instant::now();
    for i in 0..3000 {
        let due = start + tick * i as u32;
        tokio::time::sleep_until(due.into()).await;
        paced.push(send(i));
    }
    wait_all(warm.len() + BURST + paced.len()).await;
    let lat = latencies(&paced, &tg.calls()[base..]);
    println!(
        "steady 500 updates/s: p50 {:?} p90 {:?} p99 {:?} max {:?}",
        pct(&lat, 0.50),
        pct(&lat, 0.90),
        pct(&lat, 0.99),
        lat.last().unwrap()
    );
}

/// `docker stop` sends SIGTERM and kills what is still running after the grace period: the
/// polling bot must end at once and cleanly (it ended only on Ctrl-C).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_polling_bot_stops_on_sigterm() {
    let tg = FakeTelegram::start().await;
    let database_url = common::fresh_database(Backend::Sqlite).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gad"))
        .arg("bot")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("DATABASE_URL", &database_url)
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &tg.url)
        .env("GAD_2FA_REQUIRED_ROLES", "none")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Polling (twice, so the signal handler is installed well before).
    let deadline = Instant::now() + Duration::from_secs(30);
    while tg.state.polls.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the bot never polled");
        assert!(child.try_wait().unwrap().is_none(), "the bot exited before polling");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gad bot still running 10 s after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "gad bot did not end cleanly on SIGTERM: {status}");
}

/// From Monday 08:00 (local) last week's feedback digest reaches every linked supervisor and
/// admin, once: not before 08:00, never twice (whichever replica asks), never an officer.
async fn the_weekly_feedback_digest_reaches_reviewers_once(backend: Backend) {
    use chrono::TimeZone;
    use sea_orm::{ActiveModelTrait, Set};
    let rig = rig(backend).await;
    link(&rig, "supervisor@gad.local", 9101).await;
    link(&rig, "admin@gad.local", 9102).await;
    link(&rig, "efectivo1@gad.local", 9103).await;
    let tz = rig.app.state.config.timezone;
    let at = |d: u32, h: u32| tz.with_ymd_and_hms(2025, 3, d, h, 0, 0).unwrap().with_timezone(&chrono::Utc);
    for (text, day) in [("El mapa es lento y tiene un error", 4), ("Excelente el nuevo turno", 5)] {
        let (score, label) = gad_core::services::feedback::sentiment(text);
        feedback::ActiveModel {
            channel: Set(Channel::Telegram),
            telegram_user_id: Set(Some(9103)),
            text: Set(text.into()),
            category: Set(Some("sistema".into())),
            sentiment_score: Set(Some(score)),
            sentiment_label: Set(Some(label.into())),
            status: Set(contract::domain::FeedbackStatus::New),
            created_at: Set(at(day, 10)),
            updated_at: Set(at(day, 10)),
            ..Default::default()
        }
        .insert(&rig.app.state.db)
        .await
        .unwrap();
    }
    let bot = Bot::new(rig.app.state.clone()).unwrap();
    let weekly = gad_server::bot::jobs::weekly_digest;
    // Monday 2025-03-10: the week of the 3rd is due from 08:00.
    assert_eq!(weekly(&bot, at(10, 7)).await.unwrap(), None, "not before 08:00");
    assert_eq!(weekly(&bot, at(10, 9)).await.unwrap(), Some(2));
    for chat in [9101, 9102] {
        let call = rig.tg.sent(chat, "Resumen semanal de comentarios (03/03 al 09/03)").await;
        let text = text(&call);
        assert!(text.contains("Recibidos: 2 (la semana anterior: 0)"), "{text}");
        assert!(text.contains("Por categoría: sistema 2"), "{text}");
        assert!(text.contains("03/03: 1 / 0 / 1"), "{text}");
        assert!(text.contains("• «El mapa es lento y tiene un error» (sistema)"), "{text}");
    }
    // Asked again (this process later, or another replica): already sent.
    assert_eq!(weekly(&bot, at(10, 10)).await.unwrap(), None);
    assert_eq!(weekly(&bot, at(12, 10)).await.unwrap(), None);
    let digests = |chat: i64| rig.tg.messages_to(chat).iter().filter(|c| text(c).contains("(03/03 al 09/03)")).count();
    assert_eq!((digests(9101), digests(9102), digests(9103)), (1, 1, 0));
}
on_both_backends!(the_weekly_feedback_digest_reaches_reviewers_once);

// ------------------------------------------------------------------------ shifts and leave

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turnos_lists_my_shifts_and_licencia_requests_leave() {
    use contract::domain::{LeaveKind, LeaveStatus};
    use gad_core::entities::{leaves, officers};
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo2@gad.local", 7320).await;
    let officer_id = me.officer_id.unwrap();

    // The demo's day shift, every day: seven of them in the next seven days (or six and the
    // one running now).
    let reply = say(&rig, 7320, text_update(7320, "/turnos"), "Sus turnos de los próximos 7 días").await;
    let lines = text(&reply).lines().filter(|l| l.starts_with("• ")).count();
    assert!((7..=8).contains(&lines), "{}", text(&reply));

    say(&rig, 7320, text_update(7320, "/licencia"), "Uso: /licencia").await;
    say(&rig, 7320, text_update(7320, "/licencia feriado 01/02/2099 02/02/2099"), "Tipos: vacaciones").await;
    say(
        &rig,
        7320,
        text_update(7320, "/licencia vacaciones 10/01/2099 12/01/2099 Viaje familiar"),
        "Licencia solicitada: Vacaciones del 10/01/2099 al 12/01/2099 (solicitada)",
    )
    .await;
    let rows =
        leaves::Entity::find().filter(leaves::Column::OfficerId.eq(officer_id)).all(&rig.app.state.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].kind, rows[0].status), (LeaveKind::Vacation, LeaveStatus::Requested));
    assert_eq!(rows[0].reason.as_deref(), Some("Viaje familiar"));
    // Overlapping leave and impossible days are refused in Spanish; nothing is stored.
    say(&rig, 7320, text_update(7320, "/licencia franco 11/01/2099 13/01/2099"), "Se superpone con otra licencia")
        .await;
    say(&rig, 7320, text_update(7320, "/licencia franco 31/02/2099 01/03/2099"), "Fecha inválida").await;
    say(&rig, 7320, text_update(7320, "/licencia franco 05/03/2099 01/03/2099"), "El último día no puede ser anterior")
        .await;
    let count = leaves::Entity::find().filter(leaves::Column::OfficerId.eq(officer_id)).all(&rig.app.state.db).await;
    assert_eq!(count.unwrap().len(), 1);
    // The request shows in /turnos.
    say(&rig, 7320, text_update(7320, "/turnos"), "Vacaciones del 10/01/2099 al 12/01/2099 — solicitada").await;

    // A user without an officer profile is told so.
    let _supervisor = link(&rig, "supervisor@gad.local", 7321).await;
    say(
        &rig,
        7321,
        text_update(7321, "/licencia franco 01/02/2099 02/02/2099"),
        "no está vinculado a un perfil de efectivo",
    )
    .await;
    let _ = officers::Entity::find_by_id(officer_id).one(&rig.app.state.db).await.unwrap().unwrap();
}

// --------------------------------------------------------------------------- escalations

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_task_escalates_to_its_supervisor_then_every_supervisor_then_the_admins() {
    use common::{DEMO_PASSWORD, Rest};
    let rig = rig(Backend::Sqlite).await;
    link(&rig, "supervisor@gad.local", 7340).await;
    link(&rig, "admin@gad.local", 7341).await;
    let sup = Rest::sign_in(&rig.app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    // Critical, scheduled an hour ago, never started: its start target (15 min) is 45 min late.
    let start = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, task) = sup
        .post("/tasks", &json!({ "title": "Corte de ruta", "task_type": "intervention", "priority": "critical", "scheduled_start": start }))
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{task}");
    let code = task["code"].as_str().unwrap().to_owned();
    // This pass, or the server's own escalator if it came first: each step is taken once.
    gad_core::services::sla::escalate(&rig.app.state, chrono::Utc::now()).await.unwrap();
    let first = format!("⏰ Tarea vencida: {code} (prioridad crítica). Objetivo incumplido: iniciar. Aviso 1 de 3.");
    rig.tg.sent(7340, &first).await;
    rig.tg.sent(7340, "Aviso 2 de 3").await;
    rig.tg.sent(7341, "Aviso 3 de 3").await;
    // Each once, to whom its step names.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to = |chat: i64, needle: &str| rig.tg.messages_to(chat).iter().filter(|c| text(c).contains(needle)).count();
    assert_eq!((to(7340, "Aviso 1 de 3"), to(7340, "Aviso 2 de 3"), to(7340, "Aviso 3 de 3")), (1, 1, 0));
    assert_eq!((to(7341, "Aviso 1 de 3"), to(7341, "Aviso 2 de 3"), to(7341, "Aviso 3 de 3")), (0, 0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recibido_confirms_receipt_of_an_assigned_task() {
    use common::{DEMO_PASSWORD, Rest};
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo2@gad.local", 7350).await;
    let sup = Rest::sign_in(&rig.app, "supervisor@gad.local", DEMO_PASSWORD, false).await;
    let (status, task) = sup
        .post(
            "/tasks",
            &json!({ "title": "Control de acceso", "task_type": "surveillance", "priority": "urgent",
                "officer_ids": [me.officer_id.unwrap()], "allow_overlap": true }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{task}");
    let id = task["id"].as_i64().unwrap();
    // The assignment's card offers "Recibido" first.
    let card = rig.tg.sent(7350, "Control de acceso").await;
    assert_eq!(buttons(&card).first().map(String::as_str), Some(format!("a:{id}").as_str()));
    let answer = press(&rig, 7350, &card, &format!("a:{id}")).await;
    assert_eq!(answer.body["text"], "Recepción confirmada.");
    let detail = call_as(&rig.app.state, Some(me.clone()), || task_detail(id)).await.unwrap();
    assert!(detail.acknowledged_at.is_some() && !detail.can_acknowledge);
    // Pressed again (an old card): nothing changes, no error.
    let again = press(&rig, 7350, &card, &format!("a:{id}")).await;
    assert_eq!(again.body["text"], "Recepción confirmada.");
    let after = call_as(&rig.app.state, Some(me), || task_detail(id)).await.unwrap();
    assert_eq!(after.acknowledged_at, detail.acknowledged_at);
}

/// A step the bot takes once (creating the wizard's task) clears the chat's state first, and
/// of clears racing — a double tap handled by two replicas — exactly one finds it: in the
/// database (PostgreSQL) and in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_clears_of_a_conversation_find_it_once() {
    use gad_core::services::conversations;
    let redis = common::redis_url();
    for app in
        [TestApp::spawn(Backend::Postgres).await, TestApp::spawn_with(Backend::Sqlite, &[("REDIS_URL", &redis)]).await]
    {
        let chat = 9_700_000 + (uuid::Uuid::new_v4().as_u128() % 100_000) as i64;
        for round in 0..5 {
            conversations::save(&app.state, chat, &json!({"kind": "emergency_location"})).await.unwrap();
            let clears = (0..6).map(|_| {
                let state = app.state.clone();
                tokio::spawn(async move { conversations::clear(&state, chat).await.unwrap() })
            });
            let found = futures::future::join_all(clears).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
            assert_eq!(found, 1, "round {round}: the state was found by {found} clears");
        }
    }
}
