//! Fixed-window rate limits per client: in Redis when configured (shared by every replica),
//! in process otherwise. `/health`, `/ready` and `/metrics` are never limited; REST clients
//! and login attempts have separate budgets.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use gad_core::client::ClientAddr;
use gad_core::services::users::secret_hash;
use gad_core::state::AppState;

pub use gad_core::ratelimit::RateLimiter;

use crate::rest::auth::{Caller, Credential};
use crate::rest::problem::Problem;

/// The client address (see `provenance::client_addr`), for anonymous budgets.
fn client_ip(extensions: &axum::http::Extensions) -> String {
    extensions.get::<ClientAddr>().map(|c| c.0.to_string()).unwrap_or_default()
}

/// Whose budget an authenticated REST request spends: the token's, else the signed-in user's.
/// Named by the credential as resolved, never by the header's spelling (`Bearer  x` with
/// another space is the same token, and must not be a fresh budget).
pub fn budget_key(caller: &Caller) -> String {
    match &caller.credential {
        Credential::Token(token) => format!("api:t:{}", &secret_hash(token)[..16]),
        Credential::Session(_) => format!("api:u:{}", caller.actor.user_id),
    }
}

/// REST budget: per valid token, per signed-in user, or per client address. The caller is
/// authenticated here, before counting, so a made-up `Authorization` header spends the
/// address's budget, not a fresh one; the resolved caller is kept for the handler.
pub async fn limit_api(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let key = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => {
            let key = budget_key(&caller);
            parts.extensions.insert(caller);
            key
        }
        Err(_) => format!("api:ip:{}", client_ip(&parts.extensions)),
    };
    let request = Request::from_parts(parts, body);
    let limiter = request.extensions().get::<RateLimiter>().cloned();
    if let Some(limiter) = limiter
        && let Err(retry_after) = limiter.hit(&key, state.config.rate_limit_per_minute).await
    {
        return Problem::rate_limited(retry_after).into_response();
    }
    next.run(request).await
}

/// Login budget: attempts per IP, whatever the account.
pub async fn limit_login(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Both steps of a sign-in: the password, and the code of a two-factor sign-in; and the
    // start of a single sign-on, which asks the identity provider and opens a session each
    // time (anonymous, so otherwise unlimited).
    let path = request.uri().path();
    let sign_in = match *request.method() {
        Method::POST => matches!(path, "/api/fn/login" | "/api/fn/verify_login_code"),
        Method::GET => path == "/auth/oidc/login",
        _ => false,
    };
    if sign_in {
        let key = format!("login:{}", client_ip(request.extensions()));
        let limiter = request.extensions().get::<RateLimiter>().cloned();
        if let Some(limiter) = limiter
            && let Err(retry_after) = limiter.hit(&key, state.config.login_rate_limit_per_minute).await
        {
            // A plain form post (no JavaScript) goes back to the login page with a message.
            let plain_form = request
                .headers()
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/html"));
            if plain_form {
                return axum::response::Redirect::to("/login?error=rate_limited").into_response();
            }
            return Problem::rate_limited(retry_after).into_response();
        }
    }
    next.run(request).await
}
