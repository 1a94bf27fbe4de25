//! `audit_log`: append-only, hash-chained. The database refuses UPDATE, DELETE (and TRUNCATE
//! on PostgreSQL) with an error containing `audit_log_append_only`
//! (`migrations::AUDIT_APPEND_ONLY_TOKEN`) — except the one sealing UPDATE per row: writers
//! insert rows unsealed (`seq`, `prev_hash` and `hash` NULL) and the sealer
//! ([`crate::sealer`]) later sets the three, changing nothing else. `prev_hash` is UNIQUE, so
//! two rows can never claim the same predecessor.
//! `user_id` is ON DELETE RESTRICT: an audited user cannot be hard-deleted.

use sea_orm::entity::prelude::*;

use contract::domain::{AuditSeverity, Channel};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: Option<i64>,
    pub telegram_user_id: Option<i64>,
    pub channel: Channel,
    /// e.g. `task.transition`, `user.login`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// JSONB on PostgreSQL, JSON text on SQLite.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub before_value: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub after_value: Option<Json>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub success: bool,
    pub severity: AuditSeverity,
    pub created_at: DateTimeUtc,
    /// Hash of the previous row in the chain; `None` for the first row and unsealed rows.
    #[sea_orm(unique)]
    pub prev_hash: Option<String>,
    /// `None` until sealed.
    #[sea_orm(unique)]
    pub hash: Option<String>,
    /// Position in the chain, in commit order; `None` until sealed.
    #[sea_orm(unique)]
    pub seq: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Restrict"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
