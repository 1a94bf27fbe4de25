//! The REST API, `/api/v1`: JSON resources over the same services as the dashboard and the
//! bot, `application/problem+json` errors, bearer tokens or the session cookie, and an
//! OpenAPI 3.1 document generated from the handlers themselves (so no route goes undocumented).

mod audit;
pub mod auth;
mod feedback;
mod geo;
mod officers;
pub mod problem;
mod roster;
pub mod slots;
mod stats;
pub mod stream;
mod system;
mod tasks;
mod users;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, ServerBuilder};
use utoipa_axum::router::OpenApiRouter;

use gad_core::state::AppState;

use problem::Problem;

/// Largest accepted request body.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// A JSON body whose errors (syntax, unknown fields, wrong types, size) are problems.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct Body<T>(pub T);

/// Query parameters whose errors (unknown names, wrong types, missing ones) are problems.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Params<T>(pub T);

/// Path segments whose errors (e.g. `/officers/abc`) are problems.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct PathArgs<T>(pub T);

/// The documented API: handlers and their OpenAPI description, split.
pub fn api() -> (Router<AppState>, OpenApi) {
    let base = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("GAD API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Gestión de Agentes y Despliegue: tareas, efectivos, usuarios y más. \
                     Autenticación: `Authorization: Bearer <token personal>` o la cookie de sesión del panel. \
                     Errores: application/problem+json.",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new().url("/api/v1").build()]))
        .build();
    let (router, mut doc) = OpenApiRouter::with_openapi(base)
        .merge(users::router())
        .merge(audit::router())
        .merge(feedback::router())
        .merge(tasks::router())
        .merge(officers::router())
        .merge(geo::router())
        .merge(stats::router())
        .merge(roster::router())
        .merge(stream::router())
        .merge(system::router())
        .split_for_parts();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("gad_…").build()),
    );
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    document_common_problems(&mut doc);
    (router, doc)
}

/// Every protected operation can answer 401 (no or a bad credential), and every operation that
/// reads a body or parameters can answer 400 (malformed input, via `Body`/`Params`/`PathArgs`).
/// Handlers list their specific answers; these two are added here so none is forgotten.
fn document_common_problems(doc: &mut OpenApi) {
    let operations = || doc.paths.paths.values().flat_map(operations_of);
    let example = |status: &str| operations().find_map(|op| op.responses.responses.get(status).cloned());
    let (Some(unauthorized), Some(bad_request)) = (example("401"), example("400")) else { return };
    for item in doc.paths.paths.values_mut() {
        for op in operations_of_mut(item) {
            let public = op.security.as_ref().is_some_and(|reqs| {
                reqs.iter().all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
            });
            let responses = &mut op.responses.responses;
            if !public {
                responses.entry("401".into()).or_insert_with(|| unauthorized.clone());
            }
            if op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                responses.entry("400".into()).or_insert_with(|| bad_request.clone());
            }
        }
    }
}

fn operations_of(item: &utoipa::openapi::PathItem) -> impl Iterator<Item = &utoipa::openapi::path::Operation> {
    [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten()
}

fn operations_of_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
}

/// `/api/v1/*` plus the OpenAPI document; `/api/docs` is mounted by the caller.
pub fn router() -> Router<AppState> {
    let (api, doc) = api();
    let json = serde_json::to_value(&doc).unwrap_or_default();
    api.route("/openapi.json", get(move || async move { Json(json.clone()) }))
        .fallback(|| async { Problem::new(contract::ErrorCode::NotFound, "Ruta inexistente.") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
}

/// The interactive documentation page, served from GAD's own assets (works offline); no
/// inline script, so it runs under the Content-Security-Policy.
pub async fn docs_page() -> impl IntoResponse {
    Html(
        r##"<!DOCTYPE html>
<html lang="es">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>GAD API</title>
  <link rel="icon" type="image/svg+xml" href="/favicon.svg">
  <link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/js/api-docs.js"></script>
</body>
</html>"##,
    )
}

/// A CSV file to download, streamed as its pages are read (UTF-8 with a byte-order mark, see
/// `gad_core::services::csv`). An error after the first bytes can only cut the download
/// short: it is logged, and the client sees an incomplete transfer, never a partial file
/// presented as whole.
/// A CSV answer, streamed; `slot` (the user's place among running exports) is held until
/// the body is done or the client is gone.
fn csv_download(
    filename: &'static str,
    csv: gad_core::services::csv::CsvStream,
    slot: slots::Slot,
) -> impl IntoResponse {
    use futures::TryStreamExt;
    let disposition = format!("attachment; filename=\"{filename}\"");
    let body = csv.into_stream().map_ok(axum::body::Bytes::from).map_err(move |e| {
        let _held = &slot;
        tracing::error!(error = %e, "CSV export interrupted");
        std::io::Error::other("la exportación se interrumpió")
    });
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(body),
    )
}
