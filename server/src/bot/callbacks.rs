//! Inline-button presses: transitions, details, finishing with a note, history pages, the
//! wizard's steps and the menu.

use app::api::tasks::{acknowledge_task, list_tasks, task_detail, transition_task};
use app::server::harness::call_as;
use carapax::types::{AnswerCallbackQuery, CallbackQuery, Chat, MaybeInaccessibleMessage};
use contract::domain::TaskStatus;
use contract::tasks::TaskScope;
use gad_core::actor::Actor;
use gad_core::error::AppError;
use gad_core::services;

use super::Bot;
use super::render;
use super::wizard::{self};

use super::chat::*;
use super::handlers::*;

/// What a button press does; parsed from its callback data.
#[derive(Debug, PartialEq)]
pub(super) enum Action {
    Menu(String),
    Detail(i64),
    /// The full card of a task, as a new message.
    Info(i64),
    ConfirmFinish(i64),
    /// Finish with a closing note: ask for it.
    FinishNote(i64),
    Transition(i64, TaskStatus),
    /// Confirm receipt of a task (its acknowledge deadline).
    Acknowledge(i64),
    /// A page of `/historial`.
    History(HistoryFilter, usize),
    /// A step of the `/crear` wizard.
    Wizard(String),
}

pub(super) fn parse_action(data: &str) -> Option<Action> {
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
        "a" => Action::Acknowledge(parts.next()?.parse().ok()?),
        _ => return None,
    };
    parts.next().is_none().then_some(action)
}

pub(super) async fn on_callback(bot: &Bot, query: CallbackQuery) {
    let user_id: i64 = query.from.id.into();
    let message = match &query.message {
        Some(MaybeInaccessibleMessage::Message(m)) if !matches!(m.chat, Chat::Private(_)) => None,
        Some(MaybeInaccessibleMessage::Message(m)) => Some((i64::from(m.chat.get_id()), m.id)),
        Some(MaybeInaccessibleMessage::InaccessibleMessage(m)) => Some((i64::from(m.chat.get_id()), m.message_id)),
        None => None,
    }
    // Only the presser's own private chat (whose id is theirs): answers never go to a chat a
    // message with our buttons was carried into.
    .filter(|(chat, _)| *chat == user_id);
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
pub(super) async fn callback_outcome(
    bot: &Bot,
    user_id: i64,
    message: Option<(i64, i64)>,
    data: Option<&str>,
) -> (Option<String>, bool) {
    let actor = match services::auth::actor_for_telegram(&bot.state, user_id).await {
        Ok(actor) => actor,
        Err(AppError::Unauthenticated) => return (Some(render::UNLINKED.to_owned()), true),
        Err(AppError::TwoFactorSetupRequired) => return (Some(render::TWO_FACTOR_FIRST.to_owned()), true),
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
        Action::Acknowledge(id) => match call_as(&bot.state, Some(actor), || acknowledge_task(id)).await {
            Ok(detail) => {
                edit(bot, chat_id, message_id, &render::task(&detail), render::task_keyboard(&detail)).await;
                (Some(render::ACKNOWLEDGED.to_owned()), false)
            }
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
pub(super) async fn finish_with_note(bot: &Bot, chat_id: i64, actor: Actor, task_id: i64, note: &str) {
    let note = note.to_owned();
    match call_as(&bot.state, Some(actor), || transition_task(task_id, TaskStatus::Completed, Some(note))).await {
        Ok(detail) => {
            forget(bot, chat_id).await;
            let text = format!("{}\n\n{}", render::transition_done(TaskStatus::Completed), render::task(&detail));
            send(bot, chat_id, &text, None).await;
        }
        // A note too long is worth a retry; anything else ends the step.
        Err(e) if e.code == contract::ErrorCode::Validation => {
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
    pub(super) fn parse(arg: &str) -> Option<Self> {
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
pub(super) async fn history(
    bot: &Bot,
    chat_id: i64,
    actor: Actor,
    filter: HistoryFilter,
    page: usize,
    message_id: Option<i64>,
) {
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
        assert_eq!(parse_action("a:4"), Some(Action::Acknowledge(4)));
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
}
