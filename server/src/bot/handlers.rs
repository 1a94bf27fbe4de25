//! What the bot does with each update: the router (messages, commands, locations; buttons go
//! to `callbacks`) and the commands. Every action is a server-function call through the
//! harness, as the linked user; replies go out through `chat`.

use app::api::emergency::raise_emergency;
use app::api::feedback::send_feedback;
use app::api::officers::update_my_position;
use app::api::roster::{list_leaves, my_shifts, request_my_leave};
use app::api::stats::task_stats;
use app::api::tasks::{list_tasks, task_detail};
use app::server::harness::call_as;
use carapax::types::{
    Chat, KeyboardButton, Message, MessageData, ReplyKeyboardMarkup, ReplyKeyboardRemove, SendMessage, Update,
    UpdateType,
};
use chrono::{DateTime, Utc};
use contract::domain::TaskStatus;
use contract::emergency::EmergencyAssign;
use contract::tasks::TaskScope;
use gad_core::actor::Actor;
use gad_core::error::AppError;
use gad_core::services;
use metrics::counter;
use tracing::Instrument;

use super::Bot;
use super::callbacks::*;
use super::chat::*;
use super::render;
use super::wizard::{self};

pub(super) async fn handle(bot: &Bot, update: Update) {
    let span = tracing::info_span!("telegram_update", update_id = update.id);
    route(bot, update).instrument(span).await
}

/// The `kind` label of `gad_bot_updates_total`.
pub(super) fn kind(update: &UpdateType) -> &'static str {
    match update {
        UpdateType::Message(m) | UpdateType::EditedMessage(m) => match &m.data {
            MessageData::Location(_) => "location",
            MessageData::Text(t) if t.data.trim_start().starts_with('/') => "command",
            _ => "message",
        },
        UpdateType::CallbackQuery(_) => "callback",
        _ => "other",
    }
}

pub(super) async fn route(bot: &Bot, update: Update) {
    let update_id = update.id;
    counter!("gad_bot_updates_total", "kind" => kind(&update.update_type)).increment(1);
    match update.update_type {
        UpdateType::Message(message) => on_message(bot, *message, false).await,
        UpdateType::EditedMessage(message) => on_message(bot, *message, true).await,
        UpdateType::CallbackQuery(query) => on_callback(bot, *query).await,
        other => tracing::info!(update_id, kind = ?std::mem::discriminant(&other), "telegram update ignored"),
    }
}

pub(super) async fn on_message(bot: &Bot, message: Message, edited: bool) {
    let chat_id: i64 = message.chat.get_id().into();
    let Some(user_id) = message.sender.get_user_id().map(i64::from) else {
        return;
    };
    // Tasks, positions and statistics are personal: never answer them into a group.
    if !matches!(message.chat, Chat::Private(_)) {
        if let MessageData::Text(text) = &message.data
            && !edited
            && command(text.data.trim()).is_some()
            && bot.tell_once(chat_id)
        {
            send(bot, chat_id, render::PRIVATE_ONLY, None).await;
        }
        return;
    }
    match &message.data {
        MessageData::Text(text) if !edited => on_text(bot, chat_id, user_id, text.data.trim()).await,
        MessageData::Text(_) => {
            tracing::info!(chat_id, "edited text message not acted upon");
            // Explained to a linked user; a stranger editing on and on is told once that the
            // bot is not theirs (`actor`), never answered an edit at a time.
            if actor(bot, chat_id, user_id).await.is_some() {
                send(bot, chat_id, render::EDITED_IGNORED, None).await;
            }
        }
        MessageData::Location(location) => {
            let at = message.edit_date.unwrap_or(message.date);
            let live = location.live_period.is_some();
            let sent = Sent { at, live, edited, forwarded: message.forward_origin.is_some() };
            on_location(
                bot,
                chat_id,
                user_id,
                degrees(location.latitude),
                degrees(location.longitude),
                location.horizontal_accuracy.map(f64::from),
                sent,
            )
            .await
        }
        _ if edited => tracing::debug!(chat_id, "edited message ignored"),
        _ => {
            tracing::info!(chat_id, "unsupported telegram message answered");
            if actor(bot, chat_id, user_id).await.is_some() {
                send(bot, chat_id, render::UNKNOWN_INPUT, None).await;
            }
        }
    }
}

/// Telegram's coordinates arrive as 32-bit floats in tgbot; widened naively, -34.61 becomes
/// -34.610000610…, and a 32-bit float near ±90 only resolves ≈ 4e-6°. Five decimals (≈ 1 m)
/// recover what was sent without inventing precision.
pub(super) fn degrees(value: f32) -> f64 {
    (f64::from(value) * 1e5).round() / 1e5
}

/// Splits `/cmd@bot args` into (`/cmd`, `args`).
pub(super) fn command(text: &str) -> Option<(String, &str)> {
    if !text.starts_with('/') {
        return None;
    }
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let name = head.split('@').next().unwrap_or(head).to_lowercase();
    Some((name, rest.trim()))
}

pub(super) async fn on_text(bot: &Bot, chat_id: i64, user_id: i64, text: &str) {
    let Some((name, args)) = command(text) else {
        let Some(actor) = actor(bot, chat_id, user_id).await else {
            return;
        };
        return match conversation(bot, chat_id).await {
            Some(Conversation::EmergencyLocation) => send(bot, chat_id, render::WAITING_LOCATION, None).await,
            Some(Conversation::FinishNote { task_id }) => finish_with_note(bot, chat_id, actor, task_id, text).await,
            Some(Conversation::Create(draft)) => wizard::on_text(bot, chat_id, actor, draft, text).await,
            None => send(bot, chat_id, render::UNKNOWN_INPUT, None).await,
        };
    };
    if name == "/start" && !args.is_empty() {
        return link(bot, chat_id, user_id, args).await;
    }
    let Some(actor) = actor(bot, chat_id, user_id).await else {
        return;
    };
    match name.as_str() {
        "/start" | "/menu" => send(bot, chat_id, &render::menu_text(), Some(render::menu_keyboard())).await,
        "/ayuda" | "/help" => send(bot, chat_id, render::HELP, None).await,
        "/cancelar" => {
            let had = forget(bot, chat_id).await;
            let text = if had { render::CANCELLED } else { render::NOTHING_TO_CANCEL };
            send_markup(bot, SendMessage::new(chat_id, text).with_reply_markup(ReplyKeyboardRemove::default())).await;
        }
        "/tareas" => my_tasks(bot, chat_id, actor).await,
        "/finalizar" => finish(bot, chat_id, actor, args).await,
        "/feedback" => feedback(bot, chat_id, actor, args).await,
        "/estadisticas" => stats(bot, chat_id, actor).await,
        "/emergencia" => ask_emergency_location(bot, chat_id).await,
        "/historial" => match HistoryFilter::parse(args) {
            Some(filter) => history(bot, chat_id, actor, filter, 0, None).await,
            None => send(bot, chat_id, render::HISTORY_USAGE, None).await,
        },
        "/crear" => wizard::start(bot, chat_id, actor).await,
        "/turnos" => my_roster(bot, chat_id, actor).await,
        "/licencia" => request_leave(bot, chat_id, actor, args).await,
        "/desvincular" => unlink(bot, chat_id, actor).await,
        _ => send(bot, chat_id, render::UNKNOWN_COMMAND, None).await,
    }
}

pub(super) async fn link(bot: &Bot, chat_id: i64, user_id: i64, code: &str) {
    match services::users::redeem_link_code(&bot.state, code, user_id).await {
        Ok(user) => {
            let text = format!("{}\n\n{}", render::linked(&user.first_name, &user.last_name), render::menu_text());
            send(bot, chat_id, &text, Some(render::menu_keyboard())).await;
        }
        Err(AppError::Conflict(_) | AppError::NotFound) => {
            if bot.may_refuse_link(chat_id) {
                send(bot, chat_id, render::LINK_INVALID, None).await;
            }
        }
        // Linked to someone else: said once in a while, as a wrong code.
        Err(AppError::Refused(message)) => {
            if bot.may_refuse_link(chat_id) {
                send(bot, chat_id, &message, None).await;
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "telegram link failed");
            send(bot, chat_id, render::INTERNAL, None).await;
        }
    }
}

/// `/desvincular`: the sender's Telegram account leaves their GAD account.
async fn unlink(bot: &Bot, chat_id: i64, actor: Actor) {
    let meta = gad_core::meta::AuditMeta::internal(contract::domain::Channel::Telegram);
    match services::users::unlink_telegram(&bot.state, &actor, &meta).await {
        Ok(()) => {
            forget(bot, chat_id).await;
            send_markup(
                bot,
                SendMessage::new(chat_id, render::UNLINKED_NOW).with_reply_markup(ReplyKeyboardRemove::default()),
            )
            .await;
        }
        Err(e) => send(bot, chat_id, &render::error(&e.into()), None).await,
    }
}

pub(super) async fn my_tasks(bot: &Bot, chat_id: i64, actor: Actor) {
    let tasks = match call_as(&bot.state, Some(actor.clone()), || list_tasks(TaskScope::Mine)).await {
        Ok(tasks) => tasks,
        Err(e) => return send(bot, chat_id, &render::error(&e), None).await,
    };
    let open: Vec<_> = tasks.into_iter().filter(|t| t.status.is_open()).collect();
    if open.is_empty() {
        return send(bot, chat_id, render::NO_TASKS, None).await;
    }
    let shown = open.len().min(render::MAX_TASKS);
    send(bot, chat_id, &render::tasks_header(open.len(), shown), None).await;
    for task in open.into_iter().take(shown) {
        match call_as(&bot.state, Some(actor.clone()), || task_detail(task.id)).await {
            Ok(detail) => send(bot, chat_id, &render::task(&detail), Some(render::task_keyboard(&detail))).await,
            Err(e) => send(bot, chat_id, &render::error(&e), None).await,
        }
    }
}

/// `/finalizar [código]`: the confirmation prompt for one of my started tasks; without a code,
/// the only started one, or the list of codes to choose from.
pub(super) async fn finish(bot: &Bot, chat_id: i64, actor: Actor, code: &str) {
    let tasks = match call_as(&bot.state, Some(actor.clone()), || list_tasks(TaskScope::Mine)).await {
        Ok(tasks) => tasks,
        Err(e) => return send(bot, chat_id, &render::error(&e), None).await,
    };
    let started: Vec<_> = tasks.iter().filter(|t| t.status.is_active()).collect();
    let task = if code.is_empty() {
        match started.as_slice() {
            [] => return send(bot, chat_id, render::NOTHING_TO_FINISH, None).await,
            [only] => *only,
            many => {
                let codes: Vec<&str> = many.iter().map(|t| t.code.as_str()).collect();
                return send(bot, chat_id, &render::which_to_finish(&codes), None).await;
            }
        }
    } else {
        match tasks.iter().find(|t| t.code.eq_ignore_ascii_case(code)) {
            Some(task) => task,
            None => return send(bot, chat_id, &render::task_not_found(code), None).await,
        }
    };
    let id = task.id;
    match call_as(&bot.state, Some(actor), || task_detail(id)).await {
        Ok(detail) if detail.allowed_transitions.contains(&TaskStatus::Completed) => {
            send(bot, chat_id, &render::confirm_finish(&detail), Some(render::confirm_keyboard(id))).await
        }
        Ok(_) => send(bot, chat_id, render::CANNOT_FINISH, None).await,
        Err(e) => send(bot, chat_id, &render::error(&e), None).await,
    }
}

pub(super) async fn feedback(bot: &Bot, chat_id: i64, actor: Actor, text: &str) {
    if text.is_empty() {
        return send(bot, chat_id, render::FEEDBACK_USAGE, None).await;
    }
    let text = text.to_owned();
    let reply = match call_as(&bot.state, Some(actor), || send_feedback(text, None)).await {
        Ok(item) => render::feedback_thanks(&item.category),
        Err(e) => render::error(&e),
    };
    send(bot, chat_id, &reply, None).await;
}

/// `/turnos`: the officer's shifts of the next 7 days and their leave not yet over.
pub(super) async fn my_roster(bot: &Bot, chat_id: i64, actor: Actor) {
    let shifts = call_as(&bot.state, Some(actor.clone()), || my_shifts(render::ROSTER_DAYS)).await;
    let own = actor.officer_id;
    let leaves = call_as(&bot.state, Some(actor), || list_leaves(None)).await;
    let reply = match (shifts, leaves) {
        (Ok(shifts), Ok(mut leaves)) => {
            // A supervisor's list is everyone's: "Sus licencias" are their own.
            leaves.retain(|l| Some(l.officer_id) == own);
            render::roster(&shifts, &leaves, bot.state.config.timezone, Utc::now())
        }
        (Err(e), _) | (_, Err(e)) => render::error(&e),
    };
    send(bot, chat_id, &reply, None).await;
}

/// `/licencia <tipo> <desde> <hasta> [motivo]`: a leave request for a supervisor to decide.
pub(super) async fn request_leave(bot: &Bot, chat_id: i64, actor: Actor, args: &str) {
    let mut words = args.split_whitespace();
    let (Some(kind), Some(first), Some(last)) = (words.next(), words.next(), words.next()) else {
        return send(bot, chat_id, render::LEAVE_USAGE, None).await;
    };
    let Some(kind) = render::leave_kind(kind) else {
        return send(bot, chat_id, render::LEAVE_USAGE, None).await;
    };
    let reason = words.collect::<Vec<_>>().join(" ");
    let reason = (!reason.is_empty()).then_some(reason);
    let (first, last) = (first.to_owned(), last.to_owned());
    let reply = match call_as(&bot.state, Some(actor), || request_my_leave(kind, first, last, reason)).await {
        Ok(leave) => render::leave_requested(&leave),
        Err(e) => render::error(&e),
    };
    send(bot, chat_id, &reply, None).await;
}

pub(super) async fn stats(bot: &Bot, chat_id: i64, actor: Actor) {
    let today = Utc::now().with_timezone(&bot.state.config.timezone).date_naive();
    let from = today - chrono::Days::new(render::STATS_DAYS - 1);
    let reply = match call_as(&bot.state, Some(actor), || task_stats(from, today)).await {
        Ok(figures) => render::stats(&figures),
        Err(e) => render::error(&e),
    };
    send(bot, chat_id, &reply, None).await;
}

pub(super) async fn ask_emergency_location(bot: &Bot, chat_id: i64) {
    if !remember(bot, chat_id, &Conversation::EmergencyLocation).await {
        return;
    }
    let keyboard =
        ReplyKeyboardMarkup::from(vec![vec![KeyboardButton::new(render::SEND_LOCATION).with_request_location()]])
            .with_resize_keyboard(true)
            .with_one_time_keyboard(true);
    send_markup(bot, SendMessage::new(chat_id, render::ASK_EMERGENCY_LOCATION).with_reply_markup(keyboard)).await;
}

/// How a location arrived: when (Unix seconds), live or not, an edit of a live one, and
/// whether it was forwarded from someone else's message.
pub(super) struct Sent {
    pub at: i64,
    pub live: bool,
    pub edited: bool,
    pub forwarded: bool,
}

pub(super) async fn on_location(
    bot: &Bot,
    chat_id: i64,
    user_id: i64,
    lat: f64,
    lon: f64,
    accuracy: Option<f64>,
    Sent { at, live, edited, forwarded }: Sent,
) {
    // A forwarded live location moving is someone else moving: never the officer's position.
    if edited && forwarded {
        return;
    }
    // A live-location edit arrives every few seconds: update silently, never nag.
    if edited {
        if let Ok(actor) = services::auth::actor_for_telegram(&bot.state, user_id).await {
            let recorded_at = DateTime::<Utc>::from_timestamp(at, 0);
            let result = call_as(&bot.state, Some(actor), || update_my_position(lat, lon, accuracy, recorded_at)).await;
            if let Err(e) = result {
                tracing::debug!(error = %e, "live location not stored");
            }
        }
        return;
    }
    let Some(actor) = actor(bot, chat_id, user_id).await else {
        return;
    };
    // Unknown (its storage away): the location may be an emergency's place, so it is not taken
    // for a position; the officer is asked to send it again.
    let Ok(pending) = conversation_read(bot, chat_id).await else {
        return send(bot, chat_id, render::LOCATION_NOT_READ, None).await;
    };
    if let Some(Conversation::Create(draft)) = &pending {
        return wizard::on_location(bot, chat_id, actor, draft.clone(), lat, lon).await;
    }
    // Acted on, then cleared: handled again after the process died in between (the inbox hands
    // an unfinished update out again), the location raises the emergency again — twice beats
    // none. A second tap is handled after this one (one process hands out the updates, each
    // chat's in order), finds nothing pending and is a position like any other.
    if pending == Some(Conversation::EmergencyLocation) {
        let description = Some(render::EMERGENCY_DESCRIPTION.to_owned());
        let result =
            call_as(&bot.state, Some(actor), || raise_emergency(lat, lon, description, EmergencyAssign::Nearest(1)))
                .await;
        forget(bot, chat_id).await;
        let text = match result {
            Ok(outcome) => render::emergency(&outcome),
            Err(e) => render::error(&e),
        };
        send_markup(bot, SendMessage::new(chat_id, text).with_reply_markup(ReplyKeyboardRemove::default())).await;
        return;
    }
    // A place someone else sent (a citizen's pin passed on) marks a place, not the officer.
    if forwarded {
        return send(bot, chat_id, render::FORWARDED_LOCATION, None).await;
    }
    let recorded_at = DateTime::<Utc>::from_timestamp(at, 0);
    let reply = match call_as(&bot.state, Some(actor), || update_my_position(lat, lon, accuracy, recorded_at)).await {
        Ok(_) if live => render::LIVE_LOCATION_OK.to_owned(),
        Ok(_) => render::LOCATION_OK.to_owned(),
        Err(e) => render::error(&e),
    };
    send(bot, chat_id, &reply, None).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_drop_the_bot_name() {
        assert_eq!(command("/start@gad_bot ABC"), Some(("/start".into(), "ABC")));
        assert_eq!(command("/Tareas"), Some(("/tareas".into(), "")));
        assert_eq!(command("hola"), None);
    }
}
