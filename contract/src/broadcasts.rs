//! Telegram broadcasts (difusiones) and the groups they go to.
//!
//! Supervisors and admins compose a broadcast to a group; it is stored `pending` and the bot
//! process delivers it, recording the delivery result. Admins manage the groups.

use crate::domain::{BroadcastKind, DeliveryStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A named broadcast target: a Telegram group or channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramGroup {
    pub id: i64,
    pub name: String,
    /// Telegram chat id (groups and channels are negative).
    pub chat_id: i64,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One broadcast with its delivery result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Broadcast {
    pub id: i64,
    pub group_id: i64,
    pub group_name: String,
    pub kind: BroadcastKind,
    pub text: String,
    pub sender_id: Option<i64>,
    pub sender: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When Telegram accepted it (delivered) or the attempt failed.
    pub sent_at: Option<DateTime<Utc>>,
    pub delivery_status: DeliveryStatus,
    /// Telegram's reason for a failure, in its words (never a secret).
    pub delivery_error: Option<String>,
}

/// A standard protocol message the composer can start from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastTemplate {
    pub key: String,
    /// Spanish name shown in the composer.
    pub name: String,
    pub kind: BroadcastKind,
    pub text: String,
}
