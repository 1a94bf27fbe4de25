//! `broadcasts` (difusiones): messages sent to a Telegram group, with their delivery result.
//! Deleting a group deletes its broadcasts.

use sea_orm::entity::prelude::*;

use contract::domain::{BroadcastKind, DeliveryStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "broadcasts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_id: i64,
    pub kind: BroadcastKind,
    pub text: String,
    pub sender_id: Option<i64>,
    pub sent_at: Option<DateTimeUtc>,
    pub delivery_status: DeliveryStatus,
    pub delivery_error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::telegram_groups::Entity",
        from = "Column::GroupId",
        to = "super::telegram_groups::Column::Id",
        on_delete = "Cascade"
    )]
    Group,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::SenderId",
        to = "super::users::Column::Id",
        on_delete = "SetNull"
    )]
    Sender,
}

impl Related<super::telegram_groups::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Group.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sender.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
