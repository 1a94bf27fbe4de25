//! Server function: track replay (the map's replay page).

use contract::ApiError;
use contract::replay::Replay;
use leptos::prelude::*;

/// Replays officer `officer`'s track, or the track of every officer on the task with code
/// `task` (which wins when both are given), over `[from, to)` given as `datetime-local`
/// values in the configured time zone (empty: the default window).
#[server(prefix = "/api/fn", endpoint = "track_replay", output = crate::api::codec::JsonText)]
pub async fn track_replay(
    officer: Option<i64>,
    task: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Replay, ApiError> {
    use crate::server::context;
    use contract::replay::ReplayRequest;
    use gad_core::services::replay;

    context::serve(async |state, actor| {
        let task_id = match task.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(code) => Some(replay::task_by_code(state, actor, code).await?),
            None => None,
        };
        let request = ReplayRequest {
            officer_id: if task_id.is_some() { None } else { officer },
            task_id,
            from: replay::local_time(state, "from", from.as_deref())?,
            to: replay::local_time(state, "to", to.as_deref())?,
        };
        replay::replay(state, actor, request).await
    })
    .await
}
