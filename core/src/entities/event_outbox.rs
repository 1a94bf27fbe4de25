//! `event_outbox`: every domain event, written in the transaction of the change it reports
//! (see [`crate::events`]). `payload` is the event's JSON. `seq` orders the events in commit
//! order: NULL when written, set by the sealer ([`crate::sealer`]) once the row is committed;
//! it is the event id every reader sees.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub created_at: DateTimeUtc,
    #[sea_orm(unique)]
    pub seq: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
