//! The bot's background jobs: the notifier (domain events → Telegram messages to the officers
//! concerned) and the broadcast deliverer (pending broadcasts → their groups, result recorded).
//!
//! The notifier is a durable consumer of the event outbox ([`Consumer`], named after the bot's
//! id): it reads the events after its cursor, sends what each means and acknowledges it, so a
//! bot that was down catches up from where it stopped and nothing already acknowledged is sent
//! again. Any number of processes may run the jobs (`gad bot`, every `gad serve` replica in
//! webhook mode): the consumer's lease in the database lets one of them send at a time, and
//! another takes over within [`LEASE`] when it dies (at once when it stops). The deliverer
//! runs only in the lease holder too.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use app::api::tasks::task_detail;
use app::server::harness::call_as;
use carapax::types::{SendMessage, SendVenue};
use contract::ErrorCode;
use contract::events::Event;
use contract::tasks::TaskDetail;
use gad_core::error::AppError;
use gad_core::events::Consumer;
use gad_core::services::notifications::Recipient;
use gad_core::services::{auth, broadcasts, conversations, feedback, notifications};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Bot, render};

/// How often pending broadcasts are looked for besides `broadcast.created` (missed events,
/// a bot that was down).
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// The notifier's lease: renewed with every acknowledged event and every [`LEASE`] / 3. Its
/// holder also hands out the received updates ([`super::inbox`]), so a dead holder's chats wait
/// at most about this long for another process.
const LEASE: Duration = Duration::from_secs(6);
/// How long one event's notification is retried before it is skipped (logged and counted).
const GIVE_UP_AFTER: Duration = Duration::from_secs(300);
/// Events handled per read of the outbox.
const NOTIFY_BATCH: u64 = 50;
/// At most this many broadcasts per sweep.
const SWEEP_BATCH: u64 = 50;

/// The running jobs; [`Jobs::stop`] ends them.
pub struct Jobs {
    handles: Vec<JoinHandle<()>>,
    consumer: Arc<Consumer>,
}

impl Jobs {
    /// The lease: its holder is the one process that speaks Telegram (notifications,
    /// broadcasts, and the received updates of [`super::inbox`]).
    pub fn lease(&self) -> Arc<Consumer> {
        self.consumer.clone()
    }

    /// Stops the jobs and gives the notifier's lease up, so another process takes over now.
    pub async fn stop(self) {
        for handle in &self.handles {
            handle.abort();
        }
        for handle in self.handles {
            let _ = handle.await;
        }
        // A renewal a stopped task had already sent is not withdrawn with the task (the
        // database runs it anyway) and may land after the release: released once more after it.
        for pause in [Duration::ZERO, Duration::from_millis(200)] {
            tokio::time::sleep(pause).await;
            if let Err(e) = self.consumer.release().await {
                tracing::warn!(error = %e, "notifier lease not released; it expires by itself");
            }
        }
    }
}

/// The notifier's consumer name: one cursor per bot (the token's part before `:`, never the
/// secret part).
pub fn consumer_name(bot: &Bot) -> String {
    format!("telegram:{}", bot.token.split(':').next().unwrap_or_default())
}

/// Starts the notifier and the deliverer.
pub fn spawn(bot: Bot) -> Jobs {
    // Unique among the processes sharing one database.
    let me = format!(
        "{}-{}-{}",
        hostname(),
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let consumer = Arc::new(Consumer::new(bot.state.db.clone(), &consumer_name(&bot), me, LEASE));
    let leader = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    let handles = vec![
        tokio::spawn(notifier(bot.clone(), consumer.clone(), leader.clone(), wake.clone())),
        tokio::spawn(deliverer(bot, consumer.clone(), leader, wake)),
    ];
    Jobs { handles, consumer }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default()
}

/// Holds (or waits for) the lease and, while held, sends every event after the cursor.
async fn notifier(bot: Bot, consumer: Arc<Consumer>, leader: Arc<AtomicBool>, wake: Arc<Notify>) {
    // Any event delivered to this process means the outbox has grown.
    let mut events = bot.state.events.subscribe();
    let mut attempt: Option<Attempt> = None;
    loop {
        let held = match consumer.claim().await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "notifier lease not renewed");
                false
            }
        };
        if held && !leader.swap(true, Ordering::SeqCst) {
            tracing::info!("this process now runs the telegram notifier and broadcasts");
            wake.notify_one();
        } else if !held && leader.swap(false, Ordering::SeqCst) {
            tracing::info!("another process runs the telegram notifier now");
        }
        if held && let Err(e) = drain(&bot, &consumer, &wake, &mut attempt).await {
            tracing::warn!(error = %e, "telegram notifier interrupted; retrying");
        }
        tokio::select! {
            _ = events.recv() => {}
            () = tokio::time::sleep(consumer.lease() / 3) => {}
        }
    }
}

/// The event being notified: since when (its first attempt), and the chats already told (a
/// retry after a failed read tells only the others).
struct Attempt {
    id: i64,
    since: std::time::Instant,
    told: HashSet<i64>,
}

/// Sends the events after the cursor, acknowledging each, until none is left or the lease is
/// lost. A send Telegram refused is logged and acknowledged (retrying would not help); a
/// failure to read what to send, or to reach Telegram at all, stops here and is retried from
/// the same event, for the recipients not yet told.
async fn drain(bot: &Bot, consumer: &Consumer, wake: &Notify, attempt: &mut Option<Attempt>) -> Result<(), AppError> {
    loop {
        let batch = consumer.pending(NOTIFY_BATCH).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for delivered in batch {
            if attempt.as_ref().is_none_or(|a| a.id != delivered.id) {
                *attempt = Some(Attempt { id: delivered.id, since: std::time::Instant::now(), told: HashSet::new() });
            }
            let Some(state) = attempt.as_mut() else { continue };
            if let Err(e) = notify(bot, &delivered.event, wake, &mut state.told).await {
                // Retried (the database may be back in a moment), but one event that keeps
                // failing must not hold every later notification back for ever.
                if state.since.elapsed() < GIVE_UP_AFTER {
                    return Err(e);
                }
                tracing::error!(error = %e, id = delivered.id, event = delivered.event.kind(), "notification skipped after retrying");
                metrics::counter!("gad_bot_notifications_skipped_total").increment(1);
            }
            metrics::counter!("gad_bot_notifications_total", "event" => delivered.event.kind()).increment(1);
            // The chats told are forgotten only once the event is acknowledged: an ack that
            // fails retries the event for nobody already told.
            let acked = consumer.ack(delivered.id).await?;
            *attempt = None;
            if !acked {
                return Ok(());
            }
        }
    }
}

/// Sends what one event means to the officers it concerns, skipping the chats in `told` (an
/// earlier attempt told them) and adding each chat once told; every read a chat's messages
/// need comes before its first send, so a failing read never leaves a chat half told.
async fn notify(bot: &Bot, event: &Event, wake: &Notify, told: &mut HashSet<i64>) -> Result<(), AppError> {
    let state = &bot.state;
    match event {
        Event::TaskCreated { task_id, officer_ids, .. } | Event::TaskAssigned { task_id, officer_ids, .. } => {
            for r in notifications::officer_recipients(state, officer_ids).await? {
                if !told.contains(&r.telegram_user_id) {
                    task_card(bot, &r, *task_id, render::NOTIFY_ASSIGNED).await?;
                    told.insert(r.telegram_user_id);
                }
            }
        }
        Event::TaskUnassigned { code, officer_id, .. } => {
            for r in notifications::officer_recipients(state, &[*officer_id]).await? {
                if !told.contains(&r.telegram_user_id) {
                    send(bot, SendMessage::new(r.telegram_user_id, render::notify_unassigned(code))).await?;
                    told.insert(r.telegram_user_id);
                }
            }
        }
        Event::TaskStatusChanged { task_id, code, to, by_user_id, .. } => {
            for r in notifications::task_recipients(state, *task_id).await? {
                // Who made the change knows already.
                if Some(r.user_id) != *by_user_id && !told.contains(&r.telegram_user_id) {
                    send(bot, SendMessage::new(r.telegram_user_id, render::notify_status(code, *to))).await?;
                    told.insert(r.telegram_user_id);
                }
            }
        }
        Event::TaskUpdated { task_id, .. } => {
            for r in notifications::task_recipients(state, *task_id).await? {
                if !told.contains(&r.telegram_user_id) {
                    task_card(bot, &r, *task_id, render::NOTIFY_UPDATED).await?;
                    told.insert(r.telegram_user_id);
                }
            }
        }
        Event::EmergencyCreated { task_id, code, lat, lon, officer_ids } => {
            for r in notifications::officer_recipients(state, officer_ids).await? {
                if told.contains(&r.telegram_user_id) {
                    continue;
                }
                // Read first: a failing read is retried before anything reaches this chat.
                let detail = visible_task(bot, &r, *task_id).await?;
                send(bot, SendMessage::new(r.telegram_user_id, render::notify_emergency(code))).await?;
                told.insert(r.telegram_user_id);
                // The pin carries a name: the task's place or what was said about it.
                let Some(detail) = detail else { continue };
                let title = format!("🚨 Emergencia {code}");
                let place = render::emergency_place(&detail);
                let pin = SendVenue::new(r.telegram_user_id, *lat as f32, *lon as f32, title, place);
                if let Err(e) = bot.execute(pin).await {
                    tracing::warn!(error = %bot.describe(&e), "sendVenue failed");
                }
            }
        }
        Event::TaskOverdue { task_id, code, priority, target, level } => {
            let text = render::notify_overdue(code, *priority, target, *level);
            for chat in notifications::escalation_chats(state, *task_id, *level).await? {
                if !told.contains(&chat) {
                    send(bot, SendMessage::new(chat, text.clone())).await?;
                    told.insert(chat);
                }
            }
        }
        Event::BroadcastCreated { .. } => wake.notify_one(),
        Event::TaskDeleted { .. }
        | Event::OfficerPosition { .. }
        | Event::OfficerStatusChanged { .. }
        | Event::BroadcastDelivered { .. }
        | Event::FeedbackCreated { .. } => {}
    }
    Ok(())
}

/// The task as the recipient sees it (through the server function, as them), with its buttons.
/// A recipient no longer linked, or who may not see the task, is skipped; a failure to read
/// (the database away) is returned, so the event is retried rather than acknowledged unsent.
async fn task_card(bot: &Bot, r: &Recipient, task_id: i64, header: &str) -> Result<(), AppError> {
    if let Some(detail) = visible_task(bot, r, task_id).await? {
        let text = format!("{header}\n\n{}", render::task(&detail));
        let method =
            SendMessage::new(r.telegram_user_id, render::fit(&text)).with_reply_markup(render::task_keyboard(&detail));
        send(bot, method).await?;
    }
    Ok(())
}

/// The task as the recipient may see it (through the server function, as them): `None` for
/// a recipient no longer linked or a task they may not see; a failure to read (the database
/// away) is an error, so the event is retried rather than acknowledged unsent.
async fn visible_task(bot: &Bot, r: &Recipient, task_id: i64) -> Result<Option<TaskDetail>, AppError> {
    let actor = match auth::actor_for_telegram(&bot.state, r.telegram_user_id).await {
        Ok(actor) => actor,
        Err(AppError::Unauthenticated | AppError::TwoFactorSetupRequired) => {
            tracing::debug!("notification recipient is no longer linked, or may not act yet");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    match call_as(&bot.state, Some(actor), || task_detail(task_id)).await {
        Ok(detail) => Ok(Some(detail)),
        Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::Forbidden) => {
            tracing::debug!(error = %e.message, "notified task not visible to its officer");
            Ok(None)
        }
        Err(e) => Err(AppError::Unavailable(e.message)),
    }
}

/// Sends one notification. Telegram's refusal of it (a chat that blocked the bot, a message it
/// will not take: a 4xx other than a rate limit) is logged and done with; not reaching
/// Telegram — no connection, a timeout, a 5xx, a reply that is not Telegram's, a rate limit
/// still in force — is an error, so the event is retried for the chats not told yet instead of
/// being acknowledged unsent (a chat may then be told twice, never not at all).
async fn send(bot: &Bot, method: SendMessage) -> Result<(), AppError> {
    match bot.execute(method).await {
        Ok(_) => Ok(()),
        Err(e) if refused(&e) => {
            tracing::warn!(error = %bot.describe(&e), "notification refused by telegram");
            Ok(())
        }
        Err(e) => Err(AppError::Unavailable(bot.describe(&e))),
    }
}

/// Whether Telegram answered and refused (retrying the same request would not help).
fn refused(error: &carapax::api::ExecuteError) -> bool {
    use carapax::api::ExecuteError;
    match error {
        ExecuteError::Response(e) => e.error_code().is_some_and(|code| (400..500).contains(&code) && code != 429),
        ExecuteError::Payload(_) => true,
        ExecuteError::Http(_) => false,
    }
}

/// Delivers pending broadcasts now, on every `broadcast.created` and every [`SWEEP_EVERY`].
async fn deliverer(bot: Bot, consumer: Arc<Consumer>, leader: Arc<AtomicBool>, wake: Arc<Notify>) {
    let mut unrecorded = Unrecorded::new();
    loop {
        if leader.load(Ordering::SeqCst) {
            deliver_pending(&bot, &consumer, &mut unrecorded).await;
            if let Err(e) = conversations::purge_expired(&bot.state).await {
                tracing::warn!(error = %e, "expired bot conversations not purged");
            }
            if let Err(e) = weekly_digest(&bot, chrono::Utc::now()).await {
                tracing::warn!(error = %e, "weekly feedback digest not sent");
            }
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}

/// Broadcasts sent whose outcome the database did not take (it was away): recorded at the
/// next sweep instead of sent again. Kept by this process only, so a process that dies before
/// recording leaves the broadcast pending and the next lease holder sends it again (at least
/// once); at most one entry per pending broadcast.
type Unrecorded = HashMap<i64, Result<(), String>>;

async fn deliver_pending(bot: &Bot, consumer: &Consumer, unrecorded: &mut Unrecorded) {
    for (id, outcome) in std::mem::take(unrecorded) {
        if let Err(e) = broadcasts::record_delivery(&bot.state, id, outcome.clone()).await {
            tracing::error!(broadcast_id = id, error = %e, "broadcast delivery still not recorded");
            unrecorded.insert(id, outcome);
        }
    }
    // Past the ones waiting to be recorded, which must not fill the batch.
    let pending = match broadcasts::pending_deliveries(&bot.state, SWEEP_BATCH + unrecorded.len() as u64).await {
        Ok(pending) => pending,
        Err(e) => return tracing::error!(error = %e, "cannot read pending broadcasts"),
    };
    for item in pending {
        if unrecorded.contains_key(&item.id) {
            continue;
        }
        // The lease checked (and renewed) before each one, not once a sweep: a batch held up
        // by Telegram's rate limits must not run on after another process took over.
        if !consumer.claim().await.unwrap_or(false) {
            return;
        }
        let text = render::broadcast(item.kind, item.sender.as_deref(), &item.text);
        let mut outcome = Ok(());
        // Whole: a text longer than one message goes in several, in order.
        for part in render::parts(&text) {
            if let Err(e) = bot.execute(SendMessage::new(item.chat_id, part)).await {
                let reason = bot.describe(&e);
                tracing::warn!(broadcast_id = item.id, error = %reason, "broadcast not delivered");
                outcome = Err(reason);
                break;
            }
        }
        if let Err(e) = broadcasts::record_delivery(&bot.state, item.id, outcome.clone()).await {
            tracing::error!(broadcast_id = item.id, error = %e, "broadcast delivery not recorded; recorded later");
            unrecorded.insert(item.id, outcome);
        }
    }
}

/// The local hour on Monday from which last week's feedback digest is due.
const DIGEST_HOUR: u32 = 8;

/// From Monday 08:00 (local) on, last week's feedback digest goes to every supervisor and admin
/// linked to Telegram, once ([`feedback::claim_digest`]: whichever replica claims the week
/// sends it; a send Telegram refuses is logged, not repeated): `Some(recipients)` when this
/// call sent it, `None` when it is not due, was already claimed, or the week had no feedback.
pub async fn weekly_digest(bot: &Bot, now: chrono::DateTime<chrono::Utc>) -> Result<Option<usize>, AppError> {
    let state = &bot.state;
    let tz = state.config.timezone;
    let this_week = feedback::week_of(tz, now);
    let due = this_week.and_hms_opt(DIGEST_HOUR, 0, 0).unwrap_or_default();
    if now.with_timezone(&tz).naive_local() < due {
        return Ok(None);
    }
    let week = this_week - chrono::Duration::weeks(1);
    if !feedback::claim_digest(state, week).await? {
        return Ok(None);
    }
    let digest = feedback::digest_for(state, week).await?;
    // A week without feedback is no news (what waits for review shows in the next digest).
    if digest.total == 0 {
        return Ok(None);
    }
    let text = render::feedback_digest(&digest);
    let chats = notifications::reviewer_chats(state).await?;
    for chat in &chats {
        // Claimed once: a chat Telegram could not be reached for is not told twice.
        if let Err(e) = send(bot, SendMessage::new(*chat, render::fit(&text))).await {
            tracing::warn!(error = %e, "feedback digest not sent to a chat");
        }
    }
    metrics::counter!("gad_feedback_digests_sent_total").increment(1);
    tracing::info!(%week, recipients = chats.len(), "weekly feedback digest sent");
    Ok(Some(chats.len()))
}
