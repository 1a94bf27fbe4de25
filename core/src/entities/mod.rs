//! sea-orm entities, one module per table of the `migrations` schema.
//!
//! Conventions: `id: i64` primary keys, `DateTimeUtc` times, the `contract::domain` enums for
//! the TEXT vocabulary columns. The PostGIS `geography` columns that exist on PostgreSQL only
//! (`tasks.geog`, `officers.last_geog`, `officer_positions.geog`, generated from lat/lon) are
//! deliberately not mapped, so every entity works on both backends; spatial queries use raw
//! SQL on PostgreSQL.
//!
//! Relations mapped: users 1–1 officers; tasks 1–n task_assignments n–1 officers (and tasks
//! n–n officers through it); tasks 1–n task_status_history; tasks n–1 users (supervisor,
//! creator); officers 1–n officer_positions; users 1–n api_tokens, telegram_links, notes; officers 1–n shifts, leaves;
//! telegram_groups 1–n broadcasts.

pub mod api_tokens;
pub mod audit_log;
pub mod bot_conversations;
pub mod bot_inbox;
pub mod broadcasts;
pub mod event_consumers;
pub mod event_outbox;
pub mod feedback;
pub mod leaves;
pub mod notes;
pub mod officer_positions;
pub mod officers;
pub mod shifts;
pub mod sla_escalations;
pub mod sla_targets;
pub mod task_assignments;
pub mod task_status_history;
pub mod tasks;
pub mod telegram_groups;
pub mod telegram_links;
pub mod user_recovery_codes;
pub mod user_totp;
pub mod users;

pub mod prelude {
    pub use super::api_tokens::Entity as ApiTokens;
    pub use super::audit_log::Entity as AuditLog;
    pub use super::bot_conversations::Entity as BotConversations;
    pub use super::bot_inbox::Entity as BotInbox;
    pub use super::broadcasts::Entity as Broadcasts;
    pub use super::feedback::Entity as Feedback;
    pub use super::notes::Entity as Notes;
    pub use super::officer_positions::Entity as OfficerPositions;
    pub use super::officers::Entity as Officers;
    pub use super::task_assignments::Entity as TaskAssignments;
    pub use super::task_status_history::Entity as TaskStatusHistory;
    pub use super::tasks::Entity as Tasks;
    pub use super::telegram_groups::Entity as TelegramGroups;
    pub use super::telegram_links::Entity as TelegramLinks;
    pub use super::users::Entity as Users;
}

#[cfg(test)]
mod tests;
