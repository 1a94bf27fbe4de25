//! What happened lately, as the overview and the notifications bell show it: open tasks and
//! officers by status now, and the latest status changes the viewer may see.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::actor::Actor;
use crate::entities::{officers, task_status_history, tasks, users};
use crate::error::AppResult;
use crate::permissions::{Capability, allows, require};
use crate::services::{local_time, stats};
use crate::state::AppState;
use crate::visibility::TaskVisibility;
use contract::domain::{OfficerStatus, Role, TaskStatus, TaskType};
use contract::overview::{ActivityItem, Notifications, OVERVIEW_DAYS, OfficerStatusCount, OpenEmergency, Overview};
use contract::stats::StatusCount;

/// The open statuses as the open tasks' partial index spells them (`tasks_open_idx`).
const OPEN_SQL: &str = r#""tasks"."status" IN ('scheduled', 'in_progress', 'paused')"#;

/// The open tasks among `visible`, counted per status and type by the database from the open
/// tasks' index alone (`COUNT(*)`, the statuses as constants: see the migration
/// m20261205_000015).
pub fn open_counts_query(visible: Condition) -> sea_orm::Select<tasks::Entity> {
    tasks::Entity::find()
        .select_only()
        .column(tasks::Column::Status)
        .column(tasks::Column::TaskType)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(visible)
        .filter(Expr::cust(OPEN_SQL))
        .group_by(tasks::Column::Status)
        .group_by(tasks::Column::TaskType)
}

/// The live officers counted per status, from their status index alone (`COUNT(*)`:
/// `officers_live_status_idx`, migration m20261205_000019).
pub fn officer_counts_query() -> sea_orm::Select<officers::Entity> {
    officers::Entity::find()
        .select_only()
        .column(officers::Column::Status)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(officers::Column::DeletedAt.is_null())
        .group_by(officers::Column::Status)
}

/// Items in the overview's feed and in the bell.
pub const ACTIVITY_LIMIT: u64 = 20;

/// Tasks (not deleted) the actor may see: all with [`Capability::SeeAllTasks`], else those
/// assigned to their officer profile. `None`: nothing at all.
fn visible_tasks(actor: &Actor) -> Option<Condition> {
    let mut cond = Condition::all().add(tasks::Column::DeletedAt.is_null());
    match TaskVisibility::of(actor) {
        TaskVisibility::Nothing => return None,
        visibility => {
            if let Some(visible) = visibility.condition() {
                cond = cond.add(visible);
            }
        }
    }
    Some(cond)
}

/// Whose cached views a viewer gets (the overview, pages of the task list): admins (every
/// task, all statistics) share them; everyone else has their own (team or own statistics,
/// own tasks).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScopeKey {
    role: Role,
    read_only: bool,
    user_id: Option<i64>,
}

impl ScopeKey {
    pub fn of(actor: &Actor) -> Self {
        let shared = allows(actor.role, Capability::AllStatistics) && allows(actor.role, Capability::SeeAllTasks);
        Self { role: actor.role, read_only: actor.read_only, user_id: (!shared).then_some(actor.user_id) }
    }
}

/// The overview: KPIs now, statistics of the last [`OVERVIEW_DAYS`] days, latest activity.
/// Served from [`crate::cache`]: a burst of viewers costs one computation, and any
/// event makes the next request recompute.
pub async fn overview(state: &AppState, actor: &Actor) -> AppResult<Overview> {
    state.caches.overview.get_or_compute(&state.events, ScopeKey::of(actor), || compute_overview(state, actor)).await
}

async fn compute_overview(state: &AppState, actor: &Actor) -> AppResult<Overview> {
    let db = &state.db;
    let today = Utc::now().with_timezone(&state.config.timezone).date_naive();
    let stats =
        stats::for_days(state, actor, today - Duration::days(OVERVIEW_DAYS - 1), today, stats::People::Omitted).await?;
    let completed_today = stats.per_day.last().map_or(0, |d| d.completed);

    let open = [TaskStatus::Scheduled, TaskStatus::InProgress, TaskStatus::Paused];
    let mut open_counts: HashMap<TaskStatus, u64> = HashMap::new();
    let mut open_emergencies = 0;
    if let Some(visible) = visible_tasks(actor) {
        let rows: Vec<(TaskStatus, TaskType, i64)> = open_counts_query(visible).into_tuple().all(db).await?;
        for (status, task_type, n) in rows {
            let n = u64::try_from(n).unwrap_or_default();
            *open_counts.entry(status).or_default() += n;
            if task_type == TaskType::Emergency {
                open_emergencies += n;
            }
        }
    }
    let open_emergency_list = match (open_emergencies > 0).then(|| visible_tasks(actor)).flatten() {
        Some(visible) => tasks::Entity::find()
            .filter(visible)
            .filter(tasks::Column::TaskType.eq(TaskType::Emergency))
            .filter(tasks::Column::Status.is_in(open))
            .order_by_desc(tasks::Column::CreatedAt)
            .limit(10)
            .all(db)
            .await?
            .into_iter()
            .map(|t| OpenEmergency { task_id: t.id, code: t.code, title: t.title, status: t.status })
            .collect(),
        None => Vec::new(),
    };
    let open_by_status = open
        .iter()
        .map(|&status| StatusCount { status, count: open_counts.get(&status).copied().unwrap_or(0) })
        .collect();

    let officers_by_status = if require(actor, Capability::SeeOfficers).is_ok() {
        let counts: Vec<(OfficerStatus, i64)> = officer_counts_query().into_tuple().all(db).await?;
        Some(
            OfficerStatus::ALL
                .iter()
                .map(|&status| OfficerStatusCount {
                    status,
                    count: counts
                        .iter()
                        .find(|(s, _)| *s == status)
                        .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or_default()),
                })
                .collect(),
        )
    } else {
        None
    };
    let activity = recent(state, actor, Condition::all(), ACTIVITY_LIMIT).await?;
    let sla = sla_summary(state, actor, Utc::now() - Duration::days(OVERVIEW_DAYS)).await?;
    Ok(Overview {
        sla,
        open_by_status,
        officers_by_status,
        open_emergencies,
        open_emergency_list,
        completed_today,
        stats,
        activity,
    })
}

/// Open tasks past or near a deadline, and the finished tasks since `since` that met their
/// finish deadline, by type (counted by the database).
async fn sla_summary(
    state: &AppState,
    actor: &Actor,
    since: DateTime<Utc>,
) -> AppResult<contract::overview::SlaSummary> {
    use sea_orm::PaginatorTrait;
    let Some(visible) = visible_tasks(actor) else { return Ok(Default::default()) };
    let db = &state.db;
    let now = Utc::now();
    let overdue = tasks::Entity::find()
        .filter(visible.clone())
        .filter(tasks::Column::SlaDueAt.lte(now))
        .filter(tasks::Column::DeletedAt.is_null())
        .count(db)
        .await?;
    let at_risk = tasks::Entity::find()
        .filter(visible.clone())
        .filter(tasks::Column::SlaDueAt.gt(now))
        .filter(tasks::Column::SlaDueAt.lte(now + crate::services::sla::AT_RISK))
        .filter(tasks::Column::DeletedAt.is_null())
        .count(db)
        .await?;
    let rows: Vec<(TaskType, i64, i64)> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::TaskType)
        .column_as(Expr::cust("SUM(CASE WHEN actual_end <= finish_due_at THEN 1 ELSE 0 END)"), "met")
        .column_as(Expr::col(tasks::Column::Id).count(), "total")
        .filter(visible)
        .filter(tasks::Column::Status.eq(TaskStatus::Completed))
        .filter(tasks::Column::FinishDueAt.is_not_null())
        .filter(tasks::Column::ActualEnd.gte(since))
        .filter(tasks::Column::DeletedAt.is_null())
        .group_by(tasks::Column::TaskType)
        .into_tuple()
        .all(db)
        .await?;
    let by_type = TaskType::ALL
        .iter()
        .filter_map(|t| {
            let (_, met, total) = rows.iter().find(|(k, ..)| k == t)?;
            Some(contract::overview::SlaCompliance {
                task_type: *t,
                met: u64::try_from(*met).unwrap_or_default(),
                total: u64::try_from(*total).unwrap_or_default(),
            })
        })
        .collect();
    Ok(contract::overview::SlaSummary { overdue, at_risk, by_type })
}

/// The bell: changes to the viewer's tasks (assigned, supervised or created; every task for
/// admins; emergencies for whoever sees all tasks), made by someone else.
pub async fn notifications(state: &AppState, actor: &Actor, seen: Option<DateTime<Utc>>) -> AppResult<Notifications> {
    let mut relevant = Condition::any();
    if actor.role == Role::Admin {
        relevant = relevant.add(tasks::Column::Id.is_not_null());
    } else if actor.role == Role::Supervisor {
        relevant = relevant
            .add(tasks::Column::SupervisorId.eq(actor.user_id))
            .add(tasks::Column::CreatedBy.eq(actor.user_id))
            .add(tasks::Column::TaskType.eq(TaskType::Emergency))
            // Escalated past their own supervisor: every supervisor's business.
            .add(Expr::cust("tasks.id IN (SELECT task_id FROM sla_escalations WHERE level >= 2)"));
    }
    // Officers: `visible_tasks` already narrows to their own tasks.
    let by_others = Condition::any()
        .add(task_status_history::Column::ChangedBy.is_null())
        .add(task_status_history::Column::ChangedBy.ne(actor.user_id));
    let extra = if actor.role == Role::Officer { by_others } else { Condition::all().add(relevant).add(by_others) };
    let key = (actor.user_id, actor.role);
    let items = state
        .caches
        .notifications
        .get_or_compute(&state.events, key, || recent(state, actor, extra, ACTIVITY_LIMIT))
        .await?;
    let unread = items.iter().filter(|i| seen.is_none_or(|s| i.at > s)).count() as u64;
    Ok(Notifications { items, unread })
}

/// The latest history rows of visible tasks matching `extra`, newest first.
async fn recent(state: &AppState, actor: &Actor, extra: Condition, limit: u64) -> AppResult<Vec<ActivityItem>> {
    let db = &state.db;
    let Some(visible) = visible_tasks(actor) else { return Ok(Vec::new()) };
    let rows = task_status_history::Entity::find()
        .find_also_related(tasks::Entity)
        .filter(visible)
        .filter(extra)
        .order_by_desc(task_status_history::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut user_ids: Vec<i64> = rows.iter().filter_map(|(h, _)| h.changed_by).collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let names: HashMap<i64, String> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        users::Entity::find()
            .filter(users::Column::Id.is_in(user_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, format!("{} {}", u.first_name, u.last_name)))
            .collect()
    };
    let tz = state.config.timezone;
    Ok(rows
        .into_iter()
        .filter_map(|(h, task)| {
            let task = task?;
            Some(ActivityItem {
                id: h.id,
                task_id: task.id,
                code: task.code,
                title: task.title,
                task_type: task.task_type,
                priority: task.priority,
                note: (h.from_status == Some(h.to_status)).then(|| h.reason.clone()).flatten(),
                from: h.from_status,
                to: h.to_status,
                by: h.changed_by.and_then(|id| names.get(&id).cloned()),
                at: h.created_at,
                at_local: local_time(h.created_at, tz),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constant list names exactly the open statuses, spelled as stored.
    #[test]
    fn the_open_statuses_constant_is_the_open_statuses() {
        let open: Vec<String> =
            TaskStatus::ALL.iter().filter(|s| s.is_open()).map(|s| format!("'{}'", s.as_str())).collect();
        assert_eq!(OPEN_SQL, format!(r#""tasks"."status" IN ({})"#, open.join(", ")));
    }
}
