//! The HTTP router and its middleware, in the order a request meets them:
//! security headers → request id → trace → client address → same-origin check → body limit →
//! deadline → (pages, server functions and the API: read admission → session → page guard)
//! → handler.

use axum::Router;
use axum::http::HeaderName;
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use app::{App, shell};
use gad_core::sessions::GadSessionStore;
use gad_core::state::AppState;

use crate::{health, middleware, provenance, security_headers};

pub const SESSION_COOKIE: &str = "gad_session";

/// Largest request body anyone may send (413 beyond); the REST API keeps a smaller limit.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn build(state: AppState, leptos_options: LeptosOptions) -> Router {
    let sessions = SessionManagerLayer::new(GadSessionStore::new(state.redis.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        // Re-saved (so the expiry slides) when `gad_core::signin::signed_in` refreshes the record; the
        // absolute lifetime is checked there too.
        .with_expiry(Expiry::OnInactivity(time::Duration::milliseconds(
            i64::try_from(state.config.session_idle.as_millis()).unwrap_or(i64::MAX),
        )));

    let routes = generate_route_list(App);
    // The pages and server functions: Leptos's router, whose state is its options; the
    // application state reaches server functions through the Leptos context.
    let context = {
        let state = state.clone();
        move || {
            leptos::prelude::provide_context(state.clone());
            security_headers::provide_nonce();
        }
    };
    // The built bundle (`/pkg`: WASM, JS, CSS, chunks) straight from disk, outside sessions and
    // page rendering: a file that is missing or unreadable is a plain 404/500, never a page.
    let pkg_dir = std::path::Path::new(&*leptos_options.site_root).join(&*leptos_options.site_pkg_dir);
    let pkg_route = format!("/{}", leptos_options.site_pkg_dir.trim_matches('/'));
    let pkg_files = tower_http::services::ServeDir::new(pkg_dir).precompressed_br().precompressed_gzip();
    let shell_options = leptos_options.clone();
    let leptos_pages: Router<AppState> = Router::<LeptosOptions>::new()
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), move || shell(shell_options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<LeptosOptions, _>(context, shell))
        .with_state(leptos_options);
    // The REST API accepts the dashboard session too, so it shares the session layer.
    let api = crate::rest::router()
        .layer(axum::middleware::from_fn(crate::idempotency::idempotent))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::ratelimit::limit_api))
        .layer(axum::Extension(crate::idempotency::IdempotencyStore::new(state.redis.clone())))
        .layer(axum::Extension(crate::rest::slots::StreamSlots::default()))
        .layer(axum::Extension(crate::rest::slots::ExportSlots::default()));
    let pages: Router<AppState> = Router::new()
        .nest("/api/v1", api)
        .route("/api/docs", get(crate::rest::docs_page))
        .route("/auth/oidc/login", get(crate::oidc::login))
        .route("/auth/oidc/callback", get(crate::oidc::callback))
        .merge(leptos_pages)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::guard_pages))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::ratelimit::limit_login))
        .layer(axum::Extension(crate::ratelimit::RateLimiter::new(state.redis.clone())))
        .layer(sessions)
        // Outside the sessions: a read waiting its turn has cost nothing yet. Health, metrics
        // and the bundle's files are not queued.
        .layer(axum::middleware::from_fn_with_state(
            crate::admission::Reads::new(state.config.max_concurrent_reads),
            crate::admission::admit,
        ));

    let request_id = HeaderName::from_static(middleware::REQUEST_ID_HEADER);
    // With GAD_METRICS_ADDR the metrics are on the operations listener only ([`operations`]);
    // here a plain 404 (not the page guard's redirect to the login page).
    let metrics = match state.config.metrics_addr {
        None => get(crate::metrics::scrape),
        Some(_) => get(|| async { axum::http::StatusCode::NOT_FOUND }),
    };
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", metrics)
        // The language switch: outside sessions and page guards (the login page offers it too).
        .route("/idioma/{lang}", get(crate::lang::switch))
        // Telegram's webhook (only when configured); outside sessions and page guards.
        .merge(crate::bot::webhook_routes(&state))
        .nest_service(&pkg_route, pkg_files)
        .merge(pages)
        // Innermost: a handler that panics answers 500 (problem+json, counted) and the process
        // and its other requests carry on; one that has not answered within REQUEST_TIMEOUT
        // answers 503 (a live stream answers at once: its body is not timed).
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(deadline))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                // Outermost: the headers reach every answer, the ones of the layers below too.
                .layer(axum::middleware::from_fn_with_state(
                    std::sync::Arc::new(security_headers::SecurityHeaders::new(&state.config)),
                    security_headers::secure,
                ))
                .layer(axum::middleware::from_fn(middleware::sanitize_request_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(middleware::make_span)
                        .on_request(())
                        .on_response(middleware::on_response),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(axum::middleware::from_fn(crate::metrics::track))
                .layer(axum::middleware::from_fn(middleware::request_user))
                .layer(axum::middleware::from_fn_with_state(state.clone(), provenance::client_addr))
                .layer(axum::middleware::from_fn_with_state(state.clone(), provenance::same_origin)),
        )
        .with_state(state)
}

/// The answer to a request whose handler panicked: the panic is logged and counted
/// (`gad_http_panics_total`); the caller gets the same 500 as any internal error, with no
/// detail of the panic.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    metrics::counter!("gad_http_panics_total").increment(1);
    tracing::error!("a request handler panicked");
    crate::rest::problem::Problem::new(contract::ErrorCode::Internal, "Error interno del servidor.").into_response()
}

/// How long a request may take to answer (its headers; a streamed body is not timed).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Answers 503 problem+json (counted in `gad_http_timeouts_total`) when the handler has not
/// answered within [`REQUEST_TIMEOUT`]; the handler is dropped, so its transaction rolls back.
pub async fn deadline(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("gad_http_timeouts_total").increment(1);
            tracing::warn!("request timed out");
            crate::rest::problem::Problem::new(
                contract::ErrorCode::Unavailable,
                "El servidor tardó demasiado en responder; intente de nuevo.",
            )
            .into_response()
        }
    }
}

/// The operations listener (`GAD_METRICS_ADDR`): metrics, readiness and health for Prometheus
/// and orchestrators, on an address the public site does not reach.
pub fn operations(state: AppState) -> Router {
    let headers = std::sync::Arc::new(security_headers::SecurityHeaders::new(&state.config));
    Router::new()
        .route("/metrics", get(crate::metrics::scrape))
        .route("/ready", get(health::ready))
        .route("/health", get(health::health))
        .layer(axum::middleware::from_fn_with_state(headers, security_headers::secure))
        .with_state(state)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_router_lives_on() {
        let router: Router = Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "ok" }))
            .layer(CatchPanicLayer::custom(panic_response));
        let res = router.clone().oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body = axum::body::to_bytes(res.into_body(), 64 * 1024).await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("internal") && !text.contains("boom"), "{text}");
        let res = router.oneshot(Request::get("/ok").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
