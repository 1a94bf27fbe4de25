//! The audit log, read-only (admins).

use contract::{ApiError, Page};
use leptos::prelude::*;

use contract::audit::*;

#[server(prefix = "/api/fn", endpoint = "list_audit", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn list_audit(filter: AuditFilter) -> Result<Page<AuditRow>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::audit::list(state, actor, filter).await).await
}

#[server(prefix = "/api/fn", endpoint = "audit_chain_status", output = crate::api::codec::JsonText)]
pub async fn audit_chain_status() -> Result<ChainStatus, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::audit::chain_status(state, actor).await).await
}
