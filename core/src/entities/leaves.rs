//! `leaves` (licencias): an officer's leave over `[starts_at, ends_at)` (local midnights), its
//! kind and its approval.

use sea_orm::entity::prelude::*;

use contract::domain::{LeaveKind, LeaveStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leaves")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub officer_id: i64,
    pub kind: LeaveKind,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub status: LeaveStatus,
    pub reason: Option<String>,
    pub requested_by: Option<i64>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub decision_note: Option<String>,
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
