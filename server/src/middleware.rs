//! Cross-cutting HTTP middleware: request ids, one log line per request, and the page guard.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, Response};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect};
use tower_http::request_id::RequestId;
use tower_sessions::Session;
use tracing::Span;

use contract::domain::Channel;
use gad_core::signin::ActorCell;
use gad_core::state::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request id taken from a client or proxy (a UUID is 36).
const REQUEST_ID_MAX: usize = 128;

/// A request id a client sent is kept (a proxy's ties its lines to ours) only when it looks
/// like one: at most [`REQUEST_ID_MAX`] letters, digits and `-_.:`; anything else is dropped
/// and the request gets a fresh one, so a client cannot write what it likes into every log
/// line of its request.
pub async fn sanitize_request_id(mut request: Request, next: Next) -> Response<Body> {
    let plausible = |value: &axum::http::HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= REQUEST_ID_MAX
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    };
    let headers = request.headers_mut();
    if headers.get_all(REQUEST_ID_HEADER).iter().count() > 1
        || headers.get(REQUEST_ID_HEADER).is_some_and(|value| !plausible(value))
    {
        headers.remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

/// The span every request runs in; the request id ties its log lines together. `route` is
/// the matched route pattern (`/api/v1/tasks/{id}`; `unmatched` for the fallback), never the
/// raw path's secrets; `user_id` is filled in by the service layer once it knows the actor.
pub fn make_span(request: &Request<Body>) -> Span {
    let request_id =
        request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or_default();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        route = %route,
        path = %crate::telemetry::redact_path(request.uri().path()),
        user_id = tracing::field::Empty,
    )
}

/// One line per request, inside its span (request id, method, route, path, user id).
pub fn on_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    tracing::info!(status = response.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "request");
}

/// Runs the request with a slot the service layer fills with the acting user, then records it
/// on the request span (inside the trace layer, so the span is the request's own).
pub async fn request_user(request: Request, next: Next) -> Response<Body> {
    let (response, user) = gad_core::request_user::scope(next.run(request)).await;
    if let Some(id) = user {
        Span::current().record("user_id", id);
    }
    response
}

/// The page of a request the server could not answer (its database unreachable): the status
/// of the error, a fixed Spanish message (never the cause) and a hint to retry.
fn error_page(err: gad_core::error::AppError) -> Response<Body> {
    // Converting logs the cause; the page shows only one of two fixed messages.
    let code = contract::ApiError::from(err).code;
    let status =
        axum::http::StatusCode::from_u16(code.http_status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let message = if code == contract::ErrorCode::Unavailable {
        "El servicio no está disponible en este momento."
    } else {
        "Error interno del servidor."
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>GAD</title></head>\
         <body><h1>{message}</h1><p>Vuelva a cargar la página en unos segundos.</p></body></html>"
    );
    let mut response = (status, axum::response::Html(html)).into_response();
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
    response
}

/// Paths that an anonymous visitor may load.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path.starts_with("/auth/oidc/")
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
        || path == "/favicon.ico"
        // Static files from the assets directory.
        || path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

/// Sends anonymous visitors of dashboard pages to `/login`, and signed-in visitors of the
/// login page to their tasks. The code page of a two-factor login (`/login/2fa`) is for a
/// session whose password step passed (else `/login`); a user whose role requires two-factor
/// sign-in and who has not enrolled sees nothing but `/cuenta/2fa`. Data is protected by the
/// services; this keeps pages honest.
pub async fn guard_pages(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response<Body> {
    use contract::twofactor::{LOGIN_CODE_PAGE, TWO_FACTOR_PAGE};
    use gad_core::error::AppError;
    // Every request gets a slot for its actor; server functions fill or reuse it.
    let cell = ActorCell::default();
    request.extensions_mut().insert(cell.clone());
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let login_page = path == "/login" || path == LOGIN_CODE_PAGE;
    let account_page = path == contract::account::ACCOUNT_PAGE;
    if !login_page && is_public(path) {
        return next.run(request).await;
    }
    // A session from before a password change or deactivation, or past its lifetime, is nobody.
    // A failure to find out (the database down) is not: it answers as the error it is, so a
    // signed-in supervisor is never sent to the login page by an outage.
    let (actor, must_enrol) = match gad_core::signin::session_actor(&state, &session, Channel::Web, true).await {
        Ok(actor) => (Some(actor), false),
        Err(AppError::TwoFactorSetupRequired) => (None, true),
        Err(err @ (AppError::Db(_) | AppError::Internal(_) | AppError::Unavailable(_) | AppError::Abandoned)) => {
            return error_page(err);
        }
        Err(_) => (None, false),
    };
    if let Some(actor) = &actor {
        cell.set(actor);
    }
    if must_enrol {
        return if path == TWO_FACTOR_PAGE {
            next.run(request).await
        } else {
            Redirect::to(TWO_FACTOR_PAGE).into_response()
        };
    }
    let signed_in = actor.is_some();
    if path == LOGIN_CODE_PAGE && !signed_in {
        let pending = app::server::pending_login::user(&session).await.ok().flatten();
        return if pending.is_some() { next.run(request).await } else { Redirect::to("/login").into_response() };
    }
    // A user whose password an admin reset sees only the page where they change it.
    let must_change = actor.as_ref().is_some_and(|a| a.must_change_password);
    match (signed_in, login_page) {
        (false, false) => Redirect::to("/login").into_response(),
        (true, _) if must_change && !account_page => Redirect::to(contract::account::ACCOUNT_PAGE).into_response(),
        (true, true) => {
            Redirect::to(actor.as_ref().map_or("/tareas", |a| contract::auth::home_for(a.role))).into_response()
        }
        _ => next.run(request).await,
    }
}
