//! Deadlines and escalation (SLA).
//!
//! Targets (`sla_targets`): minutes to acknowledge (an assigned officer acknowledges or starts),
//! to start and to finish, per task type and priority (`*`: every type; a type's own row wins).
//! A task carries its due times: acknowledge from its first assignment, start and finish from
//! its reference time (scheduled start, else creation); `sla_due_at` is the earliest one still
//! unmet, kept by [`apply`] after every write that can move it.
//!
//! Escalation ([`escalate`]): a task past a target escalates in three steps, [`STEP`] apart:
//! the task's supervisor, then every supervisor, then the admins. Each step is a row of
//! `sla_escalations` (unique per task, target and step, so no process sends one twice), a
//! history line (the bell), an audit entry and a `task.overdue` event (Telegram, live
//! dashboard), all in one transaction. Meeting the target stops the steps. One process runs
//! it at a time (a lease like the notifier's, see `server::sla`).

use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    Set, TryIntoModel,
};
use serde_json::json;

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{sla_escalations, sla_targets, task_assignments, task_status_history, tasks};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::state::AppState;
use crate::visibility::TaskVisibility;
use contract::domain::{Channel, TaskPriority, TaskType};
use contract::events::Event;
use contract::sla::{SlaTarget, SlaTargetInput, SlaTargetKind};

/// Between escalation steps.
pub const STEP: Duration = Duration::minutes(15);
/// A task is at risk this long before a due time.
pub const AT_RISK: Duration = Duration::minutes(15);
/// Tasks escalated per pass.
const BATCH: u64 = 200;

/// The targets that apply to a task: its type's row, else the `*` row, for its priority.
pub async fn targets_for(db: &impl ConnectionTrait, task_type: TaskType, priority: TaskPriority) -> AppResult<Targets> {
    let rows = sla_targets::Entity::find()
        .filter(sla_targets::Column::Priority.eq(priority.as_str()))
        .filter(sla_targets::Column::TaskType.is_in([task_type.as_str(), "*"]))
        .all(db)
        .await?;
    let row = rows.iter().find(|r| r.task_type == task_type.as_str()).or_else(|| rows.first());
    Ok(row.map_or_else(Targets::default, |r| Targets {
        ack: r.ack_minutes.map(i64::from),
        start: r.start_minutes.map(i64::from),
        finish: r.finish_minutes.map(i64::from),
    }))
}

/// Minutes per target; `None`: no target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    pub ack: Option<i64>,
    pub start: Option<i64>,
    pub finish: Option<i64>,
}

/// Due to acknowledge, to start, to finish (none: no target).
pub type DueTimes = (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The due times of `t` under `targets`; `first_assigned` starts the acknowledge clock.
pub fn due_times(t: &tasks::Model, targets: Targets, first_assigned: Option<DateTime<Utc>>) -> DueTimes {
    due_from(t.scheduled_start, t.created_at, targets, first_assigned)
}

/// [`due_times`] of a task scheduled at `scheduled_start`, created at `created_at`.
pub fn due_from(
    scheduled_start: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    targets: Targets,
    first_assigned: Option<DateTime<Utc>>,
) -> DueTimes {
    let reference = scheduled_start.unwrap_or(created_at);
    let after = |base: DateTime<Utc>, minutes: Option<i64>| minutes.map(|m| base + Duration::minutes(m));
    (
        after(first_assigned.unwrap_or(reference).max(created_at), targets.ack),
        after(reference, targets.start),
        after(reference, targets.finish),
    )
}

/// The earliest due time `t` has not met yet (none once it is final or deleted).
pub fn next_due(t: &tasks::Model) -> Option<DateTime<Utc>> {
    if t.status.is_final() || t.deleted_at.is_some() {
        return None;
    }
    [
        t.ack_due_at.filter(|_| t.acknowledged_at.is_none() && t.actual_start.is_none()),
        t.start_due_at.filter(|_| t.actual_start.is_none()),
        t.finish_due_at.filter(|_| t.actual_end.is_none()),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// Recomputes `t`'s due times (after a write that may move them: creation, an edit, an
/// assignment, a transition, an acknowledgment) and stores them when they changed.
pub async fn apply(txn: &WriteTxn, t: tasks::Model) -> AppResult<tasks::Model> {
    let db: &sea_orm::DatabaseTransaction = txn;
    let targets = targets_for(db, t.task_type, t.priority).await?;
    let first_assigned: Option<DateTime<Utc>> = task_assignments::Entity::find()
        .select_only()
        .column(task_assignments::Column::AssignedAt)
        .filter(task_assignments::Column::TaskId.eq(t.id))
        .order_by_asc(task_assignments::Column::AssignedAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let (ack, start, finish) = due_times(&t, targets, first_assigned);
    // Nobody to acknowledge before somebody is assigned.
    let ack = ack.filter(|_| first_assigned.is_some());
    let mut next = t.clone();
    next.ack_due_at = ack;
    next.start_due_at = start;
    next.finish_due_at = finish;
    next.sla_due_at = next_due(&next);
    if next == t {
        return Ok(t);
    }
    let mut model = t.into_active_model();
    model.ack_due_at = Set(next.ack_due_at);
    model.start_due_at = Set(next.start_due_at);
    model.finish_due_at = Set(next.finish_due_at);
    model.sla_due_at = Set(next.sla_due_at);
    Ok(model.update(db).await?)
}

/// After a write that moves no due time (a transition, an acknowledgment: the due times
/// follow the type, priority, schedule and first assignment), only which one is still unmet:
/// `sla_due_at` is set on the pending update itself, without a query.
pub fn settle(model: &mut tasks::ActiveModel) -> AppResult<()> {
    let next = model.clone().try_into_model()?;
    model.sla_due_at = Set(next_due(&next));
    Ok(())
}

/// An assigned officer acknowledges the task (or a supervisor for them): the acknowledge
/// target is met and its escalation stops.
pub async fn acknowledge(state: &AppState, actor: &Actor, meta: &AuditMeta, task_id: i64) -> AppResult<tasks::Model> {
    crate::permissions::require_write(actor)?;
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    // Locked like a transition's task: a cancellation committed meanwhile is seen, not
    // overwritten with the due times of a task still open.
    let task = crate::services::tasks::find_for_update(&txn, task_id).await?;
    let assigned = match actor.officer_id {
        Some(officer) => crate::visibility::is_assigned(&*txn, task_id, officer).await?,
        None => false,
    };
    if !assigned && require(actor, Capability::OperateAnyTask).is_err() {
        return Err(AppError::NotFound);
    }
    if task.status.is_final() {
        return Err(AppError::Conflict(format!("La tarea {} ya terminó.", task.code)));
    }
    if task.acknowledged_at.is_some() {
        return Ok(task);
    }
    let at = Utc::now().trunc_subsecs(6);
    let mut model = task.clone().into_active_model();
    model.acknowledged_at = Set(Some(at));
    settle(&mut model)?;
    let updated = model.update(&*txn).await?;
    task_status_history::ActiveModel {
        task_id: Set(task_id),
        from_status: Set(Some(task.status)),
        to_status: Set(task.status),
        changed_by: Set(Some(actor.user_id)),
        channel: Set(actor.channel),
        reason: Set(Some("Recepción confirmada".into())),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    audit::append(&txn, Some(actor), meta, AuditEntry::new("task.acknowledge", "task", task_id)).await?;
    txn.emit(Event::TaskUpdated { task_id, code: updated.code.clone() });
    txn.commit().await?;
    Ok(updated)
}

/// Which target a due time belongs to, and how it reads.
fn overdue_targets(t: &tasks::Model) -> Vec<(SlaTargetKind, DateTime<Utc>)> {
    let mut out = Vec::new();
    if let Some(due) = t.ack_due_at.filter(|_| t.acknowledged_at.is_none() && t.actual_start.is_none()) {
        out.push((SlaTargetKind::Ack, due));
    }
    if let Some(due) = t.start_due_at.filter(|_| t.actual_start.is_none()) {
        out.push((SlaTargetKind::Start, due));
    }
    if let Some(due) = t.finish_due_at.filter(|_| t.actual_end.is_none()) {
        out.push((SlaTargetKind::Finish, due));
    }
    out
}

/// Who each step reaches, in words (history, audit).
pub fn step_audience(level: u8) -> &'static str {
    match level {
        1 => "el supervisor a cargo",
        2 => "todos los supervisores",
        _ => "los administradores",
    }
}

/// One pass: every step now due of every overdue task, each recorded once. Returns the steps
/// taken as (task id, target, level).
///
/// Only tasks with a step still to take are read: an open target past due whose last step is
/// not recorded. A task stays overdue until its target is met, so without that filter a batch
/// of tasks nobody closes — every step long taken — would be read at every pass, ahead of a
/// new overdue task that never escalated.
pub async fn escalate(state: &AppState, now: DateTime<Utc>) -> AppResult<Vec<(i64, SlaTargetKind, u8)>> {
    use sea_orm::Condition;
    use sea_orm::sea_query::Expr;
    let steps_left = |target: SlaTargetKind| {
        Expr::cust(format!(
            "NOT EXISTS (SELECT 1 FROM sla_escalations e WHERE e.task_id = tasks.id AND e.target = '{}' AND e.level = 3)",
            target.as_str()
        ))
    };
    let open = Condition::any()
        .add(
            Condition::all()
                .add(tasks::Column::AckDueAt.lte(now))
                .add(tasks::Column::AcknowledgedAt.is_null())
                .add(tasks::Column::ActualStart.is_null())
                .add(steps_left(SlaTargetKind::Ack)),
        )
        .add(
            Condition::all()
                .add(tasks::Column::StartDueAt.lte(now))
                .add(tasks::Column::ActualStart.is_null())
                .add(steps_left(SlaTargetKind::Start)),
        )
        .add(
            Condition::all()
                .add(tasks::Column::FinishDueAt.lte(now))
                .add(tasks::Column::ActualEnd.is_null())
                .add(steps_left(SlaTargetKind::Finish)),
        );
    let overdue = tasks::Entity::find()
        .filter(tasks::Column::SlaDueAt.lte(now))
        .filter(tasks::Column::DeletedAt.is_null())
        .filter(open)
        .order_by_asc(tasks::Column::SlaDueAt)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut taken = Vec::new();
    for task in overdue {
        for (target, due) in overdue_targets(&task) {
            for level in 1..=3u8 {
                let step_at = due + STEP * i32::from(level - 1);
                if step_at > now {
                    break;
                }
                if record_step(state, &task, target, level, due).await? {
                    taken.push((task.id, target, level));
                }
            }
        }
    }
    Ok(taken)
}

/// Records one step (once: false when another pass did it already) with its history line,
/// audit entry and event.
async fn record_step(
    state: &AppState,
    task: &tasks::Model,
    target: SlaTargetKind,
    level: u8,
    due: DateTime<Utc>,
) -> AppResult<bool> {
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let at = Utc::now().trunc_subsecs(6);
    let inserted = sla_escalations::Entity::insert(sla_escalations::ActiveModel {
        task_id: Set(task.id),
        target: Set(target.as_str().to_owned()),
        level: Set(i32::from(level)),
        due_at: Set(due),
        notified_at: Set(at),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            sla_escalations::Column::TaskId,
            sla_escalations::Column::Target,
            sla_escalations::Column::Level,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&*txn)
    .await?;
    if inserted == 0 {
        return Ok(false);
    }
    let late = (at - due).num_minutes().max(0);
    let reason = format!(
        "Objetivo vencido: {} (hace {late} min). Aviso {level} de 3 a {}.",
        target.label_es().to_lowercase(),
        step_audience(level)
    );
    task_status_history::ActiveModel {
        task_id: Set(task.id),
        from_status: Set(Some(task.status)),
        to_status: Set(task.status),
        changed_by: Set(None),
        channel: Set(Channel::System),
        reason: Set(Some(reason.clone())),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let entry = AuditEntry::new("task.sla_escalated", "task", task.id).after(json!({
        "code": task.code,
        "target": target.as_str(),
        "level": level,
        "due_at": due,
    }));
    audit::append(&txn, None, &AuditMeta::internal(Channel::System), entry).await?;
    txn.emit(Event::TaskOverdue {
        task_id: task.id,
        code: task.code.clone(),
        priority: task.priority,
        target: target.as_str().to_owned(),
        level,
    });
    txn.commit().await?;
    metrics::counter!("gad_sla_escalations_total", "level" => level.to_string()).increment(1);
    Ok(true)
}

/// How many open tasks are past a due time now (the `gad_tasks_overdue` gauge).
pub async fn overdue_count(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(tasks::Entity::find()
        .filter(tasks::Column::SlaDueAt.lte(now))
        .filter(tasks::Column::DeletedAt.is_null())
        .count(db)
        .await?)
}

/// The urgent and critical tasks the caller sees that are past a due time (the dashboard's
/// banner), most overdue first.
pub async fn alerts(state: &AppState, actor: &Actor) -> AppResult<Vec<contract::sla::SlaAlert>> {
    let now = Utc::now();
    let mut query = tasks::Entity::find()
        .filter(tasks::Column::SlaDueAt.lte(now))
        .filter(tasks::Column::DeletedAt.is_null())
        .filter(tasks::Column::Priority.is_in([TaskPriority::Urgent, TaskPriority::Critical]));
    if let Some(visible) = TaskVisibility::of(actor).condition() {
        query = query.filter(visible);
    }
    let rows = query.order_by_asc(tasks::Column::SlaDueAt).limit(20).all(&state.db).await?;
    Ok(rows
        .into_iter()
        .map(|t| contract::sla::SlaAlert {
            task_id: t.id,
            code: t.code,
            title: t.title,
            priority: t.priority,
            status: t.status,
            due_at: t.sla_due_at.unwrap_or(now),
        })
        .collect())
}

// ---------------------------------------------------------------------------- the targets

fn target_dto(r: sla_targets::Model) -> SlaTarget {
    SlaTarget {
        task_type: r.task_type.parse().ok(),
        priority: r.priority.parse().unwrap_or(TaskPriority::Medium),
        ack_minutes: r.ack_minutes.map(i64::from),
        start_minutes: r.start_minutes.map(i64::from),
        finish_minutes: r.finish_minutes.map(i64::from),
    }
}

/// Every target row (every type first, then by type and priority). Anyone who sees tasks.
pub async fn list_targets(state: &AppState, actor: &Actor) -> AppResult<Vec<SlaTarget>> {
    require(actor, Capability::SeeAllTasks)?;
    let mut rows: Vec<SlaTarget> =
        sla_targets::Entity::find().all(&state.db).await?.into_iter().map(target_dto).collect();
    rows.sort_by_key(|t| (t.task_type.map(|k| k.as_str()), std::cmp::Reverse(t.priority)));
    Ok(rows)
}

/// Sets the targets of a type (`None`: every type) and priority; all three empty removes a
/// type's own row (the `*` row then applies; the answer has no minutes). Admins.
pub async fn set_target(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    input: SlaTargetInput,
) -> AppResult<SlaTarget> {
    require(actor, Capability::ManageUsers)?;
    let mut errors = crate::validate::Errors::new();
    for (field, value) in [
        ("ack_minutes", input.ack_minutes),
        ("start_minutes", input.start_minutes),
        ("finish_minutes", input.finish_minutes),
    ] {
        if value.is_some_and(|m| !(1..=100_000).contains(&m)) {
            errors.add(field, "Los minutos deben estar entre 1 y 100000.");
        }
    }
    errors.finish()?;
    let key = input.task_type.map_or("*", TaskType::as_str).to_owned();
    let txn = WriteTxn::begin(state).await?;
    let existing = sla_targets::Entity::find()
        .filter(sla_targets::Column::TaskType.eq(key.clone()))
        .filter(sla_targets::Column::Priority.eq(input.priority.as_str()))
        .one(&*txn)
        .await?;
    let cleared = input.ack_minutes.is_none() && input.start_minutes.is_none() && input.finish_minutes.is_none();
    if let (Some(_), true) = (input.task_type, cleared) {
        // A type's own row emptied: removed, so the every-type row applies again.
        if let Some(row) = existing {
            sla_targets::Entity::delete_by_id(row.id).exec(&*txn).await?;
            let entry = AuditEntry::new("sla.target_removed", "sla_target", row.id).before(audited(&row));
            audit::append(&txn, Some(actor), meta, entry).await?;
            txn.commit().await?;
        }
        let SlaTargetInput { task_type, priority, .. } = input;
        return Ok(SlaTarget { task_type, priority, ack_minutes: None, start_minutes: None, finish_minutes: None });
    }
    let minutes = |m: Option<i64>| m.and_then(|m| i32::try_from(m).ok());
    let row = match existing {
        Some(row) => {
            let mut model = row.into_active_model();
            model.ack_minutes = Set(minutes(input.ack_minutes));
            model.start_minutes = Set(minutes(input.start_minutes));
            model.finish_minutes = Set(minutes(input.finish_minutes));
            model.updated_at = Set(Utc::now());
            model.update(&*txn).await?
        }
        None => {
            sla_targets::ActiveModel {
                task_type: Set(key),
                priority: Set(input.priority.as_str().to_owned()),
                ack_minutes: Set(minutes(input.ack_minutes)),
                start_minutes: Set(minutes(input.start_minutes)),
                finish_minutes: Set(minutes(input.finish_minutes)),
                updated_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&*txn)
            .await?
        }
    };
    let entry = AuditEntry::new("sla.target_set", "sla_target", row.id).after(audited(&row));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.commit().await?;
    Ok(target_dto(row))
}

/// A target row as the audit log keeps it.
fn audited(row: &sla_targets::Model) -> serde_json::Value {
    json!({
        "task_type": row.task_type,
        "priority": row.priority,
        "ack_minutes": row.ack_minutes,
        "start_minutes": row.start_minutes,
        "finish_minutes": row.finish_minutes,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use contract::domain::TaskStatus;

    fn task() -> tasks::Model {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0).unwrap();
        tasks::Model {
            id: 1,
            code: "PAT-2026-0001".into(),
            title: "x".into(),
            description: None,
            task_type: TaskType::Patrol,
            priority: TaskPriority::Critical,
            status: TaskStatus::Scheduled,
            scheduled_start: None,
            scheduled_end: None,
            actual_start: None,
            actual_end: None,
            paused_at: None,
            paused_seconds: 0,
            supervisor_id: None,
            created_by: 1,
            lat: None,
            lon: None,
            location_text: None,
            notes: None,
            created_at: at,
            updated_at: at,
            deleted_at: None,
            ack_due_at: None,
            start_due_at: None,
            finish_due_at: None,
            acknowledged_at: None,
            sla_due_at: None,
        }
    }

    #[test]
    fn due_times_count_from_assignment_and_reference() {
        let t = task();
        let targets = Targets { ack: Some(5), start: Some(15), finish: Some(240) };
        let assigned = t.created_at + Duration::minutes(20);
        let (ack, start, finish) = due_times(&t, targets, Some(assigned));
        assert_eq!(ack, Some(assigned + Duration::minutes(5)));
        assert_eq!(start, Some(t.created_at + Duration::minutes(15)));
        assert_eq!(finish, Some(t.created_at + Duration::minutes(240)));
    }

    #[test]
    fn the_next_due_is_the_earliest_unmet_and_none_once_final() {
        let mut t = task();
        t.ack_due_at = Some(t.created_at + Duration::minutes(5));
        t.start_due_at = Some(t.created_at + Duration::minutes(15));
        t.finish_due_at = Some(t.created_at + Duration::minutes(240));
        assert_eq!(next_due(&t), t.ack_due_at);
        t.acknowledged_at = Some(t.created_at);
        assert_eq!(next_due(&t), t.start_due_at);
        t.actual_start = Some(t.created_at);
        assert_eq!(next_due(&t), t.finish_due_at);
        t.status = TaskStatus::Completed;
        assert_eq!(next_due(&t), None);
    }
}
