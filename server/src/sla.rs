//! The escalator: every [`EVERY`], the process holding the `sla-escalator` lease (the same
//! kind of lease as the bot's notifier: one process at a time across replicas, another takes
//! over within [`LEASE`] when it dies) takes every escalation step now due
//! (`services::sla::escalate`). Each step is recorded once in the database, so a takeover or a
//! restart never repeats one; what a step means reaches people through its `task.overdue`
//! event (the bot's notifier, the live dashboard).

use std::time::Duration;

use gad_core::events::{Consumer, latest_id};
use gad_core::services::sla;
use gad_core::state::AppState;

const CONSUMER: &str = "sla-escalator";
const LEASE: Duration = Duration::from_secs(30);
const EVERY: Duration = Duration::from_secs(10);

pub fn spawn(state: &AppState) {
    let owner = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let consumer = Consumer::new(state.db.clone(), CONSUMER, owner, LEASE);
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            if let Err(error) = pass(&state, &consumer).await {
                tracing::warn!(%error, "SLA escalation pass failed; retried");
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}

/// One pass while holding the lease. The lease's cursor follows the outbox head (it reads no
/// events), so the consumer-lag alert never counts it.
pub async fn pass(state: &AppState, consumer: &Consumer) -> Result<usize, gad_core::error::AppError> {
    if !consumer.claim().await? {
        return Ok(0);
    }
    let steps = sla::escalate(state, chrono::Utc::now()).await?;
    for (task_id, target, level) in &steps {
        tracing::info!(task_id, target = target.as_str(), level, "SLA escalation step");
    }
    consumer.ack(latest_id(&state.db).await?).await?;
    Ok(steps.len())
}
