//! `Idempotency-Key` for REST creates: a POST retried with the same key (by the same caller,
//! with the same body) gets the first response again instead of creating twice. Responses
//! are kept 24 hours, in Redis when configured (so any replica can replay), in process
//! otherwise, and only for authenticated callers. A key reused with a different body is
//! refused (422); a retry while the first request is still running gets 409.
//!
//! Nothing kept can be turned into a credential: an answer that carries a secret (an API
//! token, a generated password, a Telegram link code; its handler marks it [`CarriesSecret`])
//! is remembered without its body, and a retry gets a 409 that says so; the request is kept as
//! a digest keyed by the client's `Idempotency-Key`, so a password in a request body is not a
//! plain SHA-256 someone with the store could test guesses against.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use contract::ErrorCode;
use gad_core::services::users::secret_hash;
use gad_core::state::RedisPool;

use crate::rest::BODY_LIMIT_BYTES;
use crate::rest::auth::Caller;
use crate::rest::problem::Problem;

pub const HEADER: &str = "idempotency-key";
const TTL: Duration = Duration::from_secs(24 * 3600);
const IN_FLIGHT_TTL: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Entry {
    InFlight {
        request_hash: String,
    },
    Done {
        request_hash: String,
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// Done, with an answer that carried a secret: not kept, so not replayed.
    DoneSecret {
        request_hash: String,
    },
}

/// A response extension: this answer carries a secret and is never stored.
#[derive(Clone, Copy, Debug)]
pub struct CarriesSecret;

/// Most keys the in-process store (no Redis) remembers: when full, the expired go, then the
/// tenth nearest their expiry (see `gad_core::bounded`), so fresh keys without end cannot grow
/// the process. Redis keeps each key for its TTL and is bounded by its own memory policy.
const MEMORY_MAX: usize = 10_000;

#[derive(Clone)]
pub struct IdempotencyStore {
    memory: Arc<Mutex<HashMap<String, (Instant, Entry)>>>,
    redis: Option<RedisPool>,
}

impl IdempotencyStore {
    pub fn new(redis: Option<RedisPool>) -> Self {
        Self { memory: Arc::default(), redis }
    }

    /// How many keys the in-process store holds.
    pub fn memory_len(&self) -> usize {
        self.memory.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Claims `key` for a new request; returns the existing entry if there is one.
    async fn claim(&self, key: &str, entry: &Entry) -> Result<Option<Entry>, String> {
        match &self.redis {
            Some(pool) => {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                let json = serde_json::to_string(entry).map_err(|e| e.to_string())?;
                let set: Option<String> = redis::cmd("SET")
                    .arg(key)
                    .arg(json)
                    .arg("NX")
                    .arg("EX")
                    .arg(IN_FLIGHT_TTL.as_secs())
                    .query_async(&mut *conn)
                    .await
                    .map_err(|e| e.to_string())?;
                if set.is_some() {
                    return Ok(None);
                }
                let existing: Option<String> =
                    redis::cmd("GET").arg(key).query_async(&mut *conn).await.map_err(|e| e.to_string())?;
                Ok(existing.and_then(|j| serde_json::from_str(&j).ok()))
            }
            None => {
                let mut map = self.memory.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                if let Some((expires, existing)) = map.get(key)
                    && *expires > now
                {
                    return Ok(Some(existing.clone()));
                }
                gad_core::bounded::make_room(&mut map, MEMORY_MAX, now, |(expires, _)| *expires);
                map.insert(key.to_owned(), (now + IN_FLIGHT_TTL, entry.clone()));
                Ok(None)
            }
        }
    }

    async fn finish(&self, key: &str, entry: Option<Entry>) {
        match &self.redis {
            Some(pool) => {
                let result: Result<(), String> = async {
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    match entry {
                        Some(entry) => {
                            let json = serde_json::to_string(&entry).map_err(|e| e.to_string())?;
                            redis::cmd("SET")
                                .arg(key)
                                .arg(json)
                                .arg("EX")
                                .arg(TTL.as_secs())
                                .query_async::<()>(&mut *conn)
                                .await
                        }
                        None => redis::cmd("DEL").arg(key).query_async::<()>(&mut *conn).await,
                    }
                    .map_err(|e| e.to_string())
                }
                .await;
                if let Err(error) = result {
                    tracing::warn!(%error, "idempotency record not stored");
                }
            }
            None => {
                let mut map = self.memory.lock().unwrap_or_else(|e| e.into_inner());
                match entry {
                    Some(entry) => {
                        map.insert(key.to_owned(), (Instant::now() + TTL, entry));
                    }
                    None => {
                        map.remove(key);
                    }
                }
            }
        }
    }
}

fn replay(status: u16, content_type: Option<String>, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(CONTENT_TYPE, ct);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Middleware for `/api/v1`: only POST requests carrying the header take part.
pub async fn idempotent(request: Request, next: Next) -> Response {
    let Some(raw_key) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned) else {
        return next.run(request).await;
    };
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    if raw_key.is_empty() || raw_key.len() > 200 {
        return Problem::new(ErrorCode::Validation, "Idempotency-Key debe tener entre 1 y 200 caracteres.")
            .into_response();
    }
    let Some(store) = request.extensions().get::<IdempotencyStore>().cloned() else {
        return next.run(request).await;
    };
    // Only an authenticated caller's answers are kept (the rate limiter resolved the caller):
    // an anonymous request would only store its refusal, and anyone could fill the store.
    let Some(caller) = request.extensions().get::<Caller>() else {
        return next.run(request).await;
    };
    // Keys are per caller: the same key from someone else is another request.
    let caller = crate::ratelimit::budget_key(caller);
    let key = format!("gad:idem:{}", secret_hash(&format!("{caller}|{}|{raw_key}", request.uri().path())));

    let (parts, body) = request.into_parts();
    let bytes: Bytes = match to_bytes(body, BODY_LIMIT_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let mut p = Problem::new(ErrorCode::Validation, "El cuerpo de la solicitud es demasiado grande.");
            p.status = 413;
            return p.into_response();
        }
    };
    let request_hash = keyed_digest(&raw_key, &bytes);
    match store.claim(&key, &Entry::InFlight { request_hash: request_hash.clone() }).await {
        Err(error) => {
            tracing::warn!(%error, "idempotency store unavailable; running without it");
        }
        Ok(Some(Entry::Done { request_hash: h, status, content_type, body })) if h == request_hash => {
            crate::metrics::cache_lookup("idempotency", true);
            return replay(status, content_type, body);
        }
        Ok(Some(Entry::DoneSecret { request_hash: h })) if h == request_hash => {
            crate::metrics::cache_lookup("idempotency", true);
            return Problem::new(
                ErrorCode::Conflict,
                "Esta solicitud ya se hizo. Su respuesta llevaba un secreto (un token, una contraseña o un código), \
                 que no se guarda: si no lo recibió, pida uno nuevo.",
            )
            .into_response();
        }
        Ok(Some(Entry::InFlight { request_hash: h })) if h == request_hash => {
            return Problem::new(ErrorCode::Conflict, "Una solicitud con esta Idempotency-Key todavía está en curso.")
                .into_response();
        }
        Ok(Some(_)) => {
            let mut p = Problem::new(ErrorCode::Validation, "La Idempotency-Key ya se usó con otro contenido.");
            p.status = 422;
            return p.into_response();
        }
        Ok(None) => crate::metrics::cache_lookup("idempotency", false),
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    // Only settled outcomes are remembered; a server error may be retried for real.
    let settled = parts.status.is_success() || parts.status.is_client_error();
    let entry = match settled {
        false => None,
        true if parts.extensions.get::<CarriesSecret>().is_some() => Some(Entry::DoneSecret { request_hash }),
        true => Some(Entry::Done {
            request_hash,
            status: parts.status.as_u16(),
            content_type: parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
            body: body.to_vec(),
        }),
    };
    store.finish(&key, entry).await;
    Response::from_parts(parts, Body::from(body))
}

/// The request's digest, keyed by the client's idempotency key (which the store keeps only
/// hashed, inside the record's name).
fn keyed_digest(raw_key: &str, bytes: &[u8]) -> String {
    use sha2::Digest;
    let mut digest = sha2::Sha256::new();
    digest.update(raw_key.len().to_le_bytes());
    digest.update(raw_key.as_bytes());
    digest.update(bytes);
    hex::encode(digest.finalize())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Without Redis, fresh keys without end do not grow the process: the store stays within
    /// its bound, and a key still remembered is still answered.
    #[tokio::test]
    async fn the_in_process_store_is_bounded() {
        let store = IdempotencyStore::new(None);
        let entry = Entry::InFlight { request_hash: "h".into() };
        for n in 0..MEMORY_MAX + 500 {
            assert!(store.claim(&format!("k{n}"), &entry).await.unwrap().is_none());
        }
        assert!(store.memory_len() <= MEMORY_MAX, "{} keys held", store.memory_len());
        let last = format!("k{}", MEMORY_MAX + 499);
        assert!(store.claim(&last, &entry).await.unwrap().is_some(), "the newest key is remembered");
    }
}
