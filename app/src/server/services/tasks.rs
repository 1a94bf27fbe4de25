//! Tasks: queries (and, as the operations core grows, the lifecycle).

use std::collections::HashMap;

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::api::tasks::{TaskScope, TaskSummary};
use crate::domain::{Role, TaskType};
use crate::server::actor::Actor;
use crate::server::entities::{officers, task_assignments, tasks, users};
use crate::server::error::AppResult;
use crate::server::permissions::{Capability, require};
use crate::server::services::local_time;
use crate::server::state::AppState;

/// Most rows a list returns until cursor pagination arrives with the operations core.
const LIST_LIMIT: u64 = 500;

/// Tasks the actor may see in `scope`: `Mine` is what they are assigned to (and, for
/// supervisors, what they are in charge of); `All` needs [`Capability::SeeAllTasks`].
pub async fn list(state: &AppState, actor: &Actor, scope: TaskScope) -> AppResult<Vec<TaskSummary>> {
    if scope == TaskScope::All {
        require(actor, Capability::SeeAllTasks)?;
    }
    let mut query = tasks::Entity::find().filter(tasks::Column::DeletedAt.is_null());
    if scope == TaskScope::Mine {
        let assigned = actor.officer_id.map(|officer_id| {
            tasks::Column::Id.in_subquery(
                Query::select()
                    .column(task_assignments::Column::TaskId)
                    .from(task_assignments::Entity)
                    .and_where(task_assignments::Column::OfficerId.eq(officer_id))
                    .to_owned(),
            )
        });
        let mut mine = Condition::any();
        if let Some(assigned) = assigned {
            mine = mine.add(assigned);
        }
        if actor.role != Role::Officer {
            mine = mine.add(tasks::Column::SupervisorId.eq(actor.user_id));
        }
        if mine.is_empty() {
            return Ok(Vec::new());
        }
        query = query.filter(mine);
    }
    let rows = query
        .order_by_asc(tasks::Column::ScheduledStart)
        .order_by_asc(tasks::Column::Id)
        .limit(LIST_LIMIT)
        .all(&state.db)
        .await?;
    summarize(state, rows).await
}

/// Rows → DTOs, with officer and supervisor names fetched in two queries.
async fn summarize(state: &AppState, rows: Vec<tasks::Model>) -> AppResult<Vec<TaskSummary>> {
    let db = &state.db;
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let mut officers_by_task: HashMap<i64, Vec<String>> = HashMap::new();
    if !ids.is_empty() {
        let assignments = task_assignments::Entity::find()
            .filter(task_assignments::Column::TaskId.is_in(ids.clone()))
            .find_also_related(officers::Entity)
            .all(db)
            .await?;
        for (assignment, officer) in assignments {
            if let Some(o) = officer {
                officers_by_task
                    .entry(assignment.task_id)
                    .or_default()
                    .push(format!("{} {}", o.first_name, o.last_name));
            }
        }
    }
    let supervisor_ids: Vec<i64> = rows.iter().filter_map(|t| t.supervisor_id).collect();
    let supervisors: HashMap<i64, String> = if supervisor_ids.is_empty() {
        HashMap::new()
    } else {
        users::Entity::find()
            .filter(users::Column::Id.is_in(supervisor_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, format!("{} {}", u.first_name, u.last_name)))
            .collect()
    };
    let tz = state.config.timezone;
    Ok(rows
        .into_iter()
        .map(|t| TaskSummary {
            id: t.id,
            officers: officers_by_task.remove(&t.id).unwrap_or_default(),
            supervisor: t.supervisor_id.and_then(|id| supervisors.get(&id).cloned()),
            scheduled_start: t.scheduled_start.map(|at| local_time(at, tz)),
            code: t.code,
            title: t.title,
            task_type: t.task_type,
            priority: t.priority,
            status: t.status,
        })
        .collect())
}

/// The next free code `<TYPE>-<YEAR>-<SEQ>`, e.g. `PATROL-2026-0007`.
pub async fn next_code(db: &impl ConnectionTrait, task_type: TaskType, year: i32) -> AppResult<String> {
    let prefix = format!("{}-{year}-", task_type.as_str().to_uppercase());
    let codes: Vec<String> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::Code)
        .filter(tasks::Column::Code.starts_with(prefix.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let max = codes.iter().filter_map(|c| c.strip_prefix(&prefix)?.parse::<u32>().ok()).max().unwrap_or(0);
    Ok(format!("{prefix}{:04}", max + 1))
}
