//! `tasks` (tareas). Soft-deleted. On PostgreSQL the table also has a generated,
//! GIST-indexed `geog` column (from `lat`/`lon`), not mapped here.
//!
//! Database rules worth knowing: `scheduled_end > scheduled_start` and
//! `actual_end >= actual_start` when both are set; lat/lon in range and set together; moving
//! an assigned task (`scheduled_start`, `scheduled_end`, `deleted_at`) onto an overlapping
//! open task of one of its officers fails with `officer_schedule_overlap` unless that
//! assignment has `overlap_override`.

use sea_orm::entity::prelude::*;

use contract::domain::{TaskPriority, TaskStatus, TaskType};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `<TYPE>-<YEAR>-<SEQ>` unless given.
    #[sea_orm(unique)]
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    pub scheduled_start: Option<DateTimeUtc>,
    pub scheduled_end: Option<DateTimeUtc>,
    pub actual_start: Option<DateTimeUtc>,
    pub actual_end: Option<DateTimeUtc>,
    pub paused_at: Option<DateTimeUtc>,
    /// Total paused time in seconds; actual duration = end − start − paused.
    pub paused_seconds: i64,
    /// The delegado in charge.
    pub supervisor_id: Option<i64>,
    pub created_by: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub location_text: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// Deadlines (`services::sla`): to acknowledge, start and finish, and the earliest unmet.
    pub ack_due_at: Option<DateTimeUtc>,
    pub start_due_at: Option<DateTimeUtc>,
    pub finish_due_at: Option<DateTimeUtc>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub sla_due_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::SupervisorId",
        to = "super::users::Column::Id",
        on_delete = "SetNull"
    )]
    Supervisor,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::CreatedBy",
        to = "super::users::Column::Id",
        on_delete = "Restrict"
    )]
    Creator,
    #[sea_orm(has_many = "super::task_assignments::Entity")]
    Assignments,
    #[sea_orm(has_many = "super::task_status_history::Entity")]
    History,
}

/// `find_also_related(users::Entity)` joins the supervisor; use `Relation::Creator` explicitly
/// for the creator.
impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Supervisor.def()
    }
}

impl Related<super::task_assignments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assignments.def()
    }
}

impl Related<super::task_status_history::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::History.def()
    }
}

/// tasks n–n officers through task_assignments.
impl Related<super::officers::Entity> for Entity {
    fn to() -> RelationDef {
        super::task_assignments::Relation::Officer.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::task_assignments::Relation::Task.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
