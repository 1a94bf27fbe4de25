//! `users`: people who can log in (dashboard, Telegram, API). Soft-deleted via `deleted_at`.

use sea_orm::entity::prelude::*;

use contract::domain::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub dni: String,
    pub first_name: String,
    pub last_name: String,
    /// Always lowercase (a CHECK constraint refuses anything else).
    #[sea_orm(unique)]
    pub email: String,
    pub phone: Option<String>,
    #[sea_orm(unique)]
    pub telegram_user_id: Option<i64>,
    pub role: Role,
    /// Argon2id PHC string; `None` for accounts that cannot log in with a password.
    pub password_hash: Option<String>,
    pub is_active: bool,
    pub last_login_at: Option<DateTimeUtc>,
    pub failed_login_count: i32,
    pub locked_until: Option<DateTimeUtc>,
    /// Bumped whenever the user's credentials are revoked as a whole (password change or
    /// reset, deactivation, deletion): sessions stamped with an older value are dead.
    pub credential_epoch: i64,
    /// Set by an admin's password reset: until the user picks a new password, signing in
    /// leads only to the change-password page.
    pub must_change_password: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::officers::Entity")]
    Officer,
    #[sea_orm(has_many = "super::api_tokens::Entity")]
    ApiTokens,
    #[sea_orm(has_many = "super::telegram_links::Entity")]
    TelegramLinks,
    #[sea_orm(has_many = "super::notes::Entity")]
    Notes,
}

impl Related<super::officers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Officer.def()
    }
}

impl Related<super::api_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiTokens.def()
    }
}

impl Related<super::telegram_links::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TelegramLinks.def()
    }
}

impl Related<super::notes::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Notes.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
