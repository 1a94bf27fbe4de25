//! `GET /api/v1/events/stream`: the live event stream as server-sent events. Each event is
//! sent as `event: <type>` with the JSON body, filtered by what the caller may see. Fed by
//! the event bus, so with Redis it carries the events of every replica.
//!
//! A stream lives no longer than the credential that opened it: every [`RECHECK`] (and
//! before sending an event when the last check is older than a second) the caller is
//! resolved again — the session re-read from the store, the token looked up — and the
//! stream ends once that fails (logout, expiry, token revoked, password changed, user
//! deactivated). A role change applies to what the stream sends from the next check on.

use std::convert::Infallible;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::events::Event;
use gad_core::actor::Actor;
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

/// One open stream: what it listens to and on whose behalf.
struct Live {
    events: tokio::sync::broadcast::Receiver<Event>,
    state: AppState,
    caller: Caller,
    actor: Actor,
    checked: Instant,
    ticker: tokio::time::Interval,
    _connected: Connected,
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

    /// The next SSE frame, or `None` when the stream must end.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            tokio::select! {
                received = self.events.recv() => match received {
                    Ok(event) => {
                        if self.checked.elapsed() >= Duration::from_secs(1) && !self.still_signed_in().await {
                            return None;
                        }
                        if event_visible(&self.actor, &event) {
                            return Some(
                                SseEvent::default()
                                    .event(event.kind())
                                    .json_data(&event)
                                    .unwrap_or_else(|_| SseEvent::default().comment("unencodable event")),
                            );
                        }
                    }
                    // A slow client: tell it to resync rather than silently dropping.
                    Err(RecvError::Lagged(missed)) => {
                        return Some(SseEvent::default().event("resync").data(missed.to_string()));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.ticker.tick() => {
                    if !self.still_signed_in().await {
                        return None;
                    }
                }
            }
        }
    }
}

/// Live events (text/event-stream), e.g. `event: task.created` with a JSON `data:` line.
/// The stream ends when the session or token that opened it does.
#[utoipa::path(get, path = "/events/stream", tag = "events", responses(
    (status = 200, content_type = "text/event-stream", body = String), (status = 401, body = Problem)))]
async fn stream(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    metrics::gauge!("gad_realtime_connections").increment(1.0);
    let mut ticker = tokio::time::interval_at(Instant::now() + RECHECK, RECHECK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let live = Live {
        events: state.events.subscribe(),
        actor: caller.actor.clone(),
        state,
        caller,
        checked: Instant::now(),
        ticker,
        _connected: Connected,
    };
    let events = futures::stream::unfold(live, |mut live| async move { live.next().await.map(|sse| (Ok(sse), live)) });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
