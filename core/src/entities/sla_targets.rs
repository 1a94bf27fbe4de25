//! `sla_targets`: minutes to acknowledge, start and finish per task type (`*`: every type)
//! and priority (both stored as their vocabulary text).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_type: String,
    pub priority: String,
    pub ack_minutes: Option<i32>,
    pub start_minutes: Option<i32>,
    pub finish_minutes: Option<i32>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
