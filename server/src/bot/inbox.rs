//! The bot's inbox: every Telegram update is stored (`bot_inbox`) before Telegram is told we
//! have it — the webhook answers only after the row commits, the poller moves its offset only
//! after — and handed to the bot from there, in `update_id` order, by one process at a time.
//! An update is marked handled once the bot is done with it, so a process killed with updates
//! queued or half handled loses none: the next holder of the inbox's lease hands them out again
//! (at least once: an emergency location acts before it clears its request, so a repeat
//! raises it twice rather than never). Handled rows stay [`bot_inbox::KEEP_HANDLED`], so an
//! update Telegram sends again (our answer lost on the way) is recognised and not handled
//! twice. The rows are kept by [`gad_core::services::bot_inbox`]; this is the loop.
//!
//! Any number of processes receive (every api replica behind the webhook, a polling `gad bot`);
//! the holder of the notifier's lease ([`super::jobs`], renewed here too) hands them out, so one
//! chat's updates do not run on two processes at once, whichever replica received them (but for
//! the moment a lease takes to change hands).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gad_core::events::Consumer;
use gad_core::services::bot_inbox;
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::{Bot, Dispatcher};

/// How often a process looks for updates another replica received (its own wake it at once).
const POLL: Duration = Duration::from_millis(250);
/// Updates read per look beyond those already handed out (a chat with a long queue must not
/// keep the others' updates out of the window).
const BATCH: u64 = 256;
/// At most this many updates handed out and not yet handled (a backlog after an outage is
/// handed out as the first ones finish).
const IN_FLIGHT_MAX: usize = 1024;
/// How long a stopping process lets the handlers it runs finish.
const STOP_GRACE: Duration = Duration::from_millis(1500);

/// Marks an update handled, retried a few times: whether it is marked. One left unmarked stays
/// in this process's hands (not handed out again here, behind its chat's later updates) and
/// the inbox's loop marks it later; if this process loses the lease first, the next holder
/// runs it again.
async fn mark_handled(db: &DatabaseConnection, update_id: i64) -> bool {
    for attempt in 1..=3 {
        match bot_inbox::mark_handled(db, update_id).await {
            Ok(()) => return true,
            Err(e) if attempt == 3 => {
                tracing::warn!(update_id, error = %e, "telegram update not marked handled; it will run again")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    false
}

/// The running inbox of one process.
#[derive(Clone)]
pub struct Inbox {
    dispatcher: Dispatcher,
    wake: Arc<Notify>,
    /// The loop; taken (and awaited) by [`Inbox::stop`].
    handle: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Inbox {
    /// Starts handing this process's bot the inbox's updates while it holds `lease`
    /// ([`super::jobs::Jobs::lease`]).
    pub fn spawn(bot: &Bot, dispatcher: Dispatcher, lease: Arc<Consumer>) -> Inbox {
        let wake = Arc::new(Notify::new());
        let run = run(bot.state.db.clone(), dispatcher.clone(), lease, wake.clone());
        Inbox { dispatcher, wake, handle: Arc::new(std::sync::Mutex::new(Some(tokio::spawn(run)))) }
    }

    /// Something was kept: look now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops handing out updates, lets the handlers running finish (briefly), then stops them
    /// (the next holder of the lease hands out again what was not handled to the end).
    pub async fn stop(&self) {
        let handle = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle {
            handle.abort();
            let _ = handle.await;
        }
        self.dispatcher.close(STOP_GRACE).await;
    }
}

async fn run(db: DatabaseConnection, dispatcher: Dispatcher, lease: Arc<Consumer>, wake: Arc<Notify>) {
    // (update id, whether it was marked handled) once its handler returned.
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(i64, bool)>();
    // Handed to the dispatcher, not yet marked handled: not handed out again while we lead.
    let mut in_flight: HashSet<i64> = HashSet::new();
    // Of those, the ones handled whose mark failed (the database away): marked here later.
    let mut unmarked: HashSet<i64> = HashSet::new();
    let mut purged_at: Option<Instant> = None;
    let mut last_claim: Option<Instant> = None;
    // The last read found more updates waiting than it took.
    let mut more_waiting = false;
    loop {
        // Renewed here too, not only by the notifier (which may be busy for longer than the
        // lease, sending one event to many): held while our last renewal is recent enough that
        // nobody else can have taken it since.
        // Every step of this loop is timed (a slow database must not keep handlers running
        // past the lease), and the renewal counts from before it was sent: the lease it
        // writes runs from later than that.
        let step = lease.lease() / 12;
        if last_claim.is_none_or(|at| at.elapsed() >= lease.lease() / 3) {
            let sent = Instant::now();
            match tokio::time::timeout(lease.lease() / 4, lease.claim()).await {
                Ok(Ok(true)) => last_claim = Some(sent),
                Ok(Ok(false)) => last_claim = None,
                // A failed renewal is not a loss yet: the lease runs until it expires.
                Ok(Err(e)) => tracing::warn!(error = %e, "inbox lease not renewed"),
                Err(_) => tracing::warn!("inbox lease renewal timed out"),
            }
        }
        let held = last_claim.is_some_and(|at| at.elapsed() < lease.lease() * 2 / 3);
        if !held && !in_flight.is_empty() {
            // Whoever holds it now hands out everything not handled, ours included: what this
            // process still runs or has queued stops here, so nothing runs twice at once.
            dispatcher.stop();
            in_flight.clear();
            unmarked.clear();
        }
        while let Ok(done) = done_rx.try_recv() {
            settle(&mut in_flight, &mut unmarked, done);
        }
        if held && !unmarked.is_empty() {
            for id in unmarked.clone() {
                if let Ok(Ok(())) = tokio::time::timeout(step, bot_inbox::mark_handled(&db, id)).await {
                    unmarked.remove(&id);
                    in_flight.remove(&id);
                }
            }
        }
        if held && purged_at.is_none_or(|at| at.elapsed() >= bot_inbox::KEEP_HANDLED / 10) {
            purged_at = Some(Instant::now());
            match tokio::time::timeout(step, bot_inbox::purge_handled(&db)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "old handled telegram updates not deleted yet"),
                Err(_) => tracing::warn!("deleting old handled telegram updates timed out"),
            }
        }
        if held && in_flight.len() < IN_FLIGHT_MAX {
            let limit = BATCH + in_flight.len() as u64;
            // Ids first (cheap, read often); the bodies of the new ones only.
            let read = async {
                let ids = bot_inbox::waiting(&db, limit).await?;
                let mut new: Vec<i64> = ids.iter().copied().filter(|id| !in_flight.contains(id)).collect();
                // At most a batch of bodies per read; the rest, as what lies beyond the window,
                // is read once one in hand is handled.
                more_waiting = ids.len() as u64 == limit || new.len() > BATCH as usize;
                new.truncate(BATCH as usize);
                if new.is_empty() { Ok(Vec::new()) } else { bot_inbox::bodies(&db, &new).await }
            };
            match tokio::time::timeout(lease.lease() / 4, read)
                .await
                .unwrap_or_else(|_| Err(gad_core::error::AppError::Unavailable("timed out".into())))
            {
                Ok(rows) => {
                    for (id, raw) in rows {
                        if !in_flight.insert(id) {
                            continue;
                        }
                        let (done, db) = (done_tx.clone(), db.clone());
                        // Marked by the chat's worker before its next update: a process killed
                        // after a handler finished hands it out again only if it died in the
                        // moment between the handler's end and this write.
                        dispatcher.dispatch_then(
                            raw,
                            Box::new(move || {
                                Box::pin(async move {
                                    let marked = mark_handled(&db, id).await;
                                    // The receiver lives as long as the inbox's loop.
                                    let _ = done.send((id, marked));
                                })
                            }),
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "telegram inbox not read; retrying"),
            }
        }
        // Until something was kept, the poll's time is up, or — only when the last read left
        // updates waiting beyond its window — one in hand was handled.
        let until = tokio::time::Instant::now() + POLL;
        loop {
            tokio::select! {
                () = wake.notified() => break,
                Some(done) = done_rx.recv() => {
                    settle(&mut in_flight, &mut unmarked, done);
                    if more_waiting {
                        break;
                    }
                }
                () = tokio::time::sleep_until(until) => break,
            }
        }
    }
}

/// An update's handler returned: out of hand if it was marked handled, else kept in hand until
/// the loop marks it.
fn settle(in_flight: &mut HashSet<i64>, unmarked: &mut HashSet<i64>, (id, marked): (i64, bool)) {
    if marked {
        in_flight.remove(&id);
    } else if in_flight.contains(&id) {
        unmarked.insert(id);
    }
}
