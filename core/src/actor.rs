//! Who is acting: resolved from the dashboard session, an API token, or a linked Telegram account.

use contract::domain::{Channel, Role};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
    /// First and last name, as the dashboard's header shows them.
    pub full_name: String,
    pub email: String,
    /// The officer profile linked to this user, if any.
    pub officer_id: Option<i64>,
    pub telegram_user_id: Option<i64>,
    /// The door the request came through (recorded in history and audit rows).
    pub channel: Channel,
    /// Acting through a read-only API token: every mutating capability is refused.
    pub read_only: bool,
    /// Acting through a personal API token: a stolen token must not mint more credentials,
    /// so tokens, Telegram link codes and password changes are refused
    /// (`permissions::require_interactive`).
    pub via_token: bool,
    /// The user's `credential_epoch` when this actor was read; a session stamped with
    /// another value is dead.
    pub credential_epoch: i64,
    /// An admin reset the password: until the user changes it, a session may do nothing else.
    pub must_change_password: bool,
}
