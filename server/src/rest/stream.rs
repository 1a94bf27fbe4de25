//! `GET /api/v1/events/stream`: the live event stream as server-sent events. Each event is
//! sent as `event: <type>` with the JSON body and `id: <outbox id>`, filtered by what the
//! caller may see. Fed by the event bus, so it carries the events of every replica.
//!
//! A client that reconnects with `Last-Event-ID` (browsers do so by themselves) or
//! `?after=<id>` first gets the events it missed, read from the outbox, then the live ones;
//! when more than [`REPLAY_MAX`] were missed or they were pruned it gets one `resync` event
//! (refetch everything) instead.
//!
//! A stream lives no longer than the credential that opened it: every [`RECHECK`] (and
//! before sending an event when the last check is older than a second) the caller is
//! resolved again — the session re-read from the store, the token looked up — and the
//! stream ends once that fails (logout, expiry, token revoked, password changed, user
//! deactivated). A role change applies to what the stream sends from the next check on.

use std::convert::Infallible;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gad_core::actor::Actor;
use gad_core::events::{self, Delivered};
use gad_core::state::AppState;
use gad_core::visibility::event_visible;

use super::auth::Caller;
use super::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// Decrements the connection gauge when the stream is dropped (client gone).
struct Connected;

impl Drop for Connected {
    fn drop(&mut self) {
        metrics::gauge!("gad_realtime_connections").decrement(1.0);
    }
}

/// How often an open stream checks that its caller is still signed in.
pub const RECHECK: Duration = Duration::from_secs(3);

/// At most this many missed events are replayed on a resume; beyond, the client resyncs.
pub const REPLAY_MAX: u64 = 1000;

/// One open stream: what it listens to and on whose behalf.
struct Live {
    events: tokio::sync::broadcast::Receiver<Delivered>,
    /// Missed events still to send (a resume), oldest first.
    replay: std::collections::VecDeque<Delivered>,
    /// Tell the client to refetch before anything else.
    resync: bool,
    /// The id of the last event sent or skipped: live events up to it were replayed already.
    sent: i64,
    state: AppState,
    caller: Caller,
    actor: Actor,
    checked: Instant,
    ticker: tokio::time::Interval,
    /// The process is shutting down: end the stream (the client resumes elsewhere).
    draining: tokio::sync::watch::Receiver<bool>,
    _connected: Connected,
    _slot: super::slots::Slot,
}

impl Live {
    /// Resolves the caller again; `false` once they are nobody (or someone else).
    async fn still_signed_in(&mut self) -> bool {
        match self.caller.revalidate(&self.state).await {
            Ok(actor) if actor.user_id == self.actor.user_id => {
                self.actor = actor;
                self.checked = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// The frame of `delivered` for this caller, if they may see it.
    async fn frame(&mut self, delivered: Delivered) -> Option<Option<SseEvent>> {
        if delivered.id <= self.sent {
            return Some(None);
        }
        self.sent = delivered.id;
        if self.checked.elapsed() >= Duration::from_secs(1) && !self.still_signed_in().await {
            return None;
        }
        if !event_visible(&self.actor, &delivered.event) {
            return Some(None);
        }
        Some(Some(
            SseEvent::default()
                .id(delivered.id.to_string())
                .event(delivered.event.kind())
                .json_data(&delivered.event)
                .unwrap_or_else(|_| SseEvent::default().comment("unencodable event")),
        ))
    }

    /// The next SSE frame, or `None` when the stream must end.
    async fn next(&mut self) -> Option<SseEvent> {
        if *self.draining.borrow() {
            return None;
        }
        if std::mem::take(&mut self.resync) {
            return Some(resync(self.sent, "missed"));
        }
        while let Some(delivered) = self.replay.pop_front() {
            if let Some(frame) = self.frame(delivered).await? {
                return Some(frame);
            }
        }
        loop {
            tokio::select! {
                received = self.events.recv() => match received {
                    Ok(delivered) => {
                        if let Some(frame) = self.frame(delivered).await? {
                            return Some(frame);
                        }
                    }
                    // A slow client: tell it to resync rather than silently dropping.
                    Err(RecvError::Lagged(missed)) => {
                        self.sent = self.state.events.head();
                        return Some(resync(self.sent, &missed.to_string()));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.ticker.tick() => {
                    if !self.still_signed_in().await {
                        return None;
                    }
                }
                _ = self.draining.changed() => return None,
            }
        }
    }
}

/// "Refetch everything": carries the id to resume after, so a reconnection does not replay
/// what the refetch covers.
fn resync(after: i64, why: &str) -> SseEvent {
    SseEvent::default().id(after.to_string()).event("resync").data(why)
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Resume {
    /// Resume after this event id (as `Last-Event-ID`, for clients that cannot set headers).
    after: Option<i64>,
}

/// Where the client asks to resume: `Last-Event-ID` first, then `?after=`.
fn resume_point(headers: &HeaderMap, query: &Resume) -> Option<i64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.after)
        .filter(|id| *id >= 0)
}

/// Live events (text/event-stream), e.g. `event: task.created` with an `id:` and a JSON
/// `data:` line. Resumes after `Last-Event-ID` (or `?after=`). The stream ends when the
/// session or token that opened it does.
#[utoipa::path(get, path = "/events/stream", tag = "events", params(Resume), responses(
    (status = 200, content_type = "text/event-stream", body = String), (status = 401, body = Problem),
    (status = 429, body = Problem)))]
async fn stream(
    State(state): State<AppState>,
    Extension(slots): Extension<super::slots::StreamSlots>,
    caller: Caller,
    headers: HeaderMap,
    Query(resume): Query<Resume>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    let slot = slots.0.take(caller.actor.user_id, "conexiones en vivo abiertas (pestañas del panel)")?;
    metrics::gauge!("gad_realtime_connections").increment(1.0);
    let mut ticker = tokio::time::interval_at(Instant::now() + RECHECK, RECHECK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Subscribe before reading the outbox, so nothing falls between the two.
    let receiver = state.events.subscribe();
    let (replay, resync, sent) = match resume_point(&headers, &resume) {
        None => (Vec::new(), false, 0),
        Some(after) => missed_since(&state, after).await,
    };
    let live = Live {
        events: receiver,
        replay: replay.into(),
        resync,
        sent,
        actor: caller.actor.clone(),
        state,
        caller,
        checked: Instant::now(),
        ticker,
        draining: crate::startup::draining(),
        _connected: Connected,
        _slot: slot,
    };
    let events = futures::stream::unfold(live, |mut live| async move { live.next().await.map(|sse| (Ok(sse), live)) });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The events after `after` to replay, or a resync when they cannot all be replayed (too
/// many, pruned, or the outbox unreadable): (events, resync, id the live part starts after).
async fn missed_since(state: &AppState, after: i64) -> (Vec<Delivered>, bool, i64) {
    let head = state.events.head();
    if after >= head {
        // Nothing missed here (or the client saw more on another replica: skip up to it).
        return (Vec::new(), false, after);
    }
    let read = async {
        let oldest = events::oldest_id(&state.db).await?;
        let missed = events::read_after(&state.db, after, REPLAY_MAX + 1).await?;
        Ok::<_, gad_core::error::AppError>((oldest, missed))
    };
    match read.await {
        Ok((oldest, missed)) => {
            // Ids are dense but for rare rollbacks: a gap before the oldest means pruned.
            let pruned = oldest.is_some_and(|oldest| oldest > after + 1);
            if pruned || missed.len() as u64 > REPLAY_MAX { (Vec::new(), true, head) } else { (missed, false, after) }
        }
        Err(e) => {
            tracing::warn!(error = %e, "missed events not read; the client resyncs");
            (Vec::new(), true, head)
        }
    }
}
