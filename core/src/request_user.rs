//! Who made the current HTTP request, for its log line.
//!
//! The server's middleware runs each request inside [`scope`]; the service layer calls
//! [`note`] when it resolves an actor (session, token, Telegram id). A task-local slot rather
//! than a tracing span field, because libraries open their own spans in between.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

tokio::task_local! {
    static REQUEST_USER: Arc<AtomicI64>;
}

const NOBODY: i64 = i64::MIN;

/// Runs `fut` with a fresh slot; returns its output and the user noted during it, if any.
pub async fn scope<F: Future>(fut: F) -> (F::Output, Option<i64>) {
    let slot = Arc::new(AtomicI64::new(NOBODY));
    let output = REQUEST_USER.scope(slot.clone(), fut).await;
    let user = slot.load(Ordering::Relaxed);
    (output, (user != NOBODY).then_some(user))
}

/// Notes the user of the current request (no-op outside [`scope`]).
pub fn note(user_id: i64) {
    let _ = REQUEST_USER.try_with(|slot| slot.store(user_id, Ordering::Relaxed));
}
