//! The outgoing feedback webhook: every new feedback item is POSTed, as JSON, to
//! `GAD_FEEDBACK_WEBHOOK_URL` (a force's ticketing system), signed with an HMAC-SHA256 of the
//! body under `GAD_FEEDBACK_WEBHOOK_SECRET`:
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! X-GAD-Event: feedback.created
//! X-GAD-Delivery: <event id>            the same on every retry: receivers deduplicate by it
//! X-GAD-Signature: sha256=<hex HMAC-SHA256(secret, body)>
//! {"event":"feedback.created","delivery":<event id>,"feedback":{…FeedbackItem…}}
//! ```
//!
//! It is a durable consumer of the event outbox (like the Telegram notifier): one process at a
//! time holds its lease, a process that was down resumes from its cursor, and an item is
//! acknowledged only once the receiver answered 2xx. A refused or failed delivery is retried
//! with exponential backoff (1 s doubling to 5 min) for up to a day, then skipped (logged and
//! counted), so one dead item never holds the next ones back for ever.

use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::events::Event;
use gad_core::events::Consumer;
use gad_core::services::feedback;
use gad_core::state::AppState;
use hmac::{Hmac, Mac};
use metrics::counter;
use sha2::Sha256;

/// The consumer's name in `event_consumers` (and the `consumer` label of the lag gauges).
pub const CONSUMER: &str = "feedback-webhook";
const LEASE: Duration = Duration::from_secs(15);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(300);
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
const TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the deliverer when the webhook is configured.
pub fn spawn(state: &AppState) {
    let Some(url) = state.config.feedback_webhook_url.clone() else { return };
    // Unique among the processes sharing one database.
    let owner = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let consumer = Arc::new(Consumer::new(state.db.clone(), CONSUMER, owner, LEASE));
    let http = match reqwest::Client::builder().timeout(TIMEOUT).redirect(reqwest::redirect::Policy::none()).build() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "feedback webhook disabled");
            return;
        }
    };
    tokio::spawn(run(state.clone(), consumer, http, url));
}

async fn run(state: AppState, consumer: Arc<Consumer>, http: reqwest::Client, url: String) {
    let mut events = state.events.subscribe();
    loop {
        match consumer.claim().await {
            Ok(true) => {
                if let Err(error) = drain(&state, &consumer, &http, &url).await {
                    tracing::warn!(%error, "feedback webhook interrupted; retrying");
                }
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "feedback webhook lease not renewed"),
        }
        tokio::select! {
            _ = events.recv() => {}
            () = tokio::time::sleep(LEASE / 3) => {}
        }
    }
}

/// Delivers every feedback event after the cursor, in order, until none is left or the lease
/// is lost.
async fn drain(
    state: &AppState,
    consumer: &Consumer,
    http: &reqwest::Client,
    url: &str,
) -> Result<(), gad_core::error::AppError> {
    loop {
        let batch = consumer.pending(50).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for delivered in batch {
            if let Event::FeedbackCreated { feedback_id } = delivered.event
                && !deliver(state, consumer, http, url, delivered.id, feedback_id).await?
            {
                return Ok(());
            }
            if !consumer.ack(delivered.id).await? {
                return Ok(());
            }
        }
    }
}

/// Sends one item until the receiver takes it (or a day has passed); `false` when the lease
/// was lost meanwhile (another process carries on from the same item).
async fn deliver(
    state: &AppState,
    consumer: &Consumer,
    http: &reqwest::Client,
    url: &str,
    delivery: i64,
    feedback_id: i64,
) -> Result<bool, gad_core::error::AppError> {
    let Some(item) = feedback::for_webhook(state, feedback_id).await? else { return Ok(true) };
    let body = serde_json::json!({ "event": "feedback.created", "delivery": delivery, "feedback": item }).to_string();
    let started = Instant::now();
    let mut wait = FIRST_RETRY;
    loop {
        // Read at each attempt: a rotated secret signs the next one.
        let Some(secret) = state.config.feedback_webhook_secret.get() else { return Ok(true) };
        let outcome = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-GAD-Event", "feedback.created")
            .header("X-GAD-Delivery", delivery.to_string())
            .header("X-GAD-Signature", signature(secret.expose().as_bytes(), body.as_bytes()))
            .body(body.clone())
            .send()
            .await;
        let failure = match outcome {
            Ok(response) if response.status().is_success() => {
                counter!("gad_feedback_webhook_deliveries_total", "result" => "delivered").increment(1);
                return Ok(true);
            }
            // The receiver read it and will never take it (a text its system refuses): retrying
            // for a day would hold every later item back, and any user can send such a text.
            Ok(response) if refuses_content(response.status()) => {
                let status = response.status().as_u16();
                tracing::error!(
                    delivery,
                    feedback_id,
                    status,
                    "feedback webhook delivery refused by the receiver; skipped"
                );
                counter!("gad_feedback_webhook_deliveries_total", "result" => "refused").increment(1);
                return Ok(true);
            }
            Ok(response) => format!("the receiver answered {}", response.status().as_u16()),
            // Without the URL: it may carry a token of the receiver's.
            Err(error) => format!("no answer ({})", if error.is_timeout() { "timeout" } else { "connection" }),
        };
        if started.elapsed() >= GIVE_UP_AFTER {
            tracing::error!(delivery, feedback_id, failure, "feedback webhook delivery skipped after a day of retries");
            counter!("gad_feedback_webhook_deliveries_total", "result" => "skipped").increment(1);
            return Ok(true);
        }
        tracing::warn!(delivery, feedback_id, failure, retry_in_s = wait.as_secs(), "feedback webhook delivery failed");
        counter!("gad_feedback_webhook_deliveries_total", "result" => "retried").increment(1);
        // The wait outlasts the lease: renewed through it, so no other replica takes the item
        // over mid-wait (and restarts its clock: a day of retries would never end).
        let mut left = wait;
        while !left.is_zero() {
            let step = left.min(LEASE / 3);
            tokio::time::sleep(step).await;
            left -= step;
            if !consumer.claim().await? {
                return Ok(false);
            }
        }
        wait = (wait * 2).min(MAX_RETRY);
    }
}

/// An answer that refuses the item itself (malformed to the receiver, too large, not
/// processable), not the sender: another try would get the same. A 401/403/404 (a wrong secret
/// or URL: a configuration to fix) or a 408/429/5xx is retried.
fn refuses_content(status: reqwest::StatusCode) -> bool {
    matches!(status.as_u16(), 400 | 413 | 415 | 422)
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::signature;

    /// RFC 4231, test case 2.
    #[test]
    fn the_signature_is_hmac_sha256() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
