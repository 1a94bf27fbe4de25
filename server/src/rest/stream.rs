//! `GET /api/v1/events/stream`: the live event stream as server-sent events. Each event is
//! sent as `event: <type>` with the JSON body, filtered by what the caller may see. Fed by
//! the event bus, so with Redis it carries the events of every replica.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::server::services::realtime::visible_to;
use app::server::state::AppState;

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

/// Live events (text/event-stream), e.g. `event: task.created` with a JSON `data:` line.
#[utoipa::path(get, path = "/events/stream", tag = "events", responses(
    (status = 200, content_type = "text/event-stream", body = String), (status = 401, body = Problem)))]
async fn stream(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    metrics::gauge!("gad_realtime_connections").increment(1.0);
    let receiver = state.events.subscribe();
    let actor = caller.actor;
    let events = futures::stream::unfold((receiver, actor, Connected), |(mut rx, actor, guard)| async move {
        loop {
            match rx.recv().await {
                Ok(event) if visible_to(&actor, &event) => {
                    let sse = SseEvent::default()
                        .event(event.kind())
                        .json_data(&event)
                        .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"));
                    return Some((Ok(sse), (rx, actor, guard)));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    // A slow client: tell it to resync rather than silently dropping.
                    let sse = SseEvent::default().event("resync").data(missed.to_string());
                    return Some((Ok(sse), (rx, actor, guard)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
