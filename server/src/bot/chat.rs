//! The bot's transport: sending and editing messages, the chat's persisted conversation
//! step, and who the sender is. Commands (`handlers`), buttons (`callbacks`) and the wizard
//! speak to Telegram only through here.

use carapax::types::{EditMessageText, InlineKeyboardButton, SendMessage};
use gad_core::actor::Actor;
use gad_core::error::AppError;
use gad_core::services;
use serde::{Deserialize, Serialize};

use super::Bot;
use super::render;
use super::wizard::Draft;

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

/// The chat's conversation; a storage failure is logged and counts as none.
pub(super) async fn conversation(bot: &Bot, chat_id: i64) -> Option<Conversation> {
    conversation_read(bot, chat_id).await.unwrap_or(None)
}

/// The chat's conversation, or `Err` (logged) when its storage cannot be read: for a message
/// whose meaning depends on it (a location is an emergency's place or the officer's position).
pub(super) async fn conversation_read(bot: &Bot, chat_id: i64) -> Result<Option<Conversation>, ()> {
    services::conversations::load(&bot.state, chat_id).await.map_err(|e| {
        tracing::error!(error = %e, "cannot read the bot conversation");
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

/// The linked user's actor, or `None` after telling an unlinked user what to do.
pub(super) async fn actor(bot: &Bot, chat_id: i64, user_id: i64) -> Option<Actor> {
    match services::auth::actor_for_telegram(&bot.state, user_id).await {
        Ok(actor) => Some(actor),
        Err(AppError::Unauthenticated) => {
            if bot.tell_once(chat_id) {
                send(bot, chat_id, render::UNLINKED, None).await;
            }
            None
        }
        Err(AppError::TwoFactorSetupRequired) => {
            send(bot, chat_id, render::TWO_FACTOR_FIRST, None).await;
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot resolve the telegram user");
            send(bot, chat_id, render::INTERNAL, None).await;
            None
        }
    }
}

pub(super) async fn send(bot: &Bot, chat_id: i64, text: &str, keyboard: Option<Keyboard>) {
    let mut method = SendMessage::new(chat_id, render::fit(text));
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
    let method = EditMessageText::for_chat_message(chat_id, message_id, render::fit(text)).with_reply_markup(keyboard);
    if let Err(e) = bot.execute(method).await {
        tracing::warn!(error = %bot.describe(&e), "editMessageText failed");
    }
}
