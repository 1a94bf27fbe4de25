//! What the bot does with each update: commands, button presses and locations. Every action
//! is a server-function call through the harness, as the linked user.

use app::api::emergency::raise_emergency;
use app::api::feedback::send_feedback;
use app::api::officers::update_my_position;
use app::api::stats::task_stats;
use app::api::tasks::{list_tasks, task_detail, transition_task};
use app::server::harness::call_as;
use carapax::types::{
    AnswerCallbackQuery, CallbackQuery, Chat, EditMessageText, InlineKeyboardButton, KeyboardButton,
    MaybeInaccessibleMessage, Message, MessageData, ReplyKeyboardMarkup, ReplyKeyboardRemove, SendMessage, Update,
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
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::Bot;
use super::render;
use super::wizard::{self, Draft};

/// A step the chat is in the middle of, persisted by `services::conversations` (30 minutes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conversation {
    /// `/emergencia` was sent; the next location raises the emergency.
    EmergencyLocation,
    /// Finishing a task: the next text is its closing note.
    FinishNote { task_id: i64 },
    /// The `/crear` wizard.
    Create(Draft),
}

pub(super) type Keyboard = Vec<Vec<InlineKeyboardButton>>;

pub(super) async fn handle(bot: &Bot, update: Update) {
    let span = tracing::info_span!("telegram_update", update_id = update.id);
    route(bot, update).instrument(span).await
}

/// The `kind` label of `gad_bot_updates_total`.
fn kind(update: &UpdateType) -> &'static str {
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

async fn route(bot: &Bot, update: Update) {
    let update_id = update.id;
    counter!("gad_bot_updates_total", "kind" => kind(&update.update_type)).increment(1);
    match update.update_type {
        UpdateType::Message(message) => on_message(bot, *message, false).await,
        UpdateType::EditedMessage(message) => on_message(bot, *message, true).await,
        UpdateType::CallbackQuery(query) => on_callback(bot, *query).await,
        other => tracing::info!(update_id, kind = ?std::mem::discriminant(&other), "telegram update ignored"),
    }
}

/// The chat's conversation; a storage failure is logged and counts as none.
pub(super) async fn conversation(bot: &Bot, chat_id: i64) -> Option<Conversation> {
    services::conversations::load(&bot.state, chat_id).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read the bot conversation");
        None
    })
}

/// Stores the chat's conversation; false (after telling the person) if it could not be stored.
pub(super) async fn remember(bot: &Bot, chat_id: i64, value: &Conversation) -> bool {
    match services::conversations::save(&bot.state, chat_id, value).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "cannot store the bot conversation");
            send(bot, chat_id, render::INTERNAL, None).await;
            false
        }
    }
}

/// Ends the chat's conversation; whether there was one.
pub(super) async fn forget(bot: &Bot, chat_id: i64) -> bool {
    services::conversations::clear(&bot.state, chat_id).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot clear the bot conversation");
        false
    })
}

async fn on_message(bot: &Bot, message: Message, edited: bool) {
    let chat_id: i64 = message.chat.get_id().into();
    let Some(user_id) = message.sender.get_user_id().map(i64::from) else {
        return;
    };
    // Tasks, positions and statistics are personal: never answer them into a group.
    if !matches!(message.chat, Chat::Private(_)) {
        if let MessageData::Text(text) = &message.data
            && !edited
            && command(text.data.trim()).is_some()
        {
            send(bot, chat_id, render::PRIVATE_ONLY, None).await;
        }
        return;
    }
    match &message.data {
        MessageData::Text(text) if !edited => on_text(bot, chat_id, user_id, text.data.trim()).await,
        MessageData::Text(_) => {
            tracing::info!(chat_id, "edited text message not acted upon");
            send(bot, chat_id, render::EDITED_IGNORED, None).await;
        }
        MessageData::Location(location) => {
            let at = message.edit_date.unwrap_or(message.date);
            let live = location.live_period.is_some();
            on_location(
                bot,
                chat_id,
                user_id,
                degrees(location.latitude),
                degrees(location.longitude),
                location.horizontal_accuracy.map(f64::from),
                at,
                live,
                edited,
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
fn degrees(value: f32) -> f64 {
    (f64::from(value) * 1e5).round() / 1e5
}

/// Splits `/cmd@bot args` into (`/cmd`, `args`).
fn command(text: &str) -> Option<(String, &str)> {
    if !text.starts_with('/') {
        return None;
    }
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let name = head.split('@').next().unwrap_or(head).to_lowercase();
    Some((name, rest.trim()))
}

async fn on_text(bot: &Bot, chat_id: i64, user_id: i64, text: &str) {
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
        _ => send(bot, chat_id, render::UNKNOWN_COMMAND, None).await,
    }
}

/// The linked user's actor, or `None` after telling an unlinked user what to do.
pub(super) async fn actor(bot: &Bot, chat_id: i64, user_id: i64) -> Option<Actor> {
    match services::auth::actor_for_telegram(&bot.state, user_id).await {
        Ok(actor) => Some(actor),
        Err(AppError::Unauthenticated) => {
            send(bot, chat_id, render::UNLINKED, None).await;
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot resolve the telegram user");
            send(bot, chat_id, render::INTERNAL, None).await;
            None
        }
    }
}

async fn link(bot: &Bot, chat_id: i64, user_id: i64, code: &str) {
    match services::users::redeem_link_code(&bot.state, code, user_id).await {
        Ok(user) => {
            let text = format!("{}\n\n{}", render::linked(&user.first_name, &user.last_name), render::menu_text());
            send(bot, chat_id, &text, Some(render::menu_keyboard())).await;
        }
        Err(AppError::Conflict(_) | AppError::NotFound) => send(bot, chat_id, render::LINK_INVALID, None).await,
        Err(e) => {
            tracing::error!(error = %e, "telegram link failed");
            send(bot, chat_id, render::INTERNAL, None).await;
        }
    }
}

async fn my_tasks(bot: &Bot, chat_id: i64, actor: Actor) {
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
async fn finish(bot: &Bot, chat_id: i64, actor: Actor, code: &str) {
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

async fn feedback(bot: &Bot, chat_id: i64, actor: Actor, text: &str) {
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

async fn stats(bot: &Bot, chat_id: i64, actor: Actor) {
    let today = Utc::now().with_timezone(&bot.state.config.timezone).date_naive();
    let from = today - chrono::Days::new(render::STATS_DAYS - 1);
    let reply = match call_as(&bot.state, Some(actor), || task_stats(from, today)).await {
        Ok(figures) => render::stats(&figures),
        Err(e) => render::error(&e),
    };
    send(bot, chat_id, &reply, None).await;
}

async fn ask_emergency_location(bot: &Bot, chat_id: i64) {
    if !remember(bot, chat_id, &Conversation::EmergencyLocation).await {
        return;
    }
    let keyboard =
        ReplyKeyboardMarkup::from(vec![vec![KeyboardButton::new(render::SEND_LOCATION).with_request_location()]])
            .with_resize_keyboard(true)
            .with_one_time_keyboard(true);
    send_markup(bot, SendMessage::new(chat_id, render::ASK_EMERGENCY_LOCATION).with_reply_markup(keyboard)).await;
}

#[allow(clippy::too_many_arguments)]
async fn on_location(
    bot: &Bot,
    chat_id: i64,
    user_id: i64,
    lat: f64,
    lon: f64,
    accuracy: Option<f64>,
    at: i64,
    live: bool,
    edited: bool,
) {
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
    let pending = conversation(bot, chat_id).await;
    if let Some(Conversation::Create(draft)) = &pending {
        return wizard::on_location(bot, chat_id, actor, draft.clone(), lat, lon).await;
    }
    if pending == Some(Conversation::EmergencyLocation) {
        forget(bot, chat_id).await;
        let description = Some(render::EMERGENCY_DESCRIPTION.to_owned());
        let result =
            call_as(&bot.state, Some(actor), || raise_emergency(lat, lon, description, EmergencyAssign::Nearest(1)))
                .await;
        let text = match result {
            Ok(outcome) => render::emergency(&outcome),
            Err(e) => render::error(&e),
        };
        send_markup(bot, SendMessage::new(chat_id, text).with_reply_markup(ReplyKeyboardRemove::default())).await;
        return;
    }
    let recorded_at = DateTime::<Utc>::from_timestamp(at, 0);
    let reply = match call_as(&bot.state, Some(actor), || update_my_position(lat, lon, accuracy, recorded_at)).await {
        Ok(_) if live => render::LIVE_LOCATION_OK.to_owned(),
        Ok(_) => render::LOCATION_OK.to_owned(),
        Err(e) => render::error(&e),
    };
    send(bot, chat_id, &reply, None).await;
}

/// What a button press does; parsed from its callback data.
#[derive(Debug, PartialEq)]
enum Action {
    Menu(String),
    Detail(i64),
    /// The full card of a task, as a new message.
    Info(i64),
    ConfirmFinish(i64),
    /// Finish with a closing note: ask for it.
    FinishNote(i64),
    Transition(i64, TaskStatus),
    /// A page of `/historial`.
    History(HistoryFilter, usize),
    /// A step of the `/crear` wizard.
    Wizard(String),
}

fn parse_action(data: &str) -> Option<Action> {
    let mut parts = data.split(':');
    let kind = parts.next()?;
    if kind == "c" {
        let rest = data.get(2..)?;
        return (!rest.is_empty() && rest.len() <= 60).then(|| Action::Wizard(rest.to_owned()));
    }
    let action = match kind {
        "m" => Action::Menu(parts.next()?.to_owned()),
        "d" => Action::Detail(parts.next()?.parse().ok()?),
        "f" => Action::ConfirmFinish(parts.next()?.parse().ok()?),
        "i" => Action::Info(parts.next()?.parse().ok()?),
        "n" => Action::FinishNote(parts.next()?.parse().ok()?),
        "h" => Action::History(HistoryFilter::from_code(parts.next()?)?, parts.next()?.parse().ok()?),
        "t" => Action::Transition(parts.next()?.parse().ok()?, parts.next()?.parse().ok()?),
        _ => return None,
    };
    parts.next().is_none().then_some(action)
}

async fn on_callback(bot: &Bot, query: CallbackQuery) {
    let user_id: i64 = query.from.id.into();
    let message = match &query.message {
        Some(MaybeInaccessibleMessage::Message(m)) if !matches!(m.chat, Chat::Private(_)) => None,
        Some(MaybeInaccessibleMessage::Message(m)) => Some((i64::from(m.chat.get_id()), m.id)),
        Some(MaybeInaccessibleMessage::InaccessibleMessage(m)) => Some((i64::from(m.chat.get_id()), m.message_id)),
        None => None,
    };
    // Telegram shows a spinner until the query is answered: answer on every path.
    let (answer, alert) = callback_outcome(bot, user_id, message, query.data.as_deref()).await;
    let mut method = AnswerCallbackQuery::new(query.id.clone());
    if let Some(text) = answer {
        method = method.with_text(text).with_show_alert(alert);
    }
    if let Err(e) = bot.execute(method).await {
        tracing::warn!(error = %bot.describe(&e), "answerCallbackQuery failed");
    }
}

/// Runs the pressed button; returns the text of the callback answer and whether it is an alert.
async fn callback_outcome(
    bot: &Bot,
    user_id: i64,
    message: Option<(i64, i64)>,
    data: Option<&str>,
) -> (Option<String>, bool) {
    let actor = match services::auth::actor_for_telegram(&bot.state, user_id).await {
        Ok(actor) => actor,
        Err(AppError::Unauthenticated) => return (Some(render::UNLINKED.to_owned()), true),
        Err(e) => {
            tracing::error!(error = %e, "cannot resolve the telegram user");
            return (Some(render::INTERNAL.to_owned()), true);
        }
    };
    let Some(action) = data.and_then(parse_action) else {
        return (Some(render::STALE_BUTTON.to_owned()), true);
    };
    let Some((chat_id, message_id)) = message else {
        return (Some(render::STALE_BUTTON.to_owned()), true);
    };
    match action {
        Action::Menu(item) => {
            match item.as_str() {
                "tareas" => my_tasks(bot, chat_id, actor).await,
                "estadisticas" => stats(bot, chat_id, actor).await,
                "emergencia" => ask_emergency_location(bot, chat_id).await,
                "ayuda" => send(bot, chat_id, render::HELP, None).await,
                "historial" => history(bot, chat_id, actor, HistoryFilter::All, 0, None).await,
                "crear" => wizard::start(bot, chat_id, actor).await,
                _ => return (Some(render::STALE_BUTTON.to_owned()), true),
            }
            (None, false)
        }
        Action::Detail(id) => match call_as(&bot.state, Some(actor), || task_detail(id)).await {
            Ok(detail) => {
                edit(bot, chat_id, message_id, &render::task(&detail), render::task_keyboard(&detail)).await;
                (None, false)
            }
            Err(e) => (Some(render::error(&e)), true),
        },
        Action::Info(id) => match call_as(&bot.state, Some(actor), || task_detail(id)).await {
            Ok(detail) => {
                send(bot, chat_id, &render::task_info(&detail), Some(render::task_keyboard(&detail))).await;
                (None, false)
            }
            Err(e) => (Some(render::error(&e)), true),
        },
        Action::FinishNote(id) => match call_as(&bot.state, Some(actor), || task_detail(id)).await {
            Ok(detail) if detail.allowed_transitions.contains(&TaskStatus::Completed) => {
                if remember(bot, chat_id, &Conversation::FinishNote { task_id: id }).await {
                    send(bot, chat_id, &render::ask_finish_note(&detail.code), None).await;
                }
                (None, false)
            }
            Ok(_) => (Some(render::CANNOT_FINISH.to_owned()), true),
            Err(e) => (Some(render::error(&e)), true),
        },
        Action::History(filter, page) => {
            history(bot, chat_id, actor, filter, page, Some(message_id)).await;
            (None, false)
        }
        Action::Wizard(step) => wizard::on_callback(bot, chat_id, message_id, actor, &step).await,
        Action::ConfirmFinish(id) => match call_as(&bot.state, Some(actor), || task_detail(id)).await {
            Ok(detail) if detail.allowed_transitions.contains(&TaskStatus::Completed) => {
                edit(bot, chat_id, message_id, &render::confirm_finish(&detail), render::confirm_keyboard(id)).await;
                (None, false)
            }
            Ok(_) => (Some(render::CANNOT_FINISH.to_owned()), true),
            Err(e) => (Some(render::error(&e)), true),
        },
        Action::Transition(id, to) => match call_as(&bot.state, Some(actor), || transition_task(id, to, None)).await {
            Ok(detail) => {
                edit(bot, chat_id, message_id, &render::task(&detail), render::task_keyboard(&detail)).await;
                (Some(render::transition_done(to).to_owned()), false)
            }
            Err(e) => (Some(render::error(&e)), true),
        },
    }
}

/// Finishes `task_id` with `note` as the closing note in its history.
async fn finish_with_note(bot: &Bot, chat_id: i64, actor: Actor, task_id: i64, note: &str) {
    let note = note.to_owned();
    match call_as(&bot.state, Some(actor), || transition_task(task_id, TaskStatus::Completed, Some(note))).await {
        Ok(detail) => {
            forget(bot, chat_id).await;
            let text = format!("{}\n\n{}", render::transition_done(TaskStatus::Completed), render::task(&detail));
            send(bot, chat_id, &text, None).await;
        }
        // A note too long is worth a retry; anything else ends the step.
        Err(e) if e.code == app::api::ErrorCode::Validation => {
            send(bot, chat_id, &format!("{}\n{}", render::error(&e), render::FINISH_NOTE_RETRY), None).await
        }
        Err(e) => {
            forget(bot, chat_id).await;
            send(bot, chat_id, &render::error(&e), None).await;
        }
    }
}

/// Which tasks `/historial` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HistoryFilter {
    All,
    Open,
    Finished,
}

impl HistoryFilter {
    fn parse(arg: &str) -> Option<Self> {
        match arg.trim().to_lowercase().as_str() {
            "" | "todas" => Some(Self::All),
            "activas" => Some(Self::Open),
            "finalizadas" => Some(Self::Finished),
            _ => None,
        }
    }

    pub(super) fn code(self) -> &'static str {
        match self {
            Self::All => "t",
            Self::Open => "a",
            Self::Finished => "f",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        [Self::All, Self::Open, Self::Finished].into_iter().find(|f| f.code() == code)
    }

    fn keeps(self, status: TaskStatus) -> bool {
        match self {
            Self::All => true,
            Self::Open => status.is_open(),
            Self::Finished => status.is_final(),
        }
    }
}

/// One page of my tasks, newest first; sent, or edited into `message_id` when paging.
async fn history(bot: &Bot, chat_id: i64, actor: Actor, filter: HistoryFilter, page: usize, message_id: Option<i64>) {
    let tasks = match call_as(&bot.state, Some(actor), || list_tasks(TaskScope::Mine)).await {
        Ok(tasks) => tasks,
        Err(e) => return send(bot, chat_id, &render::error(&e), None).await,
    };
    let mut tasks: Vec<_> = tasks.into_iter().filter(|t| filter.keeps(t.status)).collect();
    tasks.sort_by(|a, b| {
        let key = |t: &contract::tasks::TaskSummary| t.scheduled_start_at.unwrap_or(t.created_at);
        key(b).cmp(&key(a)).then(b.id.cmp(&a.id))
    });
    let pages = tasks.len().div_ceil(render::HISTORY_PAGE).max(1);
    let page = page.min(pages - 1);
    let shown: Vec<_> = tasks.iter().skip(page * render::HISTORY_PAGE).take(render::HISTORY_PAGE).collect();
    let text = render::history(filter, &shown, tasks.len(), page, pages);
    let keyboard = render::history_keyboard(filter, &shown, page, pages);
    match message_id {
        Some(message_id) => edit(bot, chat_id, message_id, &text, keyboard).await,
        None => send(bot, chat_id, &text, Some(keyboard)).await,
    }
}

pub(super) async fn send(bot: &Bot, chat_id: i64, text: &str, keyboard: Option<Keyboard>) {
    let mut method = SendMessage::new(chat_id, text);
    if let Some(keyboard) = keyboard {
        method = method.with_reply_markup(keyboard);
    }
    send_markup(bot, method).await;
}

pub(super) async fn send_markup(bot: &Bot, method: SendMessage) {
    if let Err(e) = bot.execute(method).await {
        tracing::warn!(error = %bot.describe(&e), "sendMessage failed");
    }
}

pub(super) async fn edit(bot: &Bot, chat_id: i64, message_id: i64, text: &str, keyboard: Keyboard) {
    let method = EditMessageText::for_chat_message(chat_id, message_id, text).with_reply_markup(keyboard);
    if let Err(e) = bot.execute(method).await {
        tracing::warn!(error = %bot.describe(&e), "editMessageText failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips() {
        assert_eq!(parse_action("t:12:in_progress"), Some(Action::Transition(12, TaskStatus::InProgress)));
        assert_eq!(parse_action("f:3"), Some(Action::ConfirmFinish(3)));
        assert_eq!(parse_action("d:3"), Some(Action::Detail(3)));
        assert_eq!(parse_action("i:3"), Some(Action::Info(3)));
        assert_eq!(parse_action("n:3"), Some(Action::FinishNote(3)));
        assert_eq!(parse_action("h:a:2"), Some(Action::History(HistoryFilter::Open, 2)));
        assert_eq!(parse_action("h:z:2"), None);
        assert_eq!(parse_action("c:ty:patrol"), Some(Action::Wizard("ty:patrol".into())));
        assert_eq!(parse_action("c:"), None);
        assert_eq!(parse_action("m:tareas"), Some(Action::Menu("tareas".into())));
        assert_eq!(parse_action("t:12:nope"), None);
        assert_eq!(parse_action("t:x:paused"), None);
        assert_eq!(parse_action("d:1:2"), None);
        assert_eq!(parse_action(""), None);
    }

    #[test]
    fn commands_drop_the_bot_name() {
        assert_eq!(command("/start@gad_bot ABC"), Some(("/start".into(), "ABC")));
        assert_eq!(command("/Tareas"), Some(("/tareas".into(), "")));
        assert_eq!(command("hola"), None);
    }
}
