//! `task_assignments`: who is on which task — the only such record. `(task_id, officer_id)`
//! is unique.
//!
//! Inserting (or re-pointing) an assignment that gives the officer two overlapping open tasks
//! (scheduled / in progress / paused, not deleted, `[COALESCE(scheduled_start, actual_start),
//! COALESCE(scheduled_end, +∞))`) fails in the database with an error containing
//! `officer_schedule_overlap` (`migrations::OVERLAP_ERROR_TOKEN`) unless `overlap_override`
//! is true.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_id: i64,
    pub officer_id: i64,
    pub assigned_at: DateTimeUtc,
    pub assigned_by: Option<i64>,
    /// A supervisor accepted an overlap with the officer's other tasks.
    pub overlap_override: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tasks::Entity",
        from = "Column::TaskId",
        to = "super::tasks::Column::Id",
        on_delete = "Cascade"
    )]
    Task,
    #[sea_orm(
        belongs_to = "super::officers::Entity",
        from = "Column::OfficerId",
        to = "super::officers::Column::Id",
        on_delete = "Cascade"
    )]
    Officer,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::AssignedBy",
        to = "super::users::Column::Id",
        on_delete = "SetNull"
    )]
    AssignedBy,
}

impl Related<super::tasks::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl Related<super::officers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Officer.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AssignedBy.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
