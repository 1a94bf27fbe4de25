//! `feedback` (retroalimentación) from any channel.

use sea_orm::entity::prelude::*;

use contract::domain::{Channel, FeedbackStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel: Channel,
    pub user_id: Option<i64>,
    pub telegram_user_id: Option<i64>,
    pub text: String,
    pub category: Option<String>,
    pub sentiment_score: Option<f64>,
    pub sentiment_label: Option<String>,
    pub status: FeedbackStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "SetNull"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
