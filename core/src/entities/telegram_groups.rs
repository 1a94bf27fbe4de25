//! `telegram_groups`: named broadcast targets mapped to Telegram chat ids.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telegram_groups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub chat_id: i64,
    pub description: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::broadcasts::Entity")]
    Broadcasts,
}

impl Related<super::broadcasts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Broadcasts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
