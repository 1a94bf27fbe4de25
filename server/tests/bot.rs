//! The Telegram bot against a fake Bot API: a real axum server on 127.0.0.1:0 that serves
//! queued updates through `getUpdates` and records every other call with its JSON body.
//! Tests feed real update JSON and assert on what the bot sent and on the application state.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::officers::officer_last_position;
use app::api::stats::task_stats;
use app::api::tasks::{TaskScope, list_tasks, task_detail};
use app::domain::{Channel, TaskStatus};
use app::server::actor::Actor;
use app::server::context::RequestMeta;
use app::server::entities::{feedback, telegram_links, users};
use app::server::harness::call_as;
use app::server::services::auth::{actor_for_telegram, actor_for_user};
use app::server::services::users::create_link_code;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::{Backend, TestApp};
use gad_server::bot::Bot;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const TOKEN: &str = "123456:TEST-TOKEN";

// ------------------------------------------------------------------------- the fake Bot API

#[derive(Clone, Debug)]
struct Call {
    method: String,
    body: Value,
    /// The `result` the fake answered with (for `sendMessage`, the message with its id).
    result: Value,
    at: Instant,
}

#[derive(Default)]
struct FakeState {
    updates: Mutex<VecDeque<Value>>,
    calls: Mutex<Vec<Call>>,
    /// Method → how many more times to answer 429 with `retry_after: 1`.
    throttle: Mutex<HashMap<String, u32>>,
    next_message_id: AtomicI64,
    next_update_id: AtomicI64,
}

#[derive(Clone)]
struct FakeTelegram {
    url: String,
    state: Arc<FakeState>,
}

impl FakeTelegram {
    async fn start() -> Self {
        let state = Arc::new(FakeState {
            next_message_id: AtomicI64::new(1000),
            next_update_id: AtomicI64::new(1),
            ..Default::default()
        });
        let app = axum::Router::new().route("/{bot}/{method}", post(fake_method)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state }
    }

    /// Queues an update; `update_id` is filled in.
    fn push(&self, mut update: Value) {
        let id = self.state.next_update_id.fetch_add(1, Ordering::SeqCst);
        if update.get("update_id").is_none() {
            update["update_id"] = json!(id);
        }
        self.state.updates.lock().unwrap().push_back(update);
    }

    fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    fn throttle(&self, method: &str, times: u32) {
        self.state.throttle.lock().unwrap().insert(method.into(), times);
    }

    /// Waits (up to 10 s) for a call matching `pred`.
    async fn wait_for(&self, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
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
    async fn sent(&self, chat: i64, needle: &str) -> Call {
        self.wait_for(&format!("a message to {chat} containing {needle:?}"), |c| {
            c.method == "sendMessage" && c.body["chat_id"] == json!(chat) && text(c).contains(needle)
        })
        .await
    }

    fn messages_to(&self, chat: i64) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method == "sendMessage" && c.body["chat_id"] == json!(chat)).collect()
    }
}

fn text(c: &Call) -> &str {
    c.body["text"].as_str().unwrap_or("")
}

/// Every callback data of the inline keyboard in a call's body.
fn buttons(c: &Call) -> Vec<String> {
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
    if method == "getUpdates" {
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
    let result = if throttled {
        Value::Null
    } else {
        match method.as_str() {
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

fn text_update(user: i64, text: &str) -> Value {
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

fn callback_update(user: i64, id: &str, message_id: i64, data: &str) -> Value {
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
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn_with(backend, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
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
    let meta = RequestMeta::internal(Channel::Web);
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
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = rig.tg.messages_to(6001);
    assert_eq!(sent.len(), 2, "only the explanation, twice: {sent:#?}");
    assert!(sent.iter().all(|c| text(c).contains("no está vinculada")));
    assert!(rig.tg.calls().iter().all(|c| c.method != "editMessageText"));
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
        let expected: Vec<String> = detail
            .allowed_transitions
            .iter()
            .filter_map(|to| match to {
                TaskStatus::InProgress | TaskStatus::Paused => Some(format!("t:{}:{}", task.id, to.as_str())),
                TaskStatus::Completed => Some(format!("f:{}", task.id)),
                _ => None,
            })
            .chain([format!("d:{}", task.id)])
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
    assert_eq!(buttons(&confirm), vec![format!("t:{id}:completed"), format!("d:{id}")]);
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
    assert_eq!(pos.source, app::domain::PositionSource::Telegram);

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
    let emergency = all.iter().find(|t| t.task_type == app::domain::TaskType::Emergency).unwrap();
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
async fn webhook_requires_the_secret_path_and_header() {
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url), ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)],
    )
    .await;
    let http = reqwest::Client::new();
    let hook = app.url(&format!("/telegram/webhook/{WEBHOOK_SECRET}"));
    let update = json!({"update_id": 1, "message": text_update(8001, "/ayuda")["message"]});

    let missing = http.post(&hook).json(&update).send().await.unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::UNAUTHORIZED);
    let wrong = http.post(&hook).header("X-Telegram-Bot-Api-Secret-Token", "nope").json(&update).send().await.unwrap();
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);
    let elsewhere = http
        .post(app.url("/telegram/webhook/guessed-path-0123456789"))
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_webhook_route_without_its_secret() {
    let tg = FakeTelegram::start().await;
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    let res = reqwest::Client::new()
        .post(app.url("/telegram/webhook/anything-at-all-0123"))
        .json(&json!({"update_id": 1}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(tg.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_webhook_registers_the_secret_url() {
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
    assert!(!shown.contains(WEBHOOK_SECRET));
    let call = tg.wait_for("setWebhook", |c| c.method == "setWebhook").await;
    let form = call.body["_raw"].as_str().unwrap();
    let field = |name: &str| {
        let start = form.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no {name} in {form}"));
        form[start..].split("\r\n\r\n").nth(1).unwrap().split("\r\n").next().unwrap().to_owned()
    };
    assert_eq!(field("url"), format!("https://gad.example.org/telegram/webhook/{WEBHOOK_SECRET}"));
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
    assert_eq!(buttons(&prompt), vec![format!("t:{}:completed", task.id), format!("d:{}", task.id)]);

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
