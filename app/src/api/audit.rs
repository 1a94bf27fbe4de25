//! The audit log, read-only (admins).

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, Page};
use crate::domain::{AuditSeverity, Channel};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub user: Option<String>,
    pub telegram_user_id: Option<i64>,
    pub channel: Channel,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub success: bool,
    pub severity: AuditSeverity,
}

/// Filters for the audit log; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Exact action, e.g. `auth.login` (or a prefix ending in `.`, e.g. `task.`).
    pub action: Option<String>,
    pub user_id: Option<i64>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub success: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChainStatus {
    pub rows: u64,
    pub intact: bool,
    pub first_broken: Option<i64>,
}

#[server(prefix = "/api/fn", endpoint = "list_audit", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn list_audit(filter: AuditFilter) -> Result<Page<AuditRow>, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::audit::list(&state, &actor, filter).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "audit_chain_status", output = crate::api::codec::JsonText)]
pub async fn audit_chain_status() -> Result<ChainStatus, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::audit::chain_status(&state, &actor).await
        }
        .await,
    )
}
