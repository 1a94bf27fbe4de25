//! Fixed-window rate limits per client: in Redis when configured (shared by every replica),
//! in process otherwise. `/health`, `/ready` and `/metrics` are never limited; REST clients
//! and login attempts have separate budgets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use gad_core::client::ClientAddr;
use gad_core::services::users::secret_hash;
use gad_core::state::{AppState, RedisPool};

use crate::rest::auth::Caller;
use crate::rest::problem::Problem;

const WINDOW_SECS: u64 = 60;

#[derive(Clone)]
pub struct RateLimiter {
    memory: Arc<Mutex<HashMap<String, (u64, u32)>>>,
    redis: Option<RedisPool>,
}

impl RateLimiter {
    pub fn new(redis: Option<RedisPool>) -> Self {
        Self { memory: Arc::default(), redis }
    }

    /// Counts one hit for `key`; `Err(seconds)` when over `limit` in the current window.
    pub async fn hit(&self, key: &str, limit: u32) -> Result<(), u64> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let window = now / WINDOW_SECS;
        let retry_after = (window + 1) * WINDOW_SECS - now;
        let count = match &self.redis {
            Some(pool) => match self.redis_incr(pool, &format!("gad:rl:{key}:{window}")).await {
                Ok(count) => count,
                Err(error) => {
                    // Fail open: an outage of the limiter must not take the API down.
                    tracing::warn!(%error, "rate limiter unavailable");
                    return Ok(());
                }
            },
            None => {
                let mut map = self.memory.lock().unwrap_or_else(|e| e.into_inner());
                if map.len() > 50_000 {
                    map.retain(|_, (w, _)| *w == window);
                }
                let entry = map.entry(key.to_owned()).or_insert((window, 0));
                if entry.0 != window {
                    *entry = (window, 0);
                }
                entry.1 += 1;
                entry.1
            }
        };
        if count > limit { Err(retry_after.max(1)) } else { Ok(()) }
    }

    async fn redis_incr(&self, pool: &RedisPool, key: &str) -> Result<u32, String> {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        let (count,): (u32,) = redis::pipe()
            .atomic()
            .incr(key, 1)
            .expire(key, WINDOW_SECS as i64 + 1)
            .ignore()
            .query_async(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(count)
    }
}

/// The client address (see `provenance::client_addr`), for anonymous budgets.
fn client_ip(extensions: &axum::http::Extensions) -> String {
    extensions.get::<ClientAddr>().map(|c| c.0.to_string()).unwrap_or_default()
}

/// Whose budget an authenticated REST request spends: the token's, else the signed-in user's.
pub fn budget_key(caller: &Caller, authorization: Option<&str>) -> String {
    match authorization {
        Some(auth) => format!("api:t:{}", &secret_hash(auth)[..16]),
        None => format!("api:u:{}", caller.actor.user_id),
    }
}

/// REST budget: per valid token, per signed-in user, or per client address. The caller is
/// authenticated here, before counting, so a made-up `Authorization` header spends the
/// address's budget, not a fresh one; the resolved caller is kept for the handler.
pub async fn limit_api(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let key = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => {
            let authorization = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
            let key = budget_key(&caller, authorization);
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
