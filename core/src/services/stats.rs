//! Task statistics over a period, scoped by role (SPEC §5: own / team / all).
//!
//! Every figure is counted by the database in a handful of grouped queries (no task row
//! travels to GAD), the same queries on both backends except two spellings ([`Dialect`]):
//! the time bucket of a timestamp and a duration in seconds. Days are formed here from
//! quarter-hour buckets, in the configured time zone. See [`contract::stats`] for what each
//! figure means.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait};

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

/// Whether the figures per officer and per supervisor are counted: the overview shows
/// none, and at scale they are the largest part of the answer (one entry per officer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum People {
    Listed,
    /// `per_officer` and `per_supervisor` are left empty.
    Omitted,
}

/// Statistics for the local calendar days `from..=to` in the configured time zone.
pub async fn for_days(
    state: &AppState,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    people: People,
) -> AppResult<TaskStatistics> {
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
    summary(state, actor, local_midnight(tz, from), local_midnight(tz, next), people).await
}

/// The first instant of `date` in `tz` (01:00 if a DST change skips midnight).
fn local_midnight(tz: chrono_tz::Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    (0..=2)
        .find_map(|h| tz.from_local_datetime(&(midnight + Duration::hours(h))).earliest())
        .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
}

/// Width of the time buckets the database counts in: every time zone in use today is a whole
/// number of quarter hours from UTC, so a bucket never straddles a local midnight and each
/// bucket belongs to exactly one local day.
const BUCKET_SECONDS: i64 = 900;

/// A task's reference time: when it is (or was) meant to happen. Spelled as the index on it
/// (`tasks_reference_idx`, migrations m20261205_000019 and m20261206_000020), which serves
/// only this expression.
const REFERENCE_SQL: &str = r#"COALESCE("tasks"."scheduled_start", "tasks"."actual_start", "tasks"."created_at")"#;
const ACTUAL_END_SQL: &str = r#""tasks"."actual_end""#;

/// The SQL spellings that differ between the backends.
#[derive(Clone, Copy)]
struct Dialect {
    postgres: bool,
}

impl Dialect {
    /// The [`BUCKET_SECONDS`] bucket (seconds since the epoch ÷ the width) of a timestamp.
    fn bucket(self, timestamp: &str) -> Expr {
        Expr::cust(if self.postgres {
            // date_part is float arithmetic; EXTRACT's numeric took most of a query's time.
            format!("FLOOR(date_part('epoch', {timestamp}) / {BUCKET_SECONDS})::bigint")
        } else {
            format!("(unixepoch({timestamp}) / {BUCKET_SECONDS})")
        })
    }

    /// Actual duration in whole seconds: end − start − paused time, never negative.
    fn duration(self) -> Expr {
        Expr::cust(if self.postgres {
            r#"GREATEST(TRUNC(date_part('epoch', "tasks"."actual_end" - "tasks"."actual_start"))::bigint - "tasks"."paused_seconds", 0)"#
        } else {
            // julianday() keeps milliseconds: rounded to them, then truncated to seconds.
            r#"MAX(CAST(ROUND((julianday("tasks"."actual_end") - julianday("tasks"."actual_start")) * 86400000.0) AS INTEGER) / 1000 - "tasks"."paused_seconds", 0)"#
        })
    }
}

/// The `p` percentile (0..=1) by linear interpolation between the closest ranks, over
/// `(value, how many times)` pairs in increasing order of value.
fn percentile_of_counts(counted: &[(i64, u64)], p: f64) -> Option<f64> {
    let total: u64 = counted.iter().map(|(_, n)| n).sum();
    let last = total.checked_sub(1)?;
    let rank = p.clamp(0.0, 1.0) * last as f64;
    let at = |index: u64| {
        let mut seen = 0;
        counted.iter().find_map(|&(value, n)| {
            seen += n;
            (index < seen).then_some(value as f64)
        })
    };
    let (a, b) = (at(rank.floor() as u64)?, at(rank.ceil() as u64)?);
    Some(a + (b - a) * (rank - rank.floor()))
}

/// The tasks whose reference time falls in `[from, to)`, in the form its index serves.
pub fn period_condition(from: DateTime<Utc>, to: DateTime<Utc>) -> Condition {
    let reference = || Expr::cust(REFERENCE_SQL);
    Condition::all().add(reference().gte(from)).add(reference().lt(to))
}

fn between<C: ColumnTrait>(column: C, from: DateTime<Utc>, to: DateTime<Utc>) -> Condition {
    Condition::all().add(column.gte(from)).add(column.lt(to))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// `SUM(CASE WHEN condition THEN 1 ELSE 0 END)`.
fn count_if(condition: Condition) -> Expr {
    let case: Expr = Expr::case(condition, Expr::val(1)).finally(Expr::val(0)).into();
    Func::sum(case).into()
}

/// The tasks completed in `[from, to)`. The status is written into the SQL, not bound, so
/// PostgreSQL can use the partial index of completed tasks (`tasks_completed_end_idx`) in a
/// prepared statement's generic plan too.
pub fn completed_condition(from: DateTime<Utc>, to: DateTime<Utc>) -> Condition {
    let completed = Expr::cust(r#""tasks"."status" = 'completed'"#);
    Condition::all().add(completed).add(between(tasks::Column::ActualEnd, from, to))
}

/// The four statements of [`summary`] that read the tasks of a period, within the viewer's
/// scope (`scoped`). On PostgreSQL each is answered from one index alone (an index-only scan:
/// `tasks_reference_idx` and `tasks_completed_end_idx` include every column they read,
/// migration m20261206_000020), so they count rows without visiting the table; hence
/// `COUNT(*)`, which needs no column.
pub struct PeriodQueries {
    /// By status, type, priority and supervisor, of the tasks of the period.
    pub groups: sea_orm::Select<tasks::Entity>,
    /// By time bucket of the reference time, of the same tasks.
    pub buckets: sea_orm::Select<tasks::Entity>,
    /// By supervisor and time bucket of the end, of the tasks completed in the period.
    pub ends: sea_orm::Select<tasks::Entity>,
    /// By duration in seconds, of the same tasks (those with a start), in increasing order.
    pub durations: sea_orm::Select<tasks::Entity>,
}

impl PeriodQueries {
    pub fn new(backend: sea_orm::DatabaseBackend, scoped: Condition, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        use tasks::Column as T;
        let dialect = Dialect { postgres: backend == sea_orm::DatabaseBackend::Postgres };
        let count = || Expr::cust("COUNT(*)");
        let of_period = tasks::Entity::find().select_only().filter(scoped.clone()).filter(period_condition(from, to));
        let completed = tasks::Entity::find().select_only().filter(scoped).filter(completed_condition(from, to));
        Self {
            groups: of_period
                .clone()
                .columns([T::Status, T::TaskType, T::Priority, T::SupervisorId])
                .expr_as(count(), "n")
                .group_by(T::Status)
                .group_by(T::TaskType)
                .group_by(T::Priority)
                .group_by(T::SupervisorId),
            buckets: of_period
                .expr_as(dialect.bucket(REFERENCE_SQL), "b")
                .expr_as(count(), "n")
                .group_by(dialect.bucket(REFERENCE_SQL)),
            ends: completed
                .clone()
                .column(T::SupervisorId)
                .expr_as(dialect.bucket(ACTUAL_END_SQL), "b")
                .expr_as(count(), "n")
                .group_by(T::SupervisorId)
                .group_by(dialect.bucket(ACTUAL_END_SQL)),
            durations: completed
                .expr_as(dialect.duration(), "d")
                .expr_as(count(), "n")
                .filter(T::ActualStart.is_not_null())
                .group_by(dialect.duration())
                .order_by_asc(dialect.duration()),
        }
    }
}

/// Statistics over `[from, to)`, scoped to the viewer. Every figure is counted by the
/// database (grouped by status, type, priority, supervisor, officer, time bucket and
/// duration), so the cost follows the number of groups, not of tasks.
pub async fn summary(
    state: &AppState,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    people: People,
) -> AppResult<TaskStatistics> {
    use tasks::Column as T;
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
    let db = &state.db;
    let queries = scope_condition(scope).map(|scoped| PeriodQueries::new(db.get_database_backend(), scoped, from, to));

    // Of the period: by status, type, priority and supervisor.
    let groups: Vec<(TaskStatus, TaskType, TaskPriority, Option<i64>, i64)> = match &queries {
        Some(q) => q.groups.clone().into_tuple().all(db).await?,
        None => Vec::new(),
    };
    let sum = |pred: &dyn Fn(TaskStatus, TaskType, TaskPriority) -> bool| -> u64 {
        groups.iter().filter(|(s, t, p, _, _)| pred(*s, *t, *p)).map(|g| count(g.4)).sum()
    };
    let total = sum(&|_, _, _| true);
    let by_status: Vec<StatusCount> =
        TaskStatus::ALL.iter().map(|&status| StatusCount { status, count: sum(&|s, _, _| s == status) }).collect();
    let by_type: Vec<TypeCount> =
        TaskType::ALL.iter().map(|&task_type| TypeCount { task_type, count: sum(&|_, t, _| t == task_type) }).collect();
    let by_priority: Vec<PriorityCount> = TaskPriority::ALL
        .iter()
        .map(|&priority| PriorityCount { priority, count: sum(&|_, _, p| p == priority) })
        .collect();
    let done = sum(&|s, _, _| s == TaskStatus::Completed);
    let cancelled = sum(&|s, _, _| s == TaskStatus::Cancelled);
    let completion_rate = (done + cancelled > 0).then(|| done as f64 / (done + cancelled) as f64);

    // Per day: every day of the period, from the buckets of the reference times and the ends.
    let mut per_day: BTreeMap<NaiveDate, DayCount> = BTreeMap::new();
    let first_day = from.with_timezone(&tz).date_naive();
    let last_day = (to - Duration::microseconds(1)).with_timezone(&tz).date_naive();
    for date in first_day.iter_days().take_while(|d| *d <= last_day) {
        per_day.insert(date, DayCount { date, tasks: 0, completed: 0 });
    }
    let day_of = |bucket: i64| {
        DateTime::<Utc>::from_timestamp(bucket.saturating_mul(BUCKET_SECONDS), 0)
            .map(|at| at.with_timezone(&tz).date_naive())
    };
    let mut completed_by_supervisor: HashMap<i64, u64> = HashMap::new();
    let mut completed_in_period = 0;
    let mut durations: Vec<(i64, u64)> = Vec::new();
    if let Some(q) = &queries {
        let buckets: Vec<(i64, i64)> = q.buckets.clone().into_tuple().all(db).await?;
        for (bucket, n) in buckets {
            if let Some(day) = day_of(bucket).and_then(|d| per_day.get_mut(&d)) {
                day.tasks += count(n);
            }
        }
        let ends: Vec<(Option<i64>, i64, i64)> = q.ends.clone().into_tuple().all(db).await?;
        for (supervisor, bucket, n) in ends {
            completed_in_period += count(n);
            if let Some(supervisor) = supervisor {
                *completed_by_supervisor.entry(supervisor).or_default() += count(n);
            }
            if let Some(day) = day_of(bucket).and_then(|d| per_day.get_mut(&d)) {
                day.completed += count(n);
            }
        }
        let counted: Vec<(i64, i64)> = q.durations.clone().into_tuple().all(db).await?;
        durations = counted.into_iter().map(|(d, n)| (d, count(n))).collect();
    }
    let measured: u64 = durations.iter().map(|(_, n)| n).sum();
    let average_seconds =
        (measured > 0).then(|| durations.iter().map(|&(d, n)| d as f64 * n as f64).sum::<f64>() / measured as f64);

    // Per officer: their assignments, counted by the database, with their names (live
    // officers only; a deleted officer's tasks still count above).
    let mut per_officer: Vec<OfficerStats> = Vec::new();
    if let (Some(scoped), People::Listed) = (scope_condition(scope), people) {
        use officers::Column as O;
        let (of_period, completed_in) = (period_condition(from, to), completed_condition(from, to));
        let mut query = task_assignments::Entity::find()
            .select_only()
            .columns([O::Id, O::Code, O::FirstName, O::LastName])
            .expr_as(count_if(of_period.clone()), "assigned")
            .expr_as(count_if(completed_in.clone()), "completed")
            .expr_as(
                count_if(of_period.clone().add(T::Status.is_in([TaskStatus::InProgress, TaskStatus::Paused]))),
                "active",
            )
            .join(JoinType::InnerJoin, task_assignments::Relation::Task.def())
            .join(JoinType::InnerJoin, task_assignments::Relation::Officer.def())
            .filter(scoped.clone())
            .filter(O::DeletedAt.is_null())
            .filter(Condition::any().add(of_period.clone()).add(completed_in.clone()))
            .group_by(O::Id)
            .group_by(O::Code)
            .group_by(O::FirstName)
            .group_by(O::LastName);
        if let Scope::Own(own) = scope {
            // Colleagues on shared tasks are not the viewer's business.
            query = query.filter(task_assignments::Column::OfficerId.eq(own));
        }
        let rows: Vec<(i64, String, String, String, i64, i64, i64)> = query.into_tuple().all(db).await?;
        per_officer = rows
            .into_iter()
            .map(|(officer_id, code, first, last, assigned, completed, active)| OfficerStats {
                officer_id,
                code,
                name: format!("{first} {last}"),
                assigned: count(assigned),
                completed: count(completed),
                active: count(active),
            })
            .collect();
    }
    per_officer.sort_by(|a, b| {
        b.completed.cmp(&a.completed).then(b.assigned.cmp(&a.assigned)).then(a.officer_id.cmp(&b.officer_id))
    });

    // Per supervisor: from the groups above.
    let mut per_supervisor: HashMap<i64, (u64, u64, u64)> = HashMap::new();
    for (status, _, _, supervisor, n) in &groups {
        if let Some(s) = supervisor {
            let e = per_supervisor.entry(*s).or_default();
            e.0 += count(*n);
            if status.is_active() {
                e.2 += count(*n);
            }
        }
    }
    for (s, n) in completed_by_supervisor {
        per_supervisor.entry(s).or_default().1 += n;
    }
    if people == People::Omitted {
        per_supervisor.clear();
    }
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
        total,
        by_status,
        by_type,
        by_priority,
        completion_rate,
        completed_in_period,
        average_seconds,
        median_seconds: percentile_of_counts(&durations, 0.5),
        p90_seconds: percentile_of_counts(&durations, 0.9),
        per_day: per_day.into_values().collect(),
        per_officer,
        per_supervisor,
    })
}

/// Not-deleted tasks in the viewer's scope; `None` when the scope holds no task at all.
fn scope_condition(scope: Scope) -> Option<Condition> {
    use tasks::Column as T;
    let scoped = match scope {
        Scope::All => Condition::all(),
        // Unassigned tasks they created: an anti-join, not a list of every assigned task.
        Scope::Team(user_id) => Condition::any().add(T::SupervisorId.eq(user_id)).add(
            Condition::all().add(T::CreatedBy.eq(user_id)).add(
                Expr::exists(
                    Query::select()
                        .expr(Expr::val(1))
                        .from(task_assignments::Entity)
                        .and_where(
                            Expr::col((task_assignments::Entity, task_assignments::Column::TaskId))
                                .equals((tasks::Entity, T::Id)),
                        )
                        .to_owned(),
                )
                .not(),
            ),
        ),
        Scope::Own(Some(officer_id)) => Condition::all().add(assigned_to(officer_id)),
        Scope::Own(None) => return None,
    };
    Some(Condition::all().add(T::DeletedAt.is_null()).add(scoped))
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

    /// The same percentile over a plain sorted list: the reference the counted one must match.
    fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
        let last = sorted.len().checked_sub(1)?;
        let rank = p.clamp(0.0, 1.0) * last as f64;
        let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
        let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
        Some(a + (b - a) * (rank - lo as f64))
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let minutes: Vec<i64> = (1..=10).map(|m| m * 600).collect(); // 10, 20, … 100 min
        assert_eq!(percentile(&minutes, 0.5), Some(3300.0)); // 55 min
        assert_eq!(percentile(&minutes, 0.9), Some(5460.0)); // 91 min
        assert_eq!(percentile(&[42], 0.9), Some(42.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn counted_percentiles_match_the_plain_ones() {
        let values = [60, 60, 60, 120, 300, 300, 900, 3600, 3600, 7200];
        let mut counted: Vec<(i64, u64)> = Vec::new();
        for v in values {
            match counted.last_mut() {
                Some((last, n)) if *last == v => *n += 1,
                _ => counted.push((v, 1)),
            }
        }
        for p in [0.0, 0.1, 0.25, 0.5, 0.9, 1.0] {
            assert_eq!(percentile_of_counts(&counted, p), percentile(&values, p), "{p}");
        }
        assert_eq!(percentile_of_counts(&[(42, 3)], 0.9), Some(42.0));
        assert_eq!(percentile_of_counts(&[], 0.5), None);
    }

    #[test]
    fn local_midnight_is_in_the_zone() {
        let tz = chrono_tz::America::Argentina::Buenos_Aires;
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        assert_eq!(local_midnight(tz, date).to_rfc3339(), "2026-03-02T03:00:00+00:00");
    }
}
