//! `officers` (efectivos): field staff, optionally linked 1–1 to a user. Soft-deleted.
//! On PostgreSQL the table also has `last_geog geography(Point,4326)`, generated from
//! `last_lat`/`last_lon` and GIST-indexed; it is not mapped here.

use sea_orm::entity::prelude::*;

use contract::domain::{OfficerStatus, PositionSource};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "officers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub user_id: Option<i64>,
    #[sea_orm(unique)]
    pub code: String,
    pub first_name: String,
    pub last_name: String,
    pub rank: String,
    pub unit: String,
    pub specialty: Option<String>,
    pub status: OfficerStatus,
    pub status_changed_at: DateTimeUtc,
    pub last_lat: Option<f64>,
    pub last_lon: Option<f64>,
    pub last_position_at: Option<DateTimeUtc>,
    pub last_position_source: Option<PositionSource>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
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
    #[sea_orm(has_many = "super::task_assignments::Entity")]
    TaskAssignments,
    #[sea_orm(has_many = "super::officer_positions::Entity")]
    Positions,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::task_assignments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TaskAssignments.def()
    }
}

impl Related<super::officer_positions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Positions.def()
    }
}

/// officers n–n tasks through task_assignments.
impl Related<super::tasks::Entity> for Entity {
    fn to() -> RelationDef {
        super::task_assignments::Relation::Task.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::task_assignments::Relation::Officer.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
