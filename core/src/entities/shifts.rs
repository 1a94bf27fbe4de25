//! `shifts` (turnos): an officer's concrete shifts; a recurring pattern's shifts share a
//! `series` key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shifts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub officer_id: i64,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub series: Option<String>,
    pub note: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::officers::Entity",
        from = "Column::OfficerId",
        to = "super::officers::Column::Id",
        on_delete = "Cascade"
    )]
    Officer,
}

impl Related<super::officers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Officer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
