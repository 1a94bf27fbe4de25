//! Tasks: the lifecycle of SPEC §4, assignments, queries and export.
//!
//! Who may do what comes from the permission table (SPEC §5): supervisors and admins manage
//! every task; an officer sees and operates only the tasks they are assigned to, and for an
//! officer any other task does not exist (`NotFound`, so existence is not leaked).
//!
//! Every change is one [`WriteTxn`]: the task, its history row, the officers' statuses and the
//! audit row commit together, and the events go out only after the commit.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, SubsecRound, TimeZone, Utc};
use sea_orm::sea_query::{Expr, LikeExpr, Order};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set, Statement,
};
use serde_json::json;

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{officers, task_assignments, task_status_history, tasks, users};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require, require_write};
use crate::services::audit::{self, AuditEntry};
use crate::services::local_time;
use crate::state::AppState;
use crate::validate::{Errors, check_len, check_point};
use crate::visibility::{TaskVisibility, assigned_to, is_assigned};
use contract::Page;
use contract::domain::{OfficerStatus, Role, TaskPriority, TaskStatus, TaskType};
use contract::events::Event;
use contract::tasks::{
    NewTask, TaskAssignmentInfo, TaskDetail, TaskFilter, TaskHistoryEntry, TaskScope, TaskSort, TaskSummary, TaskUpdate,
};

/// Most rows `list` returns (the dashboard's paginated view uses [`query`]).
const LIST_LIMIT: u64 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;
/// Officers one task may have.
pub const MAX_OFFICERS_PER_TASK: usize = 200;

const TITLE_MIN: usize = 3;
const TITLE_MAX: usize = 200;
const CODE_MAX: usize = 40;
const LONG_TEXT_MAX: usize = 5000;
const LOCATION_TEXT_MAX: usize = 300;
pub(crate) const REASON_MAX: usize = 1000;
const SEARCH_MAX: usize = 100;

mod export;
mod lifecycle;
mod query;
mod validate;
mod write;

pub use export::*;
pub use lifecycle::*;
pub use query::*;
use validate::*;
pub(crate) use validate::{check_code, check_location, check_schedule, check_texts, check_title, clean};
pub use write::*;

// ----------------------------------------------------------------------------------- helpers

/// Now, at the precision both backends store (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(super) fn may_manage(actor: &Actor) -> bool {
    require(actor, Capability::ManageTasks).is_ok()
}

/// Start, pause, resume or complete: any task with [`Capability::OperateAnyTask`], else only
/// one's own (and never through a read-only token).
pub(super) fn may_operate(actor: &Actor, assigned: bool) -> bool {
    require(actor, Capability::OperateAnyTask).is_ok() || (assigned && require_write(actor).is_ok())
}

/// The task (not deleted), locked for the rest of the transaction on PostgreSQL.
pub(crate) async fn find_for_update(txn: &WriteTxn, id: i64) -> AppResult<tasks::Model> {
    let db: &sea_orm::DatabaseTransaction = txn;
    tasks::Entity::find_by_id(id)
        .filter(tasks::Column::DeletedAt.is_null())
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The task if `actor` may see it: everyone who sees all tasks, else only an assigned officer.
pub(super) async fn find_visible(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<tasks::Model> {
    let task = tasks::Entity::find_by_id(id)
        .filter(tasks::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if TaskVisibility::of(actor).allows(db, id).await? { Ok(task) } else { Err(AppError::NotFound) }
}

pub(super) fn final_conflict(task: &tasks::Model) -> AppError {
    AppError::Conflict(format!(
        "La tarea {} está {} y ya no se puede modificar.",
        task.code,
        task.status.label_es().to_lowercase()
    ))
}

/// What the audit log keeps of a change to a task: the fields that changed, before and after,
/// and the task's code in both (a transition's row is a few hundred bytes, not two copies of
/// the task: the audit row is written, sealed and hashed on every write).
pub(super) fn changed_fields(before: &tasks::Model, after: &tasks::Model) -> (serde_json::Value, serde_json::Value) {
    let (serde_json::Value::Object(mut old), serde_json::Value::Object(mut new)) = (snapshot(before), snapshot(after))
    else {
        unreachable!("a task's snapshot is an object")
    };
    old.retain(|key, value| key == "code" || new.get(key) != Some(value));
    new.retain(|key, _| old.contains_key(key));
    (serde_json::Value::Object(old), serde_json::Value::Object(new))
}

/// What the audit log keeps of a task.
pub(super) fn snapshot(t: &tasks::Model) -> serde_json::Value {
    json!({
        "code": t.code,
        "title": t.title,
        "description": t.description,
        "task_type": t.task_type,
        "priority": t.priority,
        "status": t.status,
        "scheduled_start": t.scheduled_start,
        "scheduled_end": t.scheduled_end,
        "actual_start": t.actual_start,
        "actual_end": t.actual_end,
        "paused_at": t.paused_at,
        "paused_seconds": t.paused_seconds,
        "supervisor_id": t.supervisor_id,
        "lat": t.lat,
        "lon": t.lon,
        "location_text": t.location_text,
        "notes": t.notes,
        "deleted_at": t.deleted_at,
    })
}
