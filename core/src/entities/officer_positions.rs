//! `officer_positions`: position history (append-only by convention). On PostgreSQL the
//! table also has a generated, GIST-indexed `geog` column, not mapped here.

use sea_orm::entity::prelude::*;

use contract::domain::PositionSource;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "officer_positions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub officer_id: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub source: PositionSource,
    pub recorded_at: DateTimeUtc,
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
