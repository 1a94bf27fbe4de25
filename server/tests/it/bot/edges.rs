//! The bot's less travelled paths: every menu button, buttons on tasks the person may not
//! act on (or forged), buttons outside a private chat, the wizard's refusals, a conversation
//! store or a database that fails, a notifier that must wait or step aside, and a Bot API
//! that answers errors, garbage or nothing at all.

use super::*;

use app::api::broadcasts::{create_broadcast, create_telegram_group};
use app::api::tasks::{create_task, delete_task, transition_task, unassign_officer};
use contract::domain::{BroadcastKind, DeliveryStatus, TaskType};
use contract::tasks::NewTask;
use gad_core::entities::event_consumers;
use sea_orm::ConnectionTrait;

const STALE_BUTTON: &str = "Este botón ya no es válido. Envíe /tareas para ver sus tareas.";
const WIZARD_STALE: &str = "Ese botón corresponde a otro paso. Siga con el último mensaje o envíe /cancelar.";
const NOT_FOUND: &str = "⚠️ Lo que busca no existe: puede haber sido eliminado o la dirección es incorrecta.";
const CANNOT_FINISH: &str = "La tarea no puede finalizarse: debe estar en curso o pausada.";
const INTERNAL: &str = "Ocurrió un error interno";

/// Presses `data` and checks that it is answered with an alert; returns the alert's text.
async fn alert(rig: &Rig, chat: i64, message: &Call, data: &str) -> String {
    let answer = press(rig, chat, message, data).await;
    assert_eq!(answer.body["show_alert"], true, "{data}: {answer:?}");
    answer.body["text"].as_str().unwrap_or_default().to_owned()
}

fn edits(tg: &FakeTelegram) -> Vec<Call> {
    tg.calls().into_iter().filter(|c| c.method == "editMessageText").collect()
}

async fn stored_conversation(app: &TestApp, chat: i64) -> Option<Value> {
    gad_core::services::conversations::load(&app.state, chat).await.unwrap()
}

async fn officer_actor(app: &TestApp, email: &str) -> Actor {
    actor_for_user(&app.state, user_id(app, email).await, Channel::Web).await.unwrap()
}

async fn new_task(app: &TestApp, title: &str, officer_ids: Vec<i64>) -> contract::tasks::TaskDetail {
    let mut task = NewTask::new(title, TaskType::Patrol);
    task.officer_ids = officer_ids;
    call_as(&app.state, Some(supervisor_actor(app).await), || create_task(task)).await.unwrap()
}

// ------------------------------------------------------------------------ menu and commands

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_menu_button_opens_its_command() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo1@gad.local", 30_001).await;
    let chat = 30_001;
    let open = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine))
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.status.is_open())
        .count();
    let menu = say(&rig, chat, text_update(chat, "/menu"), "menú principal").await;

    let header = format!("Sus tareas activas: {open}.");
    for (data, needle) in [
        ("m:ayuda", "Comandos disponibles"),
        ("m:tareas", header.as_str()),
        ("m:estadisticas", "Estadísticas de los últimos 30 días"),
        ("m:historial", "🗂 Historial (todas)"),
        ("m:crear", "Crear tareas corresponde a supervisores y administradores."),
        ("m:emergencia", "envíe la ubicación del hecho"),
    ] {
        let before = rig.tg.messages_to(chat).len();
        let answer = press(&rig, chat, &menu, data).await;
        assert!(answer.body.get("text").is_none(), "{data} is answered silently: {answer:?}");
        wait_new(&rig.tg, chat, before, needle).await;
    }
    // The emergency button left the chat waiting for a location.
    assert_eq!(stored_conversation(&rig.app, chat).await, Some(json!({"kind": "emergency_location"})));
    say(&rig, chat, text_update(chat, "/cancelar"), "Operación cancelada").await;
    assert_eq!(stored_conversation(&rig.app, chat).await, None);

    // A menu item that does not exist (an old client, or forged).
    assert_eq!(alert(&rig, chat, &menu, "m:radio").await, STALE_BUTTON);

    // Aliases and unknown commands.
    say(&rig, chat, text_update(chat, "/help"), "Comandos disponibles").await;
    say(&rig, chat, text_update(chat, "/Tareas@gad_bot"), &header).await;
    say(&rig, chat, text_update(chat, "/radio"), "Comando no reconocido. Envíe /ayuda").await;
    let active = say(&rig, chat, text_update(chat, "/historial activas"), "🗂 Historial (activas)").await;
    assert!(text(&active).contains(&format!("{open} tareas")), "{}", text(&active));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_without_tasks_or_officer_profile_gets_plain_answers() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "admin@gad.local", 30_100).await;
    let chat = 30_100;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    assert!(mine.is_empty(), "the seeded admin is in charge of no task: {mine:?}");
    say(&rig, chat, text_update(chat, "/tareas"), "No tiene tareas activas.").await;
    say(&rig, chat, text_update(chat, "/historial"), "🗂 Historial (todas): no hay tareas.").await;
    say(&rig, chat, text_update(chat, "/finalizar"), "No tiene tareas iniciadas para finalizar.").await;
    // The admin has no officer profile: there is no position to update.
    let refused =
        say(&rig, chat, location_update(chat, -34.60, -58.38), "no está vinculado a un perfil de efectivo").await;
    assert!(text(&refused).starts_with("⚠️"), "{}", text(&refused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tareas_shows_at_most_ten_cards() {
    let rig = rig(Backend::Sqlite).await;
    let officer = officer_actor(&rig.app, "efectivo3@gad.local").await;
    let officer_id = officer.officer_id.unwrap();
    let already = call_as(&rig.app.state, Some(officer.clone()), || list_tasks(TaskScope::Mine))
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.status.is_open())
        .count();
    for i in already..11 {
        new_task(&rig.app, &format!("Recorrida adicional {i}"), vec![officer_id]).await;
    }
    link(&rig, "efectivo3@gad.local", 30_103).await;
    let chat = 30_103;
    let before = rig.tg.messages_to(chat).len();
    say(&rig, chat, text_update(chat, "/tareas"), "Sus tareas activas: 11 (se muestran las 10 próximas).").await;
    // The cards follow the header; notifications of the new assignments may be interleaved
    // (they say so first).
    let cards = || rig.tg.messages_to(chat).iter().skip(before).filter(|c| text(c).starts_with("📋")).count();
    let deadline = Instant::now() + Duration::from_secs(10);
    while cards() < 10 {
        assert!(Instant::now() < deadline, "only {} cards", cards());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cards(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizar_lists_the_codes_when_several_tasks_are_started() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo1@gad.local", 30_201).await;
    let chat = 30_201;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let scheduled = mine.iter().find(|t| t.status == TaskStatus::Scheduled).unwrap().clone();
    let running = mine.iter().find(|t| t.status == TaskStatus::InProgress).unwrap().clone();
    let id = scheduled.id;
    call_as(&rig.app.state, Some(me.clone()), || transition_task(id, TaskStatus::InProgress, None)).await.unwrap();
    let which = say(&rig, chat, text_update(chat, "/finalizar"), "Tiene varias tareas iniciadas").await;
    for code in [&scheduled.code, &running.code] {
        assert!(text(&which).contains(code.as_str()), "{} missing from {}", code, text(&which));
    }
    assert!(buttons(&which).is_empty());
    // Nothing was finished.
    let after = call_as(&rig.app.state, Some(me), || list_tasks(TaskScope::Mine)).await.unwrap();
    assert_eq!(after.iter().filter(|t| t.status.is_active()).count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_locations_and_emergencies_without_anybody_near() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo4@gad.local", 30_304).await;
    let chat = 30_304;
    // The first message of a live location says it will keep updating.
    let mut live = location_update(chat, -34.6010, -58.3810);
    live["message"]["location"]["live_period"] = json!(900);
    say(&rig, chat, live, "Ubicación en tiempo real recibida").await;
    let pos = call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((pos.lat, pos.lon), (-34.601, -58.381));

    // An emergency far from every officer: recorded, nobody dispatched, and said so.
    say(&rig, chat, text_update(chat, "/emergencia"), "envíe la ubicación").await;
    let reply = say(&rig, chat, location_update(chat, -24.7859, -65.4117), "Emergencia registrada").await;
    assert!(text(&reply).contains("No hay efectivos disponibles"), "{}", text(&reply));
    let all =
        call_as(&rig.app.state, Some(supervisor_actor(&rig.app).await), || list_tasks(TaskScope::All)).await.unwrap();
    let emergency = all.iter().find(|t| t.task_type == TaskType::Emergency).unwrap();
    assert!(text(&reply).contains(&emergency.code));
    assert!(emergency.officer_ids.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_the_bot_must_not_act_on_get_no_answer() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo6@gad.local", 30_406).await;
    let chat = 30_406;
    let group = -100_400_500;
    let before = rig.tg.messages_to(chat).len();
    let now = chrono::Utc::now().timestamp();

    // A message with no sender at all (an anonymous admin, a service message).
    let mut anonymous = text_update(chat, "hola");
    anonymous["message"].as_object_mut().unwrap().remove("from");
    rig.tg.push(anonymous);
    // An edited sticker.
    rig.tg.push(json!({"edited_message": {
        "message_id": 11, "date": now - 5, "edit_date": now, "chat": chat_json(chat), "from": user_json(chat),
        "sticker": {"file_id": "CAAC", "file_unique_id": "AgAD", "type": "regular",
                    "width": 512, "height": 512, "is_animated": false, "is_video": false},
    }}));
    // An edited command in a group: not even the private-chat reminder.
    rig.tg.push(json!({"edited_message": {
        "message_id": 12, "date": now - 5, "edit_date": now,
        "chat": {"id": group, "type": "supergroup", "title": "Brigada"}, "from": user_json(chat),
        "text": "/tareas",
    }}));
    // A live location from somebody who is not linked.
    rig.tg.push(live_location_edit(30_499, -34.6, -58.4));
    let position_before =
        call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap())).await.unwrap();

    // The next message is answered: the bot went on, in order, after saying nothing.
    let help = say(&rig, chat, text_update(chat, "/ayuda"), "Comandos disponibles").await;
    let sent: Vec<String> = rig.tg.messages_to(chat).iter().skip(before).map(|c| text(c).to_owned()).collect();
    assert_eq!(sent, vec![text(&help).to_owned()]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rig.tg.messages_to(group).is_empty());
    assert!(rig.tg.messages_to(30_499).is_empty());
    let position_after =
        call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap())).await.unwrap();
    assert_eq!(position_after.map(|p| p.recorded_at), position_before.map(|p| p.recorded_at));
}

// ------------------------------------------------------------------------------ buttons

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_on_tasks_the_officer_may_not_act_on_are_refused() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo2@gad.local", 30_502).await;
    let chat = 30_502;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let own = mine.iter().find(|t| t.status == TaskStatus::Scheduled).unwrap().clone();
    let all =
        call_as(&rig.app.state, Some(supervisor_actor(&rig.app).await), || list_tasks(TaskScope::All)).await.unwrap();
    let other = all.iter().find(|t| t.status == TaskStatus::InProgress && !mine.iter().any(|m| m.id == t.id)).unwrap();
    let card = say(&rig, chat, text_update(chat, "/ayuda"), "Comandos").await;

    // Someone else's task does not exist for an officer, whatever the button.
    for data in [
        format!("d:{}", other.id),
        format!("i:{}", other.id),
        format!("f:{}", other.id),
        format!("n:{}", other.id),
        format!("t:{}:paused", other.id),
        format!("t:{}:completed", other.id),
        "d:999999".to_owned(),
    ] {
        assert_eq!(alert(&rig, chat, &card, &data).await, NOT_FOUND, "{data}");
    }
    // A scheduled task cannot be finished, with or without a note.
    assert_eq!(alert(&rig, chat, &card, &format!("f:{}", own.id)).await, CANNOT_FINISH);
    assert_eq!(alert(&rig, chat, &card, &format!("n:{}", own.id)).await, CANNOT_FINISH);
    // Malformed data.
    for data in ["d:abc", "t:1", "h:t:x", "f:1:2"] {
        assert_eq!(alert(&rig, chat, &card, data).await, STALE_BUTTON, "{data}");
    }
    assert!(edits(&rig.tg).is_empty(), "no card was touched: {:#?}", edits(&rig.tg));
    assert_eq!(stored_conversation(&rig.app, chat).await, None, "no note was asked for");
    let still =
        call_as(&rig.app.state, Some(supervisor_actor(&rig.app).await), || task_detail(other.id)).await.unwrap();
    assert_eq!(still.status, TaskStatus::InProgress);

    // «Actualizar» on my own task redraws its card in place.
    let answer = press(&rig, chat, &card, &format!("d:{}", own.id)).await;
    assert!(answer.body.get("text").is_none(), "{answer:?}");
    let redrawn = rig.tg.wait_for("the refreshed card", |c| c.method == "editMessageText").await;
    assert_eq!(redrawn.body["message_id"], card.result["message_id"]);
    assert!(text(&redrawn).contains(&own.code) && text(&redrawn).contains("Estado: Programada"), "{}", text(&redrawn));
    assert!(buttons(&redrawn).contains(&format!("t:{}:in_progress", own.id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_outside_a_private_chat_or_on_lost_messages() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo2@gad.local", 30_602).await;
    let chat = 30_602;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let task = mine.iter().find(|t| t.status == TaskStatus::Scheduled).unwrap().clone();
    let answer_to = |id: &'static str| {
        let tg = rig.tg.clone();
        async move { tg.wait_for(id, |c| c.method == "answerCallbackQuery" && c.body["callback_query_id"] == id).await }
    };

    // A button under a message in a group: tasks are personal, nothing is done there.
    let mut in_group = callback_update(chat, "cb-group", 71, &format!("t:{}:in_progress", task.id));
    in_group["callback_query"]["message"]["chat"] = json!({"id": -100_600, "type": "supergroup", "title": "Brigada"});
    rig.tg.push(in_group);
    let answer = answer_to("cb-group").await;
    assert_eq!((answer.body["text"].as_str(), answer.body["show_alert"].as_bool()), (Some(STALE_BUTTON), Some(true)));

    // A button of an inline message (no message in the update).
    let mut inline = callback_update(chat, "cb-inline", 0, &format!("t:{}:in_progress", task.id));
    inline["callback_query"].as_object_mut().unwrap().remove("message");
    inline["callback_query"]["inline_message_id"] = json!("AAEC-inline");
    rig.tg.push(inline);
    let answer = answer_to("cb-inline").await;
    assert_eq!(answer.body["text"], STALE_BUTTON);
    // A message too old to read, in a chat that is not the presser's own (a group's, or
    // another person's): nothing is done, and nothing is sent there.
    let mut elsewhere = callback_update(chat, "cb-elsewhere", 4343, &format!("t:{}:in_progress", task.id));
    elsewhere["callback_query"]["message"]["date"] = json!(0);
    elsewhere["callback_query"]["message"]["chat"] = json!({"id": -100_601, "type": "supergroup", "title": "Otra"});
    rig.tg.push(elsewhere);
    let answer = answer_to("cb-elsewhere").await;
    assert_eq!(answer.body["text"], STALE_BUTTON);
    assert!(rig.tg.calls().iter().all(|c| c.body["chat_id"] != json!(-100_601)), "nothing sent to that chat");
    let detail = call_as(&rig.app.state, Some(me.clone()), || task_detail(task.id)).await.unwrap();
    assert_eq!(detail.status, TaskStatus::Scheduled, "no button started the task");

    // A message too old for the bot to read (Telegram sends it with date 0): the button
    // still works on its chat and message.
    let mut old = callback_update(chat, "cb-old", 4242, &format!("t:{}:in_progress", task.id));
    old["callback_query"]["message"]["date"] = json!(0);
    rig.tg.push(old);
    let answer = answer_to("cb-old").await;
    assert_eq!(answer.body["text"], "Tarea en curso.");
    let edited = rig.tg.wait_for("the card", |c| c.method == "editMessageText").await;
    assert_eq!((edited.body["chat_id"].as_i64(), edited.body["message_id"].as_i64()), (Some(chat), Some(4242)));
    let detail = call_as(&rig.app.state, Some(me), || task_detail(task.id)).await.unwrap();
    assert_eq!(detail.status, TaskStatus::InProgress);
    assert_eq!(edits(&rig.tg).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closing_note_for_a_task_finished_meanwhile_ends_the_step() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo1@gad.local", 30_701).await;
    let chat = 30_701;
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let task = mine.iter().find(|t| t.status == TaskStatus::InProgress).unwrap().clone();
    let card = say(&rig, chat, text_update(chat, "/ayuda"), "Comandos").await;
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &card, &format!("n:{}", task.id)).await;
    wait_new(&rig.tg, chat, before, &format!("Escriba la nota de cierre de la tarea {}", task.code)).await;

    // The supervisor finishes it from the dashboard before the note is written.
    let id = task.id;
    call_as(&rig.app.state, Some(supervisor_actor(&rig.app).await), || {
        transition_task(id, TaskStatus::Completed, None)
    })
    .await
    .unwrap();
    let refused = say(&rig, chat, text_update(chat, "Todo en orden"), "no puede pasar a «Finalizada»").await;
    assert!(!text(&refused).contains("nota más corta"), "no retry is offered: {}", text(&refused));
    assert_eq!(stored_conversation(&rig.app, chat).await, None);
    let detail = call_as(&rig.app.state, Some(me), || task_detail(id)).await.unwrap();
    assert!(detail.history.iter().all(|h| h.reason.as_deref() != Some("Todo en orden")));
    say(&rig, chat, text_update(chat, "Todo en orden"), "No entendí el mensaje").await;
}

/// Presses `data` on message `message_id` of `chat` and returns the callback answer.
async fn press_on(rig: &Rig, chat: i64, message_id: i64, data: &str) -> Call {
    let message = Call {
        method: "sendMessage".into(),
        body: Value::Null,
        result: json!({"message_id": message_id}),
        at: Instant::now(),
    };
    press(rig, chat, &message, data).await
}

// ------------------------------------------------------------------------ Bot API faults

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_api_errors_and_unreadable_replies_are_survived() {
    let tg = FakeTelegram::start().await;
    tg.fault("deleteWebhook", Fault::Refuse, 1);
    tg.fault("setMyCommands", Fault::Garbage, 1);
    tg.fault("getUpdates", Fault::Garbage, 1);
    tg.fault("getUpdates", Fault::Refuse, 1);
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    tokio::spawn(Bot::new(app.state.clone()).unwrap().run_long_poll(std::future::pending()));
    let rig = Rig { app, tg };
    let chat = 31_407;

    // An unreadable getUpdates, then a refused one: the bot polls on and serves the update
    // queued meanwhile.
    let me = link(&rig, "efectivo2@gad.local", chat).await;
    assert!(rig.tg.state.polls.load(Ordering::SeqCst) >= 3);
    assert!(rig.tg.calls().iter().any(|c| c.method == "setMyCommands"));

    // An unreadable sendMessage reply is recorded as such for the broadcast, never the token.
    rig.tg.fault("sendMessage", Fault::Garbage, 1);
    let admin = admin(&rig.app).await;
    let group =
        call_as(&rig.app.state, Some(admin.clone()), || create_telegram_group("guardia".into(), -100_444, None))
            .await
            .unwrap();
    let broadcast = call_as(&rig.app.state, Some(admin), || {
        create_broadcast(group.id, BroadcastKind::Info, "Cambio de turno a las 22".into())
    })
    .await
    .unwrap();
    let row = broadcast_row(&rig.app, broadcast.id).await;
    assert_eq!(row.delivery_status, DeliveryStatus::Failed);
    assert_eq!(row.delivery_error.as_deref(), Some("respuesta ilegible de la API de Telegram"));

    // A refused answerCallbackQuery does not undo the button's action.
    let mine = call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let task = mine.iter().find(|t| t.status == TaskStatus::Scheduled).unwrap().clone();
    rig.tg.fault("answerCallbackQuery", Fault::Refuse, 1);
    press_on(&rig, chat, 501, &format!("t:{}:in_progress", task.id)).await;
    let edited = rig.tg.wait_for("the card", |c| c.method == "editMessageText").await;
    assert!(text(&edited).contains("Estado: En curso"), "{}", text(&edited));
    let detail = call_as(&rig.app.state, Some(me.clone()), || task_detail(task.id)).await.unwrap();
    assert_eq!(detail.status, TaskStatus::InProgress);

    // An emergency whose place cannot be sent: the alert itself went, and the next
    // notification too. (The officer works a task: a supervisor frees them for it.)
    let officer_id = me.officer_id.unwrap();
    call_as(&rig.app.state, Some(supervisor_actor(&rig.app).await), || {
        app::api::officers::set_officer_status(officer_id, contract::domain::OfficerStatus::Available)
    })
    .await
    .unwrap();
    rig.tg.fault("sendVenue", Fault::Refuse, 1);
    let supervisor = supervisor_actor(&rig.app).await;
    let outcome = call_as(&rig.app.state, Some(supervisor), || {
        app::api::emergency::raise_emergency(
            -34.6,
            -58.4,
            None,
            contract::emergency::EmergencyAssign::Officers(vec![me.officer_id.unwrap()]),
        )
    })
    .await
    .unwrap();
    rig.tg.sent(chat, &format!("EMERGENCIA {}", outcome.task.code)).await;
    rig.tg.wait_for("the refused place", |c| c.method == "sendVenue").await;
    let later = new_task(&rig.app, "Después de la emergencia", vec![me.officer_id.unwrap()]).await;
    rig.tg.sent(chat, &later.code).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_bot_api_fails_broadcasts_with_a_clear_reason() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &closed)]).await;
    let admin = admin(&app).await;
    let group = call_as(&app.state, Some(admin.clone()), || create_telegram_group("comando".into(), -100_555, None))
        .await
        .unwrap();
    let broadcast = call_as(&app.state, Some(admin), || {
        create_broadcast(group.id, BroadcastKind::Urgent, "Reunión de jefes a las 8".into())
    })
    .await
    .unwrap();
    tokio::spawn(Bot::new(app.state.clone()).unwrap().run_long_poll(std::future::pending()));
    let row = broadcast_row(&app, broadcast.id).await;
    assert_eq!(row.delivery_status, DeliveryStatus::Failed);
    assert_eq!(row.delivery_error.as_deref(), Some("no se pudo conectar con Telegram"));
    assert!(row.sent_at.is_some(), "the attempt's time is recorded");
    let metrics = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("gad_bot_messages_sent_total{result=\"error\"}"), "{metrics}");
}

// ------------------------------------------------------------------------------ webhook

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_webhook_says_what_is_missing_or_refused() {
    let tg = FakeTelegram::start().await;
    let webhook = [
        ("TELEGRAM_BOT_TOKEN", TOKEN),
        ("TELEGRAM_API_URL", tg.url.as_str()),
        ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ];
    let app = TestApp::spawn_with(Backend::Sqlite, &webhook).await;
    let error = |extra: Vec<(&'static str, String)>| {
        let url = app.database_url.clone();
        async move {
            let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let state = gad_server::startup::connect(common::config(&url, &extra)).await.unwrap();
            gad_server::bot::set_webhook(&state).await.unwrap_err().to_string()
        }
    };
    let public = ("GAD_PUBLIC_URL", "https://gad.example.org".to_owned());
    let token = ("TELEGRAM_BOT_TOKEN", TOKEN.to_owned());
    let api = ("TELEGRAM_API_URL", tg.url.clone());
    let secret = ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned());

    assert_eq!(error(vec![token.clone(), api.clone(), secret.clone()]).await, "GAD_PUBLIC_URL is not set");
    assert_eq!(error(vec![token.clone(), api.clone(), public.clone()]).await, "TELEGRAM_WEBHOOK_SECRET is not set");
    assert_eq!(error(vec![api.clone(), public.clone(), secret.clone()]).await, "TELEGRAM_BOT_TOKEN is not set");
    tg.fault("setWebhook", Fault::Refuse, 1);
    let refused = error(vec![token, api, public, secret]).await;
    assert!(
        refused.starts_with("setWebhook failed: ") && refused.contains("Bad Request: setWebhook refused"),
        "{refused}"
    );
    assert!(!refused.contains("TEST-TOKEN"), "{refused}");
    assert!(!tg.calls().iter().any(|c| c.method == "setMyCommands"), "no menu for a bot without its webhook");
    assert!(tg.calls().iter().any(|c| c.method == "setWebhook"));

    // A secret without a token serves no webhook.
    let half = TestApp::spawn_on(&app.database_url, &[("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)]).await;
    let res = reqwest::Client::new()
        .post(half.url("/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .json(&text_update(31_500, "/ayuda"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(Bot::new(half.state.clone()).is_err(), "no bot without a token");
}

/// A chat flooding the bot has only so many updates waiting: the excess is dropped, not
/// queued without end (and the chat's worker keeps answering).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_chat_waits_in_a_bounded_queue() {
    let tg = FakeTelegram::start().await;
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    let code = link_code(&app, "efectivo2@gad.local").await;
    gad_core::services::users::redeem_link_code(&app.state, &code, 31_700).await.unwrap();
    let dispatcher = gad_server::bot::Dispatcher::with_queue_max(Bot::new(app.state.clone()).unwrap(), 3);
    tg.slow_down(300);
    for n in 0..12 {
        let mut update = text_update(31_700, "/ayuda");
        update["update_id"] = json!(100 + n);
        dispatcher.dispatch_raw(update);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answered = tg.messages_to(31_700).len();
    assert!((3..=4).contains(&answered), "three waiting (and perhaps one taken at once), the rest dropped: {answered}");
    tg.slow_down(0);
    let mut update = text_update(31_700, "/ayuda");
    update["update_id"] = json!(200);
    dispatcher.dispatch_raw(update);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tg.messages_to(31_700).len() <= answered {
        assert!(Instant::now() < deadline, "the chat is answered again once its queue drains");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A closing dispatcher (its process stopping) lets the update in hand be handled to the end,
/// then takes nothing more: the next lease holder hands those out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closing_dispatcher_finishes_what_it_holds_and_takes_nothing_more() {
    let tg = FakeTelegram::start().await;
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    let dispatcher = gad_server::bot::Dispatcher::new(Bot::new(app.state.clone()).unwrap());
    let mut update = text_update(31_700, "/ayuda");
    update["update_id"] = json!(1);
    dispatcher.dispatch_raw(update);
    dispatcher.close(Duration::from_secs(10)).await;
    assert_eq!(tg.messages_to(31_700).len(), 1, "the update in hand was cut short");
    // (A link attempt: answered every time, where an unlinked chat's other messages are
    // answered once in a while.)
    let mut update = text_update(31_700, "/start NOVALE2345");
    update["update_id"] = json!(2);
    dispatcher.dispatch_raw(update);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(tg.messages_to(31_700).len(), 1, "a closed dispatcher handled another update");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_dispatcher_starts_fresh_workers() {
    let tg = FakeTelegram::start().await;
    let app =
        TestApp::spawn_with(Backend::Sqlite, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    let dispatcher = gad_server::bot::Dispatcher::new(Bot::new(app.state.clone()).unwrap());
    let mut update = text_update(31_600, "/ayuda");
    update["update_id"] = json!(1);
    dispatcher.dispatch_raw(update.clone());
    tg.sent(31_600, "no está vinculada").await;
    dispatcher.stop();
    // (A link attempt: an unlinked chat is told it is unlinked only once in a while.)
    let mut update = text_update(31_600, "/start NOVALE2345");
    update["update_id"] = json!(2);
    dispatcher.dispatch_raw(update);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tg.messages_to(31_600).len() < 2 {
        assert!(Instant::now() < deadline, "the second update was never handled");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // A button without a message has no chat: it runs in its user's lane, and is refused.
    let mut inline = callback_update(31_600, "cb-lane", 0, "d:1");
    inline["callback_query"].as_object_mut().unwrap().remove("message");
    inline["callback_query"]["inline_message_id"] = json!("lane");
    inline["update_id"] = json!(3);
    dispatcher.dispatch_raw(inline);
    let answer = tg.wait_for("the answer", |c| c.method == "answerCallbackQuery").await;
    assert!(answer.body["text"].as_str().unwrap().contains("no está vinculada"));
}

// ------------------------------------------------------------------------------- wizard

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crear_refuses_buttons_and_answers_of_other_steps() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "supervisor@gad.local", 30_800).await;
    let chat = 30_800;
    // Eight officers: two pages of six.
    for n in 1..=2 {
        call_as(&rig.app.state, Some(me.clone()), || {
            app::api::officers::create_officer(
                format!("EF-90{n}"),
                "Refuerzo".into(),
                format!("Número {n}"),
                "Agente".into(),
                "Comisaría Vecinal 1A".into(),
                None,
                None,
            )
        })
        .await
        .unwrap();
    }
    let title = "Ronda nocturna en Retiro";
    let ask_type = say(&rig, chat, text_update(chat, "/crear"), "paso 1 de 7").await;
    assert_eq!(alert(&rig, chat, &ask_type, "c:ty:emergency").await, WIZARD_STALE, "emergencies have /emergencia");
    assert_eq!(alert(&rig, chat, &ask_type, "c:ty:desfile").await, WIZARD_STALE);
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &ask_type, "c:ty:patrol").await;
    wait_new(&rig.tg, chat, before, "Paso 2 de 7").await;
    let ask_priority = say(&rig, chat, text_update(chat, title), "Paso 3 de 7").await;
    assert_eq!(alert(&rig, chat, &ask_priority, "c:pr:altisima").await, WIZARD_STALE);
    // A location belongs to step 4 only.
    let wrong =
        say(&rig, chat, location_update(chat, -34.59, -58.37), "La ubicación no corresponde a este paso.").await;
    assert!(text(&wrong).contains("Paso 3 de 7"), "{}", text(&wrong));
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &ask_priority, "c:pr:low").await;
    let ask_place = wait_new(&rig.tg, chat, before, "Paso 4 de 7").await;
    // A location Telegram would never send is refused by the geo server function; the step stays.
    say(&rig, chat, location_update(chat, 95.0, -58.4), "La latitud debe estar entre -90 y 90.").await;
    assert_eq!(stored_conversation(&rig.app, chat).await.unwrap()["step"], "location");
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &ask_place, "c:skip").await;
    let officers = wait_new(&rig.tg, chat, before, "Paso 5 de 7").await;

    // Page 1 of 2, forward only; page 2 of 2, back only.
    let listed = |c: &Call| buttons(c).into_iter().filter(|b| b.starts_with("c:o:")).collect::<Vec<_>>();
    assert_eq!(listed(&officers).len(), 6);
    assert_eq!(buttons(&officers)[6..], ["c:pg:0", "c:pg:1", "c:done", "c:x"]);
    press(&rig, chat, &officers, "c:pg:1").await;
    let second = rig.tg.wait_for("page 2", |c| c.method == "editMessageText").await;
    assert_eq!(listed(&second).len(), 2);
    assert_eq!(buttons(&second)[2..], ["c:pg:0", "c:pg:1", "c:done", "c:x"]);
    let navigation: Vec<String> = second.body["reply_markup"]["inline_keyboard"][2]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(navigation, ["◀️", "2/2"]);
    for data in ["c:pg:2", "c:pg:x", "c:o:999999", "c:o:x", "c:now", "c:ok"] {
        assert_eq!(alert(&rig, chat, &officers, data).await, WIZARD_STALE, "{data}");
    }
    say(&rig, chat, text_update(chat, "Pablo Acosta"), "Use los botones para elegir los efectivos").await;
    let chosen = listed(&second)[0].clone();
    let name = second.body["reply_markup"]["inline_keyboard"][0][0]["text"].as_str().unwrap();
    let name = name.strip_prefix("⬜ ").unwrap().to_owned();
    press(&rig, chat, &officers, &chosen).await;
    rig.tg.wait_for("one selected", |c| c.method == "editMessageText" && text(c).contains("Seleccionados: 1")).await;
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &officers, "c:done").await;
    let ask_start = wait_new(&rig.tg, chat, before, "Paso 6 de 7").await;
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &ask_start, "c:now").await;
    let ask_end = wait_new(&rig.tg, chat, before, "Paso 7 de 7").await;
    assert_eq!(alert(&rig, chat, &ask_end, "c:h:3").await, WIZARD_STALE, "only the offered durations");
    say(&rig, chat, text_update(chat, "01/01/2999 10:00"), "demasiado lejos").await;
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &ask_end, "c:h:8").await;
    let summary = wait_new(&rig.tg, chat, before, "Resumen de la nueva tarea").await;
    assert!(text(&summary).contains(&format!("Efectivos: {name}\n")), "{name}: {}", text(&summary));
    assert!(text(&summary).contains("(8 h 00 min)"), "{}", text(&summary));

    say(&rig, chat, text_update(chat, "tal vez"), "Pulse «Crear» para confirmar, o /cancelar.").await;
    // No overlap was refused: there is nothing to override.
    assert_eq!(alert(&rig, chat, &summary, "c:force").await, WIZARD_STALE);
    // Back to the officers, with the choice kept.
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &summary, "c:back").await;
    let again = wait_new(&rig.tg, chat, before, "Paso 5 de 7").await;
    assert!(text(&again).contains("Seleccionados: 1"), "{}", text(&again));

    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &again, "c:x").await;
    wait_new(&rig.tg, chat, before, "Operación cancelada").await;
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &again, "c:x").await;
    wait_new(&rig.tg, chat, before, "No hay ninguna operación en curso").await;
    let all = call_as(&rig.app.state, Some(me), || list_tasks(TaskScope::All)).await.unwrap();
    assert!(all.iter().all(|t| t.title != title), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crear_with_a_broken_draft_never_creates_a_wrong_task() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "supervisor@gad.local", 30_900).await;
    let chat = 30_900;
    let count =
        || async { call_as(&rig.app.state, Some(me.clone()), || list_tasks(TaskScope::All)).await.unwrap().len() };
    let tasks_before = count().await;
    let save = |draft: Value| {
        let state = rig.app.state.clone();
        async move { gad_core::services::conversations::save(&state, chat, &draft).await.unwrap() }
    };

    // A draft at the last step without a type or title (stored by an older version, say):
    // the step ends with an apology instead of a task.
    save(json!({"kind": "create", "step": "confirm", "candidates": [], "selected": [], "page": 0})).await;
    say(&rig, chat, text_update(chat, "confirmar"), INTERNAL).await;
    assert_eq!(stored_conversation(&rig.app, chat).await, None);

    // A title the server function refuses: its reason is shown and the draft stays.
    let draft = json!({"kind": "create", "step": "confirm", "task_type": "patrol", "title": "ab",
        "priority": "high", "candidates": [], "selected": [], "page": 0});
    save(draft.clone()).await;
    let card = say(&rig, chat, text_update(chat, "/ayuda"), "Comandos").await;
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &card, "c:ok").await;
    let refused = wait_new(&rig.tg, chat, before, "El título debe tener entre 3 y 200 caracteres.").await;
    assert!(text(&refused).starts_with("⚠️ "), "{}", text(&refused));
    assert!(!text(&refused).starts_with("⚠️ ⚠️"), "{}", text(&refused));
    assert!(text(&refused).contains("Inicio: sin programar") && text(&refused).contains("¿Crear la tarea?"));
    assert_eq!(buttons(&refused), vec!["c:ok", "c:back", "c:x"], "no override for a refusal that is not an overlap");
    assert_eq!(stored_conversation(&rig.app, chat).await.unwrap()["title"], "ab");
    assert_eq!(count().await, tasks_before);
}

// ----------------------------------------------------------------------- storage faults

async fn sql(app: &TestApp, statement: &str) {
    app.state.db.execute_unprepared(statement).await.unwrap();
}

/// A polling bot on `app` until the returned sender fires.
fn start_bot(app: &TestApp) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = Bot::new(app.state.clone()).unwrap();
    let handle = tokio::spawn(bot.run_long_poll(async {
        let _ = stopped.await;
    }));
    (stop, handle)
}

async fn stop_bot(bot: (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>)) {
    bot.0.send(()).unwrap();
    bot.1.await.unwrap().unwrap();
}

/// The notifier's row in `event_consumers` once some process holds its lease.
async fn notifier_lease(app: &TestApp) -> event_consumers::Model {
    let name = gad_server::bot::jobs::consumer_name(&Bot::new(app.state.clone()).unwrap());
    assert_eq!(name, "telegram:123456", "the consumer is named after the token's public part");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = event_consumers::Entity::find_by_id(name.clone()).one(&app.state.db).await.unwrap();
        if let Some(row) = row.filter(|r| r.owner.is_some()) {
            return row;
        }
        assert!(Instant::now() < deadline, "the notifier never took its lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn notices_to(tg: &FakeTelegram, chat: i64, needle: &str) -> Vec<String> {
    tg.messages_to(chat).iter().map(|c| text(c).to_owned()).filter(|t| t.contains(needle)).collect()
}

/// The conversation store is gone (a table dropped by a bad restore, say): every step that
/// needs it says so, and nothing is half-started.
async fn conversation_store_failures_are_told(backend: Backend) {
    let rig = rig(backend).await;
    let officer = link(&rig, "efectivo1@gad.local", 31_001).await;
    link(&rig, "supervisor@gad.local", 31_002).await;
    let mine = call_as(&rig.app.state, Some(officer.clone()), || list_tasks(TaskScope::Mine)).await.unwrap();
    let task = mine.iter().find(|t| t.status == TaskStatus::InProgress).unwrap().clone();
    let card = say(&rig, 31_001, text_update(31_001, "/ayuda"), "Comandos").await;
    sql(&rig.app, "DROP TABLE bot_conversations").await;

    say(&rig, 31_001, text_update(31_001, "/emergencia"), INTERNAL).await;
    let before = rig.tg.messages_to(31_001).len();
    press(&rig, 31_001, &card, &format!("n:{}", task.id)).await;
    wait_new(&rig.tg, 31_001, before, INTERNAL).await;
    // What cannot be read counts as no conversation.
    say(&rig, 31_001, text_update(31_001, "hola"), "No entendí el mensaje").await;
    say(&rig, 31_001, text_update(31_001, "/cancelar"), "No hay ninguna operación en curso").await;
    say(&rig, 31_002, text_update(31_002, "/crear"), INTERNAL).await;
    let sent: Vec<String> =
        [31_001, 31_002].iter().flat_map(|c| rig.tg.messages_to(*c)).map(|c| text(&c).to_owned()).collect();
    for never in ["envíe la ubicación", "Escriba la nota de cierre", "paso 1 de 7"] {
        assert!(sent.iter().all(|t| !t.contains(never)), "{never:?} was sent: {sent:#?}");
    }
    let detail = call_as(&rig.app.state, Some(officer), || task_detail(task.id)).await.unwrap();
    assert_eq!(detail.status, TaskStatus::InProgress);
}
on_both_backends!(conversation_store_failures_are_told);

/// The database cannot say who a Telegram user is: an apology, never the unlinked-user text
/// (which would send a linked officer to link again), and the bot recovers with the database.
async fn a_database_failure_is_not_taken_for_an_unlinked_user(backend: Backend) {
    let rig = rig(backend).await;
    let me = link(&rig, "efectivo2@gad.local", 31_102).await;
    let chat = 31_102;
    let code = link_code(&rig.app, "efectivo3@gad.local").await;
    let card = say(&rig, chat, text_update(chat, "/ayuda"), "Comandos").await;
    let position_before =
        call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap())).await.unwrap();
    sql(&rig.app, "ALTER TABLE users RENAME TO users_away").await;

    // A live location is dropped silently (the reply to the next update, in the same chat's
    // lane, shows it was handled).
    rig.tg.push(live_location_edit(chat, -34.5, -58.5));
    say(&rig, chat, text_update(chat, "/tareas"), INTERNAL).await;
    let answer = press(&rig, chat, &card, "d:1").await;
    assert_eq!(answer.body["show_alert"], true);
    assert!(answer.body["text"].as_str().unwrap().contains(INTERNAL), "{answer:?}");
    say(&rig, 31_103, text_update(31_103, &format!("/start {code}")), INTERNAL).await;

    sql(&rig.app, "ALTER TABLE users_away RENAME TO users").await;
    say(&rig, chat, text_update(chat, "/ayuda"), "Comandos disponibles").await;
    let sent: Vec<String> =
        [chat, 31_103].iter().flat_map(|c| rig.tg.messages_to(*c)).map(|c| text(&c).to_owned()).collect();
    assert!(sent.iter().all(|t| !t.contains("no está vinculada")), "{sent:#?}");
    let position_after =
        call_as(&rig.app.state, Some(me.clone()), || officer_last_position(me.officer_id.unwrap())).await.unwrap();
    assert_eq!(position_after.map(|p| p.recorded_at), position_before.map(|p| p.recorded_at));
    // The code was not used up: it still links.
    say(&rig, 31_103, text_update(31_103, &format!("/start {code}")), "Cuenta vinculada").await;
}
on_both_backends!(a_database_failure_is_not_taken_for_an_unlinked_user);

// ------------------------------------------------------------------------------ notifier

/// Notifications queued while the bot was down are sent when it comes back, but only once the
/// database answers again, and only those that still apply: a task deleted meanwhile, or one
/// the officer was taken off, is not announced as assigned.
async fn late_notifications_wait_for_the_database_and_skip_what_no_longer_applies(backend: Backend) {
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn_with(backend, &[("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_API_URL", &tg.url)]).await;
    let first = start_bot(&app);
    let rig = Rig { app, tg };
    let chat = 31_205;
    let officer = link(&rig, "efectivo5@gad.local", chat).await.officer_id.unwrap();
    notifier_lease(&rig.app).await;
    stop_bot(first).await;

    let supervisor = supervisor_actor(&rig.app).await;
    let deleted = new_task(&rig.app, "Tarea que se borra", vec![officer]).await;
    let id = deleted.id;
    call_as(&rig.app.state, Some(supervisor.clone()), || delete_task(id)).await.unwrap();
    let taken_off = new_task(&rig.app, "Tarea de la que se lo quita", vec![officer]).await;
    let id = taken_off.id;
    call_as(&rig.app.state, Some(supervisor.clone()), || unassign_officer(id, officer)).await.unwrap();
    let kept = new_task(&rig.app, "Tarea que sigue en pie", vec![officer]).await;

    sql(&rig.app, "ALTER TABLE users RENAME TO users_away").await;
    let _second = start_bot(&rig.app);
    tokio::time::sleep(Duration::from_secs(2)).await;
    for code in [&deleted.code, &taken_off.code, &kept.code] {
        assert!(
            notices_to(&rig.tg, chat, code).is_empty(),
            "sent without the database: {:#?}",
            rig.tg.messages_to(chat)
        );
    }
    sql(&rig.app, "ALTER TABLE users_away RENAME TO users").await;

    let note = rig.tg.sent(chat, &kept.code).await;
    assert!(text(&note).contains("Se le asignó una tarea"), "{}", text(&note));
    rig.tg.sent(chat, &format!("La tarea {} ya no está a su cargo", taken_off.code)).await;
    assert!(notices_to(&rig.tg, chat, &deleted.code).is_empty(), "{:#?}", rig.tg.messages_to(chat));
    let assigned = notices_to(&rig.tg, chat, "Se le asignó");
    assert_eq!(assigned.len(), 1, "{assigned:#?}");
}
on_both_backends!(late_notifications_wait_for_the_database_and_skip_what_no_longer_applies);

/// Another process holding the notifier's lease sends the notifications: this one keeps
/// quiet, and takes over when the lease is given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifier_steps_aside_while_another_process_holds_the_lease() {
    let rig = rig(Backend::Sqlite).await;
    let chat = 31_306;
    let officer = link(&rig, "efectivo6@gad.local", chat).await.officer_id.unwrap();
    let lease = notifier_lease(&rig.app).await;
    let steal = event_consumers::Entity::update_many()
        .col_expr(event_consumers::Column::Owner, sea_orm::sea_query::Expr::value("otro-proceso"))
        .col_expr(
            event_consumers::Column::LeaseUntil,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() + chrono::Duration::hours(1)),
        )
        .filter(event_consumers::Column::Name.eq(lease.name.clone()))
        .exec(&rig.app.state.db)
        .await
        .unwrap();
    assert_eq!(steal.rows_affected, 1);

    let task = new_task(&rig.app, "Tarea durante el relevo", vec![officer]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(notices_to(&rig.tg, chat, &task.code).is_empty(), "sent without the lease");

    event_consumers::Entity::update_many()
        .col_expr(event_consumers::Column::Owner, sea_orm::sea_query::Expr::value(Option::<String>::None))
        .col_expr(
            event_consumers::Column::LeaseUntil,
            sea_orm::sea_query::Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(event_consumers::Column::Name.eq(lease.name.clone()))
        .exec(&rig.app.state.db)
        .await
        .unwrap();
    let note = rig.tg.sent(chat, &task.code).await;
    assert!(text(&note).contains("Se le asignó una tarea"));
    assert_eq!(notices_to(&rig.tg, chat, &task.code).len(), 1);
}

/// "Detalles" names the place where the task has one, and gives coordinates only where it
/// does not; an emergency's pin is named by its description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_read_as_words_where_words_are_known() {
    let rig = rig(Backend::Sqlite).await;
    let me = link(&rig, "efectivo1@gad.local", 30_077).await;
    let chat = 30_077;
    let supervisor = supervisor_actor(&rig.app).await;
    let mut placed = NewTask::new("Control en la plaza", TaskType::Patrol);
    placed.lat = Some(-34.6083);
    placed.lon = Some(-58.3712);
    placed.location_text = Some("Plaza de Mayo".into());
    placed.officer_ids = vec![me.officer_id.unwrap()];
    let placed = call_as(&rig.app.state, Some(supervisor.clone()), || create_task(placed)).await.unwrap();
    let mut unnamed = NewTask::new("Control sin lugar", TaskType::Patrol);
    unnamed.lat = Some(-34.61);
    unnamed.lon = Some(-58.38);
    unnamed.officer_ids = vec![me.officer_id.unwrap()];
    let unnamed = call_as(&rig.app.state, Some(supervisor.clone()), || create_task(unnamed)).await.unwrap();
    let card = rig.tg.sent(chat, &unnamed.code).await;

    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &card, &format!("i:{}", placed.id)).await;
    let info = wait_new(&rig.tg, chat, before, &placed.code).await;
    let info = text(&info);
    assert!(info.contains("Lugar: Plaza de Mayo"), "{info}");
    assert!(!info.contains("Coordenadas"), "{info}");
    let before = rig.tg.messages_to(chat).len();
    press(&rig, chat, &card, &format!("i:{}", unnamed.id)).await;
    let info = wait_new(&rig.tg, chat, before, "Coordenadas: -34.61000, -58.38000").await;
    assert!(!text(&info).contains("Lugar:"));

    // The demo keeps efectivo1 on a task: a supervisor frees them for the emergency.
    let officer_id = me.officer_id.unwrap();
    call_as(&rig.app.state, Some(supervisor.clone()), || {
        app::api::officers::set_officer_status(officer_id, contract::domain::OfficerStatus::Available)
    })
    .await
    .unwrap();
    let outcome = call_as(&rig.app.state, Some(supervisor), || {
        app::api::emergency::raise_emergency(
            -34.6,
            -58.4,
            Some("Choque en Av. Rivadavia y Acoyte".into()),
            contract::emergency::EmergencyAssign::Officers(vec![me.officer_id.unwrap()]),
        )
    })
    .await
    .unwrap();
    let pin = rig.tg.wait_for("the named place", |c| c.method == "sendVenue" && c.body["chat_id"] == json!(chat)).await;
    assert_eq!(pin.body["title"], json!(format!("🚨 Emergencia {}", outcome.task.code)));
    assert_eq!(pin.body["address"], "Choque en Av. Rivadavia y Acoyte");
}
