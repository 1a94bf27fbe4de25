//! The bot's background jobs: the notifier (domain events → Telegram messages to the officers
//! concerned) and the broadcast deliverer (pending broadcasts → their groups, result recorded).
//!
//! They must run in exactly one process: `gad bot`, or `gad serve` in webhook mode. Every
//! replica hears every event (Redis fan-out), so with Redis the jobs also take a lease
//! (`gad:bot:jobs:<bot id>`, renewed every few seconds): only the holder sends; the others stand by and
//! take over within [`LEASE`] if it dies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use app::api::tasks::task_detail;
use app::server::harness::call_as;
use carapax::types::{SendLocation, SendMessage};
use contract::events::Event;
use gad_core::services::notifications::Recipient;
use gad_core::services::{auth, broadcasts, conversations, notifications};
use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::{Bot, render};

/// How often pending broadcasts are looked for besides `broadcast.created` (missed events,
/// a bot that was down).
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// The Redis lease of the jobs.
const LEASE: Duration = Duration::from_secs(15);
/// Followed by the bot's id (the token's part before `:`), never the secret part.
const LEASE_KEY: &str = "gad:bot:jobs";
/// At most this many broadcasts per sweep.
const SWEEP_BATCH: u64 = 50;

/// The running jobs; [`Jobs::stop`] ends them.
pub struct Jobs {
    handles: Vec<JoinHandle<()>>,
}

impl Jobs {
    pub fn stop(self) {
        for handle in self.handles {
            handle.abort();
        }
    }
}

/// Starts the notifier, the deliverer and (with Redis) the lease keeper.
pub fn spawn(bot: Bot) -> Jobs {
    let leader = Arc::new(AtomicBool::new(bot.state.redis.is_none()));
    let wake = Arc::new(Notify::new());
    // Subscribe now, so no event published after start-up is missed.
    let events = bot.state.events.subscribe();
    let mut handles = vec![
        tokio::spawn(notifier(bot.clone(), events, leader.clone(), wake.clone())),
        tokio::spawn(deliverer(bot.clone(), leader.clone(), wake.clone())),
    ];
    if bot.state.redis.is_some() {
        handles.push(tokio::spawn(lease(bot, leader, wake)));
    }
    Jobs { handles }
}

/// Keeps (or waits for) the Redis lease; `leader` says whether this process holds it.
async fn lease(bot: Bot, leader: Arc<AtomicBool>, wake: Arc<Notify>) {
    let Some(pool) = bot.state.redis.clone() else { return };
    // Unique enough among the processes sharing one Redis.
    let me = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let key = format!("{LEASE_KEY}:{}", bot.token.split(':').next().unwrap_or_default());
    let ms = LEASE.as_millis() as u64;
    loop {
        // Take a free lease, or extend our own (renewed long before it can lapse).
        let held: Result<bool, String> = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&me)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async(&mut *conn)
                .await
                .map_err(|e| e.to_string())?;
            if taken.is_some() {
                return Ok(true);
            }
            let holder: Option<String> =
                redis::cmd("GET").arg(&key).query_async(&mut *conn).await.map_err(|e| e.to_string())?;
            if holder.as_deref() != Some(me.as_str()) {
                return Ok(false);
            }
            let _: i64 =
                redis::cmd("PEXPIRE").arg(&key).arg(ms).query_async(&mut *conn).await.map_err(|e| e.to_string())?;
            Ok(true)
        }
        .await;
        let now_leader = matches!(held, Ok(true));
        if let Err(e) = &held {
            tracing::warn!(error = %e, "bot jobs lease not renewed");
        }
        let was = leader.swap(now_leader, Ordering::SeqCst);
        if now_leader && !was {
            tracing::info!("this process now runs the telegram notifier and broadcasts");
            wake.notify_one();
        }
        tokio::time::sleep(LEASE / 3).await;
    }
}

async fn notifier(
    bot: Bot,
    mut events: tokio::sync::broadcast::Receiver<Event>,
    leader: Arc<AtomicBool>,
    wake: Arc<Notify>,
) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "telegram notifier fell behind; some notifications were skipped");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if !leader.load(Ordering::SeqCst) {
            continue;
        }
        if let Err(e) = notify(&bot, &event, &wake).await {
            tracing::error!(error = %e, event = event.kind(), "telegram notification failed");
        }
    }
}

/// Sends what one event means to the officers it concerns.
async fn notify(bot: &Bot, event: &Event, wake: &Notify) -> Result<(), gad_core::error::AppError> {
    let state = &bot.state;
    match event {
        Event::TaskCreated { task_id, officer_ids, .. } | Event::TaskAssigned { task_id, officer_ids, .. } => {
            for r in notifications::officer_recipients(state, officer_ids).await? {
                task_card(bot, &r, *task_id, render::NOTIFY_ASSIGNED).await;
            }
        }
        Event::TaskUnassigned { code, officer_id, .. } => {
            for r in notifications::officer_recipients(state, &[*officer_id]).await? {
                send(bot, SendMessage::new(r.telegram_user_id, render::notify_unassigned(code))).await;
            }
        }
        Event::TaskStatusChanged { task_id, code, to, by_user_id, .. } => {
            for r in notifications::task_recipients(state, *task_id).await? {
                // Who made the change knows already.
                if Some(r.user_id) != *by_user_id {
                    send(bot, SendMessage::new(r.telegram_user_id, render::notify_status(code, *to))).await;
                }
            }
        }
        Event::TaskUpdated { task_id, .. } => {
            for r in notifications::task_recipients(state, *task_id).await? {
                task_card(bot, &r, *task_id, render::NOTIFY_UPDATED).await;
            }
        }
        Event::EmergencyCreated { code, lat, lon, officer_ids, .. } => {
            for r in notifications::officer_recipients(state, officer_ids).await? {
                send(bot, SendMessage::new(r.telegram_user_id, render::notify_emergency(code))).await;
                let pin = SendLocation::new(r.telegram_user_id, *lat as f32, *lon as f32);
                if let Err(e) = bot.execute(pin).await {
                    tracing::warn!(error = %bot.describe(&e), "sendLocation failed");
                }
            }
        }
        Event::BroadcastCreated { .. } => wake.notify_one(),
        Event::TaskDeleted { .. }
        | Event::OfficerPosition { .. }
        | Event::OfficerStatusChanged { .. }
        | Event::BroadcastDelivered { .. } => {}
    }
    Ok(())
}

/// The task as the recipient sees it (through the server function, as them), with its buttons.
async fn task_card(bot: &Bot, r: &Recipient, task_id: i64, header: &str) {
    let actor = match auth::actor_for_telegram(&bot.state, r.telegram_user_id).await {
        Ok(actor) => actor,
        Err(e) => return tracing::debug!(error = %e, "notification recipient is no longer linked"),
    };
    match call_as(&bot.state, Some(actor), || task_detail(task_id)).await {
        Ok(detail) => {
            let text = format!("{header}\n\n{}", render::task(&detail));
            let method = SendMessage::new(r.telegram_user_id, text).with_reply_markup(render::task_keyboard(&detail));
            send(bot, method).await;
        }
        Err(e) => tracing::debug!(error = %e.message, "notified task not visible to its officer"),
    }
}

async fn send(bot: &Bot, method: SendMessage) {
    if let Err(e) = bot.execute(method).await {
        tracing::warn!(error = %bot.describe(&e), "notification not sent");
    }
}

/// Delivers pending broadcasts now, on every `broadcast.created` and every [`SWEEP_EVERY`].
async fn deliverer(bot: Bot, leader: Arc<AtomicBool>, wake: Arc<Notify>) {
    loop {
        if leader.load(Ordering::SeqCst) {
            deliver_pending(&bot).await;
            if let Err(e) = conversations::purge_expired(&bot.state).await {
                tracing::warn!(error = %e, "expired bot conversations not purged");
            }
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}

async fn deliver_pending(bot: &Bot) {
    let pending = match broadcasts::pending_deliveries(&bot.state, SWEEP_BATCH).await {
        Ok(pending) => pending,
        Err(e) => return tracing::error!(error = %e, "cannot read pending broadcasts"),
    };
    for item in pending {
        let text = render::broadcast(item.kind, item.sender.as_deref(), &item.text);
        let outcome = match bot.execute(SendMessage::new(item.chat_id, text)).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let reason = bot.describe(&e);
                tracing::warn!(broadcast_id = item.id, error = %reason, "broadcast not delivered");
                Err(reason)
            }
        };
        if let Err(e) = broadcasts::record_delivery(&bot.state, item.id, outcome).await {
            tracing::error!(broadcast_id = item.id, error = %e, "broadcast delivery not recorded");
        }
    }
}
