//! `task_status_history` (historial): one row per lifecycle transition.

use sea_orm::entity::prelude::*;

use contract::domain::{Channel, TaskStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_status_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_id: i64,
    /// `None` for the creation row.
    pub from_status: Option<TaskStatus>,
    pub to_status: TaskStatus,
    pub changed_by: Option<i64>,
    pub channel: Channel,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
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
        belongs_to = "super::users::Entity",
        from = "Column::ChangedBy",
        to = "super::users::Column::Id",
        on_delete = "SetNull"
    )]
    ChangedBy,
}

impl Related<super::tasks::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ChangedBy.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
