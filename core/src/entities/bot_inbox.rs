//! `bot_inbox`: Telegram updates received (acknowledged to Telegram), until handled and for a
//! while after (see `services::bot_inbox`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bot_inbox")]
pub struct Model {
    /// Telegram's `update_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub update_id: i64,
    /// The update as Telegram sent it (JSON).
    pub body: String,
    pub received_at: DateTimeUtc,
    /// When the bot finished with it (kept a while, so Telegram sending it again is ignored).
    pub handled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
