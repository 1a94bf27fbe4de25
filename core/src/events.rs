//! The event bus. Services publish [`Event`]s after their transaction commits; subscribers
//! (the realtime hub, the bot's notifier) receive them from a local broadcast channel.
//!
//! Embedded mode: publishing sends straight to the local channel. With Redis: publishing goes
//! to the `gad:events` channel and a listener task feeds every replica's local channel from
//! it, so all replicas — including the publisher — see each event exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::broadcast;

use crate::state::RedisPool;
use contract::events::Event;

pub const REDIS_CHANNEL: &str = "gad:events";
const LOCAL_CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Event>,
    redis: Option<RedisPool>,
    /// Events delivered to this replica so far; bumped before subscribers receive each one
    /// (see [`crate::cache`]).
    generation: Arc<AtomicU64>,
}

/// Delivers one event to this replica's subscribers.
fn deliver(local: &broadcast::Sender<Event>, generation: &AtomicU64, event: Event) {
    generation.fetch_add(1, Ordering::SeqCst);
    // No subscriber is not an error.
    let _ = local.send(event);
}

impl EventBus {
    pub fn in_process() -> Self {
        Self { local: broadcast::channel(LOCAL_CAPACITY).0, redis: None, generation: Arc::default() }
    }

    /// How many events this replica has delivered: changes when anything may have changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Marks this replica's cached views stale after a write that publishes no event (a new
    /// officer, a renamed user): every committed business transaction calls it.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// A bus over Redis pub/sub. Returns once the listener is subscribed, so no event
    /// published after start-up is missed.
    pub async fn redis(pool: RedisPool, url: String) -> Result<Self, String> {
        let local = broadcast::channel(LOCAL_CAPACITY).0;
        let generation = Arc::<AtomicU64>::default();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(listen(url, local.clone(), generation.clone(), ready_tx));
        match tokio::time::timeout(Duration::from_secs(5), ready_rx).await {
            Ok(Ok(())) => Ok(Self { local, redis: Some(pool), generation }),
            _ => Err("cannot subscribe to the Redis event channel".to_owned()),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    /// Publishes one event. Delivery is best effort: a failure is logged, never returned,
    /// because the business operation has already committed.
    pub async fn publish(&self, event: Event) {
        tracing::debug!(event = event.kind(), "publish");
        match &self.redis {
            None => deliver(&self.local, &self.generation, event),
            Some(pool) => {
                // Invalidate this replica's caches now: the Redis round trip comes later.
                self.invalidate();
                let result = async {
                    let payload = serde_json::to_string(&event).map_err(|e| e.to_string())?;
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    redis::cmd("PUBLISH")
                        .arg(REDIS_CHANNEL)
                        .arg(payload)
                        .query_async::<i64>(&mut *conn)
                        .await
                        .map_err(|e| e.to_string())
                }
                .await;
                if let Err(error) = result {
                    tracing::error!(%error, event = event.kind(), "event not published to Redis");
                }
            }
        }
    }
}

/// Subscribes to Redis and forwards events locally, reconnecting with a capped backoff.
async fn listen(
    url: String,
    local: broadcast::Sender<Event>,
    generation: Arc<AtomicU64>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    loop {
        let result: Result<(), String> = async {
            let client = redis::Client::open(url.as_str()).map_err(|_| "invalid REDIS_URL".to_owned())?;
            let mut pubsub = client.get_async_pubsub().await.map_err(|e| e.to_string())?;
            pubsub.subscribe(REDIS_CHANNEL).await.map_err(|e| e.to_string())?;
            tracing::info!("event bus listening on Redis");
            if let Some(ready) = ready.take() {
                let _ = ready.send(());
            }
            backoff = Duration::from_millis(100);
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                let payload: String = match message.get_payload() {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable event payload");
                        continue;
                    }
                };
                match serde_json::from_str::<Event>(&payload) {
                    Ok(event) => deliver(&local, &generation, event),
                    Err(e) => tracing::warn!(error = %e, "unknown event on the bus"),
                }
            }
            Err("subscription closed".to_owned())
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "event bus listener lost Redis");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
