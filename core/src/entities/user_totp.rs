//! `user_totp`: a user's authenticator secret (base32, RFC 6238). Unconfirmed (`confirmed_at`
//! empty) while the user is enrolling; active once confirmed with a code. `last_used_step` is
//! the last 30-second step accepted, so no code is accepted twice. Never sent to a browser
//! after enrolment, never logged.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_totp")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    pub secret: String,
    pub confirmed_at: Option<DateTimeUtc>,
    pub last_used_step: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
