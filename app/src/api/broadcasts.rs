//! Telegram broadcasts (difusiones) and the groups they go to.
//!
//! Supervisors and admins compose a broadcast to a group; it is stored `pending` and the bot
//! process delivers it, recording the delivery result. Admins manage the groups.

use contract::domain::BroadcastKind;
use contract::{ApiError, Page};
use leptos::prelude::*;

use contract::broadcasts::*;

/// Every Telegram group, by name. Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "list_telegram_groups", output = crate::api::codec::JsonText)]
pub async fn list_telegram_groups() -> Result<Vec<TelegramGroup>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::broadcasts::list_groups(state, actor).await).await
}

/// Adds a group (admins). `chat_id` is the Telegram chat id of the group or channel.
#[server(prefix = "/api/fn", endpoint = "create_telegram_group", output = crate::api::codec::JsonText)]
pub async fn create_telegram_group(
    name: String,
    chat_id: i64,
    #[server(default)] description: Option<String>,
) -> Result<TelegramGroup, ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    context::serve(async |state, actor| {
        services::broadcasts::create_group(state, actor, &meta, name, chat_id, description).await
    })
    .await
}

/// `create_telegram_group` for the composer's plain HTML form: the chat id arrives as text and a
/// malformed one is a Spanish validation error, not a decoding failure. Admins.
#[server(prefix = "/api/fn", endpoint = "add_telegram_group", output = crate::api::codec::JsonText)]
pub async fn add_telegram_group(name: String, chat_id: String) -> Result<TelegramGroup, ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::respond(
        async {
            let chat_id = chat_id.trim().parse::<i64>().map_err(|_| {
                gad_core::error::AppError::validation(
                    "chat_id",
                    "El identificador de chat debe ser un número (los grupos son negativos, p. ej. -1001234567890).",
                )
            })?;
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            context::as_writer(
                &state,
                &actor,
                services::broadcasts::create_group(&state, &actor, &meta, name, chat_id, None),
            )
            .await
        }
        .await,
    );
    crate::api::form_redirect(&meta, &result, "/difusion", "/difusion");
    result
}

/// Deletes a group and its broadcast history (admins).
#[server(prefix = "/api/fn", endpoint = "delete_telegram_group", output = crate::api::codec::JsonText)]
pub async fn delete_telegram_group(id: i64) -> Result<(), ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    context::serve(async |state, actor| services::broadcasts::delete_group(state, actor, &meta, id).await).await
}

/// Queues a broadcast to a group (supervisors and admins); the bot delivers it within seconds.
/// Whether a Telegram bot is configured to deliver broadcasts.
#[server(prefix = "/api/fn", endpoint = "telegram_bot_configured", output = crate::api::codec::JsonText)]
pub async fn telegram_bot_configured() -> Result<bool, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::broadcasts::bot_configured(state, actor)).await
}

#[server(prefix = "/api/fn", endpoint = "create_broadcast", output = crate::api::codec::JsonText)]
pub async fn create_broadcast(group_id: i64, kind: BroadcastKind, text: String) -> Result<Broadcast, ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        services::broadcasts::create(state, actor, &meta, group_id, kind, text).await
    })
    .await;
    crate::api::form_redirect(&meta, &result, "/difusion?enviado=1", "/difusion");
    result
}

/// Broadcast history, newest first, with delivery status (supervisors and admins).
#[server(prefix = "/api/fn", endpoint = "list_broadcasts", output = crate::api::codec::JsonText)]
pub async fn list_broadcasts(
    #[server(default)] group_id: Option<i64>,
    #[server(default)] cursor: Option<String>,
    #[server(default)] limit: Option<u32>,
) -> Result<Page<Broadcast>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::broadcasts::list(state, actor, group_id, cursor, limit).await).await
}

/// The standard protocol templates (red code, evacuation, reinforcements, end of operation,
/// urgent supervisors meeting). Supervisors and admins.
#[server(prefix = "/api/fn", endpoint = "broadcast_templates", output = crate::api::codec::JsonText)]
pub async fn broadcast_templates() -> Result<Vec<BroadcastTemplate>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::respond(
        async {
            let actor = context::current_actor().await?;
            services::broadcasts::templates(&actor)
        }
        .await,
    )
}
