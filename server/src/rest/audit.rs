//! `/api/v1/audit`: the audit log, read-only, for admins.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::Page;
use contract::audit::{AuditFilter, AuditRow, ChainStatus};
use gad_core::services;
use gad_core::state::AppState;

use super::Params;
use super::auth::Caller;
use super::problem::{Problem, RestResult};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(export_csv)).routes(routes!(chain))
}

/// Audit rows, newest first, cursor-paginated (admins only).
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditFilter), responses(
    (status = 200, body = Page<AuditRow>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(filter): Params<AuditFilter>,
) -> RestResult<Json<Page<AuditRow>>> {
    Ok(Json(services::audit::list(&state, &caller.actor, filter).await?))
}

/// The same rows as CSV (up to 100 000).
#[utoipa::path(get, path = "/audit.csv", tag = "audit", params(AuditFilter), responses(
    (status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem)))]
async fn export_csv(
    State(state): State<AppState>,
    axum::Extension(exports): axum::Extension<super::slots::ExportSlots>,
    caller: Caller,
    Params(filter): Params<AuditFilter>,
) -> RestResult<impl IntoResponse> {
    let slot = exports.0.take(caller.actor.user_id, "exportaciones en curso")?;
    let csv = services::audit::export_csv(&state, &caller.actor, filter).await?;
    Ok(super::csv_download("auditoria.csv", csv, slot))
}

/// Recomputes the hash chain.
#[utoipa::path(get, path = "/audit/chain", tag = "audit", responses(
    (status = 200, body = ChainStatus), (status = 403, body = Problem)))]
async fn chain(State(state): State<AppState>, caller: Caller) -> RestResult<Json<ChainStatus>> {
    Ok(Json(services::audit::chain_status(&state, &caller.actor).await?))
}
