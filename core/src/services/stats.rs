//! Task statistics over a period, scoped by role (SPEC §5: own / team / all).
//!
//! The scoped tasks of the period are read once and every figure is computed here from those
//! rows, identically on both backends (no backend-specific date arithmetic). See
//! [`contract::stats`] for what each figure means.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use crate::actor::Actor;
use crate::entities::{officers, task_assignments, tasks, users};
use crate::error::{AppError, AppResult};
use crate::permissions::{Capability, require};
use crate::state::AppState;
use crate::visibility::assigned_to;
use contract::domain::{TaskPriority, TaskStatus, TaskType};
use contract::stats::{
    DayCount, OfficerStats, PriorityCount, StatsScope, StatusCount, SupervisorStats, TaskStatistics, TypeCount,
};

/// Longest period one request may cover.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Ids per `IN (…)` list, well below both backends' parameter limits.
const CHUNK: usize = 1_000;

/// The viewer's scope, resolved.
#[derive(Clone, Copy, Debug)]
enum Scope {
    All,
    Team(i64),
    /// `None`: a user without an officer profile has no tasks of their own.
    Own(Option<i64>),
}

impl Scope {
    fn of(actor: &Actor) -> Self {
        if require(actor, Capability::AllStatistics).is_ok() {
            Scope::All
        } else if require(actor, Capability::TeamStatistics).is_ok() {
            Scope::Team(actor.user_id)
        } else {
            Scope::Own(actor.officer_id)
        }
    }

    fn dto(self) -> StatsScope {
        match self {
            Scope::All => StatsScope::All,
            Scope::Team(_) => StatsScope::Team,
            Scope::Own(_) => StatsScope::Own,
        }
    }
}

/// Statistics for the local calendar days `from..=to` in the configured time zone.
pub async fn for_days(state: &AppState, actor: &Actor, from: NaiveDate, to: NaiveDate) -> AppResult<TaskStatistics> {
    let mut errors = crate::validate::Errors::new();
    for (field, day) in [("from", from), ("to", to)] {
        if !super::day_in_range(day) {
            errors.add(field, super::DAY_OUT_OF_RANGE);
        }
    }
    errors.finish()?;
    if to < from {
        return Err(AppError::validation("to", "La fecha final debe ser igual o posterior a la inicial."));
    }
    let tz = state.config.timezone;
    let next = to.succ_opt().ok_or_else(|| AppError::validation("to", "La fecha final no es válida."))?;
    summary(state, actor, local_midnight(tz, from), local_midnight(tz, next)).await
}

/// The first instant of `date` in `tz` (01:00 if a DST change skips midnight).
fn local_midnight(tz: chrono_tz::Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    (0..=2)
        .find_map(|h| tz.from_local_datetime(&(midnight + Duration::hours(h))).earliest())
        .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
}

/// A task's reference time: when it is (or was) meant to happen.
fn reference_time(t: &tasks::Model) -> DateTime<Utc> {
    t.scheduled_start.or(t.actual_start).unwrap_or(t.created_at)
}

/// Actual duration in seconds: end − start − paused time (never negative).
fn duration_seconds(t: &tasks::Model) -> Option<i64> {
    let (start, end) = (t.actual_start?, t.actual_end?);
    Some(((end - start).num_seconds() - t.paused_seconds).max(0))
}

/// Linear interpolation between closest ranks over sorted values (`p` in 0..=1).
pub fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p.clamp(0.0, 1.0) * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
    Some(a + (b - a) * (rank - lo as f64))
}

fn in_period(at: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    from <= at && at < to
}

fn between<C: ColumnTrait>(column: C, from: DateTime<Utc>, to: DateTime<Utc>) -> Condition {
    Condition::all().add(column.gte(from)).add(column.lt(to))
}

/// Statistics over `[from, to)`, scoped to the viewer.
pub async fn summary(
    state: &AppState,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<TaskStatistics> {
    let scope = Scope::of(actor);
    // Microseconds, as stored, so both backends draw the same boundary.
    let (from, to) = (from.trunc_subsecs(6), to.trunc_subsecs(6));
    if to <= from {
        return Err(AppError::validation("to", "El fin del período debe ser posterior al inicio."));
    }
    if to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(AppError::validation("to", "El período no puede superar los 366 días."));
    }
    let tz = state.config.timezone;
    let rows = scoped_tasks(state, scope, from, to).await?;
    // The database filter is a superset; the exact membership is decided here.
    let of_period: Vec<&tasks::Model> = rows.iter().filter(|t| in_period(reference_time(t), from, to)).collect();
    let completed: Vec<&tasks::Model> = rows
        .iter()
        .filter(|t| t.status == TaskStatus::Completed && t.actual_end.is_some_and(|end| in_period(end, from, to)))
        .collect();

    // Counts.
    let count = |pred: &dyn Fn(&tasks::Model) -> bool| of_period.iter().filter(|t| pred(t)).count() as u64;
    let by_status: Vec<StatusCount> =
        TaskStatus::ALL.iter().map(|&status| StatusCount { status, count: count(&|t| t.status == status) }).collect();
    let by_type: Vec<TypeCount> = TaskType::ALL
        .iter()
        .map(|&task_type| TypeCount { task_type, count: count(&|t| t.task_type == task_type) })
        .collect();
    let by_priority: Vec<PriorityCount> = TaskPriority::ALL
        .iter()
        .map(|&priority| PriorityCount { priority, count: count(&|t| t.priority == priority) })
        .collect();
    let done = count(&|t| t.status == TaskStatus::Completed);
    let cancelled = count(&|t| t.status == TaskStatus::Cancelled);
    let completion_rate = (done + cancelled > 0).then(|| done as f64 / (done + cancelled) as f64);

    // Durations.
    let mut durations: Vec<i64> = completed.iter().filter_map(|t| duration_seconds(t)).collect();
    durations.sort_unstable();
    let average_seconds =
        (!durations.is_empty()).then(|| durations.iter().map(|&d| d as f64).sum::<f64>() / durations.len() as f64);

    // Per day, every day of the period.
    let mut per_day: BTreeMap<NaiveDate, DayCount> = BTreeMap::new();
    let first_day = from.with_timezone(&tz).date_naive();
    let last_day = (to - Duration::microseconds(1)).with_timezone(&tz).date_naive();
    for date in first_day.iter_days().take_while(|d| *d <= last_day) {
        per_day.insert(date, DayCount { date, tasks: 0, completed: 0 });
    }
    for t in &of_period {
        if let Some(day) = per_day.get_mut(&reference_time(t).with_timezone(&tz).date_naive()) {
            day.tasks += 1;
        }
    }
    for t in &completed {
        if let Some(end) = t.actual_end
            && let Some(day) = per_day.get_mut(&end.with_timezone(&tz).date_naive())
        {
            day.completed += 1;
        }
    }

    // Per officer and per supervisor.
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let assignments = assignments_of(state, &ids).await?;
    let mut officers_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for a in &assignments {
        officers_of.entry(a.task_id).or_default().push(a.officer_id);
    }
    let mut per_officer: HashMap<i64, (u64, u64, u64)> = HashMap::new();
    let mut per_supervisor: HashMap<i64, (u64, u64, u64)> = HashMap::new();
    for t in &of_period {
        let active = u64::from(t.status.is_active());
        for officer in officers_of.get(&t.id).into_iter().flatten() {
            let e = per_officer.entry(*officer).or_default();
            e.0 += 1;
            e.2 += active;
        }
        if let Some(s) = t.supervisor_id {
            let e = per_supervisor.entry(s).or_default();
            e.0 += 1;
            e.2 += active;
        }
    }
    for t in &completed {
        for officer in officers_of.get(&t.id).into_iter().flatten() {
            per_officer.entry(*officer).or_default().1 += 1;
        }
        if let Some(s) = t.supervisor_id {
            per_supervisor.entry(s).or_default().1 += 1;
        }
    }
    if let Scope::Own(own) = scope {
        // Colleagues on shared tasks are not the viewer's business.
        per_officer.retain(|id, _| Some(*id) == own);
    }

    let officer_ids: Vec<i64> = per_officer.keys().copied().collect();
    let mut per_officer: Vec<OfficerStats> = find_officers(state, &officer_ids)
        .await?
        .into_iter()
        .map(|o| {
            let (assigned, completed, active) = per_officer.get(&o.id).copied().unwrap_or_default();
            OfficerStats {
                officer_id: o.id,
                name: format!("{} {}", o.first_name, o.last_name),
                code: o.code,
                assigned,
                completed,
                active,
            }
        })
        .collect();
    per_officer.sort_by(|a, b| {
        b.completed.cmp(&a.completed).then(b.assigned.cmp(&a.assigned)).then(a.officer_id.cmp(&b.officer_id))
    });

    let supervisor_ids: Vec<i64> = per_supervisor.keys().copied().collect();
    let mut per_supervisor: Vec<SupervisorStats> = find_users(state, &supervisor_ids)
        .await?
        .into_iter()
        .map(|u| {
            let (tasks, completed, active) = per_supervisor.get(&u.id).copied().unwrap_or_default();
            SupervisorStats {
                user_id: u.id,
                name: format!("{} {}", u.first_name, u.last_name),
                tasks,
                completed,
                active,
            }
        })
        .collect();
    per_supervisor
        .sort_by(|a, b| b.completed.cmp(&a.completed).then(b.tasks.cmp(&a.tasks)).then(a.user_id.cmp(&b.user_id)));

    Ok(TaskStatistics {
        scope: scope.dto(),
        from,
        to,
        timezone: tz.name().to_owned(),
        total: of_period.len() as u64,
        by_status,
        by_type,
        by_priority,
        completion_rate,
        completed_in_period: completed.len() as u64,
        average_seconds,
        median_seconds: percentile(&durations, 0.5),
        p90_seconds: percentile(&durations, 0.9),
        per_day: per_day.into_values().collect(),
        per_officer,
        per_supervisor,
    })
}

/// Not-deleted tasks in scope that may belong to the period: a superset of the tasks of the
/// period and of those completed in it.
async fn scoped_tasks(
    state: &AppState,
    scope: Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<tasks::Model>> {
    use tasks::Column as T;
    let scope_condition = match scope {
        Scope::All => Condition::all(),
        Scope::Team(user_id) => Condition::any().add(T::SupervisorId.eq(user_id)).add(
            Condition::all().add(T::CreatedBy.eq(user_id)).add(T::Id.not_in_subquery(
                Query::select().column(task_assignments::Column::TaskId).from(task_assignments::Entity).to_owned(),
            )),
        ),
        Scope::Own(Some(officer_id)) => Condition::all().add(assigned_to(officer_id)),
        Scope::Own(None) => return Ok(Vec::new()),
    };
    let period = Condition::any()
        .add(between(T::ScheduledStart, from, to))
        .add(Condition::all().add(T::ScheduledStart.is_null()).add(between(T::ActualStart, from, to)))
        .add(Condition::all().add(T::ScheduledStart.is_null()).add(T::ActualStart.is_null()).add(between(
            T::CreatedAt,
            from,
            to,
        )))
        .add(Condition::all().add(T::Status.eq(TaskStatus::Completed)).add(between(T::ActualEnd, from, to)));
    Ok(tasks::Entity::find()
        .filter(T::DeletedAt.is_null())
        .filter(scope_condition)
        .filter(period)
        .all(&state.db)
        .await?)
}

async fn assignments_of(state: &AppState, task_ids: &[i64]) -> AppResult<Vec<task_assignments::Model>> {
    let mut all = Vec::new();
    for chunk in task_ids.chunks(CHUNK) {
        all.extend(
            task_assignments::Entity::find()
                .filter(task_assignments::Column::TaskId.is_in(chunk.iter().copied()))
                .all(&state.db)
                .await?,
        );
    }
    Ok(all)
}

/// Live officers among `ids` (deleted ones are not listed; their tasks still count).
async fn find_officers(state: &AppState, ids: &[i64]) -> AppResult<Vec<officers::Model>> {
    let mut all = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        all.extend(
            officers::Entity::find()
                .filter(officers::Column::Id.is_in(chunk.iter().copied()))
                .filter(officers::Column::DeletedAt.is_null())
                .all(&state.db)
                .await?,
        );
    }
    Ok(all)
}

async fn find_users(state: &AppState, ids: &[i64]) -> AppResult<Vec<users::Model>> {
    let mut all = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        all.extend(
            users::Entity::find()
                .filter(users::Column::Id.is_in(chunk.iter().copied()))
                .filter(users::Column::DeletedAt.is_null())
                .all(&state.db)
                .await?,
        );
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let minutes: Vec<i64> = (1..=10).map(|m| m * 600).collect(); // 10, 20, … 100 min
        assert_eq!(percentile(&minutes, 0.5), Some(3300.0)); // 55 min
        assert_eq!(percentile(&minutes, 0.9), Some(5460.0)); // 91 min
        assert_eq!(percentile(&[42], 0.9), Some(42.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn local_midnight_is_in_the_zone() {
        let tz = chrono_tz::America::Argentina::Buenos_Aires;
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        assert_eq!(local_midnight(tz, date).to_rfc3339(), "2026-03-02T03:00:00+00:00");
    }
}
