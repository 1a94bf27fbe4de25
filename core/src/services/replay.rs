//! Track replay (`contract::replay`): an officer's positions over a window, or those of every
//! officer assigned to a task, with the speed between points, the stops, and the status
//! changes of the tasks involved, for the map's time slider and `GET /api/v1/replay`.
//!
//! Permissions: an officer replays their own track only ([`Capability::SeeOfficers`] for
//! anyone else's); a task's replay needs [`Capability::SeeOfficers`] and a task the caller
//! sees. The marks come from the tasks the caller sees.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::actor::Actor;
use crate::entities::{officer_positions, officers, task_assignments, task_status_history, tasks};
use crate::error::{AppError, AppResult};
use crate::permissions::{Capability, require};
use crate::services::geo::haversine_m;
use crate::state::AppState;
use crate::visibility::TaskVisibility;
use contract::replay::{Replay, ReplayMark, ReplayPoint, ReplayRequest, ReplayStop, ReplayTask, ReplayTrack};

/// Most positions one officer's replay returns: a 12-hour shift reported every 5 s.
pub const MAX_REPLAY_POINTS: u64 = 10_000;
/// Most officers in one task's replay.
pub const MAX_REPLAY_OFFICERS: u64 = 20;
/// Most status changes marked.
pub const MAX_MARKS: u64 = 1_000;
/// Longest window.
pub const MAX_REPLAY_DAYS: i64 = 31;
/// The window when none is given for an officer.
pub const DEFAULT_HOURS: i64 = 8;
/// A stop: the officer stayed within this distance of where they stopped…
pub const STOP_RADIUS_M: f64 = 50.0;
/// …for at least this long.
pub const STOP_MIN_SECONDS: i64 = 180;

pub async fn replay(state: &AppState, actor: &Actor, request: ReplayRequest) -> AppResult<Replay> {
    let now = Utc::now().trunc_subsecs(6);
    let (officer_ids, task, default_window) = match (request.officer_id, request.task_id) {
        (Some(officer_id), None) => {
            if actor.officer_id != Some(officer_id) {
                require(actor, Capability::SeeOfficers)?;
            }
            (vec![officer_id], None, (now - Duration::hours(DEFAULT_HOURS), now))
        }
        (None, Some(task_id)) => {
            require(actor, Capability::SeeOfficers)?;
            let task = tasks::Entity::find_by_id(task_id)
                .filter(tasks::Column::DeletedAt.is_null())
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound)?;
            if !TaskVisibility::of(actor).allows(&state.db, task_id).await? {
                return Err(AppError::NotFound);
            }
            let officer_ids: Vec<i64> = task_assignments::Entity::find()
                .select_only()
                .column(task_assignments::Column::OfficerId)
                .filter(task_assignments::Column::TaskId.eq(task_id))
                .order_by_asc(task_assignments::Column::OfficerId)
                .limit(MAX_REPLAY_OFFICERS)
                .into_tuple()
                .all(&state.db)
                .await?;
            let end = task.actual_end.unwrap_or(now).min(now);
            let start = task.created_at.min(task.actual_start.unwrap_or(task.created_at));
            (officer_ids, Some(task), (start, end.max(start + Duration::minutes(1))))
        }
        _ => {
            return Err(AppError::validation("officer_id", "Indique un efectivo o una tarea (uno de los dos)."));
        }
    };
    let from = request.from.map_or(default_window.0, |t| t.trunc_subsecs(6));
    let to = request.to.map_or(default_window.1, |t| t.trunc_subsecs(6));
    if !crate::services::day_in_range(from.date_naive()) || !crate::services::day_in_range(to.date_naive()) {
        return Err(AppError::validation("from", crate::services::DAY_OUT_OF_RANGE));
    }
    if to <= from {
        return Err(AppError::validation("to", "El fin del intervalo debe ser posterior al inicio."));
    }
    if to - from > Duration::days(MAX_REPLAY_DAYS) {
        return Err(AppError::validation("to", "El intervalo no puede superar los 31 días."));
    }

    let people = officers::Entity::find()
        .filter(officers::Column::Id.is_in(officer_ids.clone()))
        .filter(officers::Column::DeletedAt.is_null())
        .order_by_asc(officers::Column::Code)
        .all(&state.db)
        .await?;
    if request.officer_id.is_some() && people.is_empty() {
        return Err(AppError::NotFound);
    }
    let mut tracks = Vec::with_capacity(people.len());
    for officer in people {
        let mut rows = officer_positions::Entity::find()
            .filter(officer_positions::Column::OfficerId.eq(officer.id))
            .filter(officer_positions::Column::RecordedAt.gte(from))
            .filter(officer_positions::Column::RecordedAt.lt(to))
            .order_by_asc(officer_positions::Column::RecordedAt)
            .order_by_asc(officer_positions::Column::Id)
            .limit(MAX_REPLAY_POINTS + 1)
            .all(&state.db)
            .await?;
        let truncated = rows.len() as u64 > MAX_REPLAY_POINTS;
        rows.truncate(usize::try_from(MAX_REPLAY_POINTS).unwrap_or(usize::MAX));
        let samples: Vec<(f64, f64, DateTime<Utc>)> = rows.iter().map(|p| (p.lat, p.lon, p.recorded_at)).collect();
        tracks.push(track_of(officer, &samples, truncated));
    }

    // The tasks to mark: the task replayed, or the tasks the officer is assigned to.
    let task_ids: Vec<i64> = match (&task, request.officer_id) {
        (Some(task), _) => vec![task.id],
        (None, Some(officer_id)) => {
            task_assignments::Entity::find()
                .select_only()
                .column(task_assignments::Column::TaskId)
                .filter(task_assignments::Column::OfficerId.eq(officer_id))
                .into_tuple()
                .all(&state.db)
                .await?
        }
        (None, None) => Vec::new(),
    };
    let history = if task_ids.is_empty() {
        Vec::new()
    } else {
        let mut query = task_status_history::Entity::find()
            .find_also_related(tasks::Entity)
            .filter(task_status_history::Column::TaskId.is_in(task_ids))
            .filter(task_status_history::Column::CreatedAt.gte(from))
            .filter(task_status_history::Column::CreatedAt.lt(to))
            .filter(tasks::Column::DeletedAt.is_null());
        if let Some(visible) = TaskVisibility::of(actor).condition() {
            query = query.filter(visible);
        }
        query
            .order_by_asc(task_status_history::Column::CreatedAt)
            .order_by_asc(task_status_history::Column::Id)
            .limit(MAX_MARKS)
            .all(&state.db)
            .await?
    };
    let mut replay_tasks: Vec<ReplayTask> = task.iter().map(replay_task).collect();
    let mut marks = Vec::with_capacity(history.len());
    for (row, task) in history {
        let Some(task) = task else { continue };
        if !replay_tasks.iter().any(|t| t.task_id == task.id) {
            replay_tasks.push(replay_task(&task));
        }
        marks.push(ReplayMark {
            at: row.created_at,
            task_id: task.id,
            code: task.code,
            from_status: row.from_status,
            to_status: row.to_status,
        });
    }
    Ok(Replay { from, to, tracks, tasks: replay_tasks, marks })
}

/// The task with code `code` (any case), for the replay page's "tarea" field. Only for those
/// who may replay a task's officers, and a task the caller may not see has no code for them
/// (the answer must not tell which codes exist).
pub async fn task_by_code(state: &AppState, actor: &Actor, code: &str) -> AppResult<i64> {
    require(actor, Capability::SeeOfficers)?;
    let code = code.trim().to_uppercase();
    if code.is_empty() || code.chars().count() > 40 {
        return Err(AppError::validation("task", "Escriba el código de una tarea (por ejemplo PAT-2026-0001)."));
    }
    let unknown = || AppError::validation("task", "No hay ninguna tarea con ese código.");
    let id: i64 = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::Id)
        .filter(tasks::Column::Code.eq(code))
        .filter(tasks::Column::DeletedAt.is_null())
        .into_tuple()
        .one(&state.db)
        .await?
        .ok_or_else(unknown)?;
    if !TaskVisibility::of(actor).allows(&state.db, id).await? {
        return Err(unknown());
    }
    Ok(id)
}

/// A `datetime-local` value (`yyyy-mm-ddTHH:MM`) in the configured time zone; empty → none.
pub fn local_time(state: &AppState, field: &str, value: Option<&str>) -> AppResult<Option<DateTime<Utc>>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .and_then(|naive| naive.and_local_timezone(state.config.timezone).earliest())
        .filter(|at| super::YEARS.contains(&chrono::Datelike::year(at)))
        .map(|at| Some(at.with_timezone(&Utc)))
        .ok_or_else(|| AppError::validation(field, "Fecha y hora inválidas (use el formato dd/mm/aaaa hh:mm)."))
}

fn replay_task(t: &tasks::Model) -> ReplayTask {
    ReplayTask { task_id: t.id, code: t.code.clone(), title: t.title.clone(), lat: t.lat, lon: t.lon }
}

/// The officer's track from their positions (oldest first): speeds, distance, stops.
fn track_of(officer: officers::Model, samples: &[(f64, f64, DateTime<Utc>)], truncated: bool) -> ReplayTrack {
    let mut points = Vec::with_capacity(samples.len());
    let mut distance_m = 0.0;
    let mut max_speed_kmh: Option<f64> = None;
    for (i, &(lat, lon, at)) in samples.iter().enumerate() {
        let speed_kmh = i.checked_sub(1).map(|p| samples[p]).and_then(|(plat, plon, pat)| {
            let metres = haversine_m(plat, plon, lat, lon);
            distance_m += metres;
            let seconds = (at - pat).num_milliseconds() as f64 / 1000.0;
            (seconds > 0.0).then(|| metres / seconds * 3.6)
        });
        if let Some(speed) = speed_kmh {
            max_speed_kmh = Some(max_speed_kmh.map_or(speed, |m: f64| m.max(speed)));
        }
        points.push(ReplayPoint { lat, lon, at, speed_kmh });
    }
    ReplayTrack {
        officer_id: officer.id,
        code: officer.code,
        name: format!("{} {}", officer.first_name, officer.last_name),
        points,
        stops: stops(samples),
        distance_m,
        max_speed_kmh,
        truncated,
    }
}

/// Where the officer stayed within [`STOP_RADIUS_M`] of a point for at least
/// [`STOP_MIN_SECONDS`], in order.
pub fn stops(samples: &[(f64, f64, DateTime<Utc>)]) -> Vec<ReplayStop> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < samples.len() {
        let (lat, lon, start) = samples[i];
        let mut j = i;
        while j + 1 < samples.len() && haversine_m(lat, lon, samples[j + 1].0, samples[j + 1].1) <= STOP_RADIUS_M {
            j += 1;
        }
        let end = samples[j].2;
        if (end - start).num_seconds() >= STOP_MIN_SECONDS {
            found.push(ReplayStop { lat, lon, from: start, to: end, seconds: (end - start).num_seconds() });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 8, 0, 0).unwrap() + Duration::minutes(minute)
    }

    #[test]
    fn a_stay_of_three_minutes_within_fifty_metres_is_a_stop() {
        // ≈ 111 m per 0.001° of latitude.
        let samples = [
            (-34.600, -58.380, at(0)),
            (-34.601, -58.380, at(1)),
            (-34.6012, -58.380, at(2)),
            (-34.6013, -58.380, at(4)),
            (-34.6011, -58.380, at(6)),
            (-34.605, -58.380, at(7)),
            (-34.606, -58.380, at(8)),
            (-34.6061, -58.380, at(9)),
        ];
        let found = stops(&samples);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].from, found[0].to, found[0].seconds), (at(1), at(6), 300));
        // Two minutes at the last place are not a stop.
        assert!(found.iter().all(|s| s.from != at(8)));
    }

    #[test]
    fn no_positions_no_stops() {
        assert!(stops(&[]).is_empty());
        assert!(stops(&[(-34.6, -58.38, at(0))]).is_empty());
    }
}
