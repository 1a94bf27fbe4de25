//! Fixed-window rate limits: in Redis when configured (shared by every replica), in process
//! otherwise. The doors keep their own budgets (`gad_server::ratelimit`: REST clients, sign-in
//! attempts); here also the dashboard's write budget, which a door opens around a signed-in
//! user's call ([`as_writer`]) and every write transaction spends ([`spend_write`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{AppError, AppResult};
use crate::state::RedisPool;

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

tokio::task_local! {
    static WRITER: Writer;
}

/// Whose write budget the writes of a call spend, and how large it is.
#[derive(Clone)]
pub struct Writer {
    limiter: RateLimiter,
    user_id: i64,
    per_minute: u32,
}

impl Writer {
    pub fn new(limiter: RateLimiter, user_id: i64, per_minute: u32) -> Self {
        Self { limiter, user_id, per_minute }
    }
}

/// Runs `call` with its writes counted against `writer`'s budget (nothing counted without one).
pub async fn as_writer<T>(writer: Option<Writer>, call: impl Future<Output = T>) -> T {
    match writer {
        Some(writer) => WRITER.scope(writer, call).await,
        None => call.await,
    }
}

/// One write of the current call's budget, if it has one: refused when spent, before anything
/// is written ([`crate::db::WriteTxn::begin`] asks).
pub async fn spend_write() -> AppResult<()> {
    let Ok(writer) = WRITER.try_with(Writer::clone) else { return Ok(()) };
    // 0: no budget (as for the read admission).
    if writer.per_minute == 0 {
        return Ok(());
    }
    let key = format!("w:u:{}", writer.user_id);
    writer.limiter.hit(&key, writer.per_minute).await.map_err(|retry_after| AppError::RateLimited { retry_after })
}
