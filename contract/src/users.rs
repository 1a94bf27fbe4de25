//! User administration, Telegram link codes and personal API tokens.

use crate::domain::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: i64,
    pub dni: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub telegram_linked: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub locked: bool,
}

/// Input for creating a user. Without a password, one is generated and returned once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUserInput {
    pub dni: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub password: Option<String>,
    /// For the officer role: the officer profile created with the user, in the same
    /// operation (without it the profile is created with the next free code and an empty
    /// rank and unit, to be completed under Efectivos). Ignored for other roles.
    #[serde(default)]
    pub officer: Option<OfficerProfile>,
}

/// The officer profile created together with an officer's user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficerProfile {
    /// Empty or absent: the next free `EF-NNN`.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub rank: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub specialty: Option<String>,
}

/// Partial update: only the fields present change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserUpdate {
    #[serde(default)]
    pub dni: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUser {
    pub user: UserSummary,
    /// Present only when the password was generated: shown once.
    pub generated_password: Option<String>,
    /// The code of the officer profile created with an officer's user.
    #[serde(default)]
    pub officer_code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkCode {
    /// The one-time code (shown once): the user sends `/start <code>` to the bot.
    pub code: String,
    /// `https://t.me/<bot>?start=<code>` when the bot's username is configured.
    pub deep_link: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiTokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiToken {
    /// The secret token (shown once; only its hash is stored).
    pub token: String,
    pub info: ApiTokenInfo,
}
