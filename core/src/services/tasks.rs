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
use sea_orm::sea_query::{Expr, Func, LikeExpr, Order};
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
use crate::services::{csv_field, local_time};
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
/// Most rows one CSV export holds.
pub const EXPORT_LIMIT: u64 = 10_000;
/// Arbitrary constant naming the task-code generation lock on PostgreSQL.
const TASK_CODE_LOCK_KEY: i64 = 0x0067_4144_5441_534b; // "gADTASK"

const TITLE_MIN: usize = 3;
const TITLE_MAX: usize = 200;
const CODE_MAX: usize = 40;
const LONG_TEXT_MAX: usize = 5000;
const LOCATION_TEXT_MAX: usize = 300;
const REASON_MAX: usize = 1000;
const SEARCH_MAX: usize = 100;

// ----------------------------------------------------------------------------------- helpers

/// Now, at the precision both backends store (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn may_manage(actor: &Actor) -> bool {
    require(actor, Capability::ManageTasks).is_ok()
}

/// Start, pause, resume or complete: any task with [`Capability::OperateAnyTask`], else only
/// one's own (and never through a read-only token).
fn may_operate(actor: &Actor, assigned: bool) -> bool {
    require(actor, Capability::OperateAnyTask).is_ok() || (assigned && require_write(actor).is_ok())
}

/// The task (not deleted), locked for the rest of the transaction on PostgreSQL.
async fn find_for_update(txn: &WriteTxn, id: i64) -> AppResult<tasks::Model> {
    let db: &sea_orm::DatabaseTransaction = txn;
    tasks::Entity::find_by_id(id)
        .filter(tasks::Column::DeletedAt.is_null())
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The task if `actor` may see it: everyone who sees all tasks, else only an assigned officer.
async fn find_visible(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<tasks::Model> {
    let task = tasks::Entity::find_by_id(id)
        .filter(tasks::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if TaskVisibility::of(actor).allows(db, id).await? { Ok(task) } else { Err(AppError::NotFound) }
}

fn final_conflict(task: &tasks::Model) -> AppError {
    AppError::Conflict(format!(
        "La tarea {} está {} y ya no se puede modificar.",
        task.code,
        task.status.label_es().to_lowercase()
    ))
}

/// What the audit log keeps of a task.
fn snapshot(t: &tasks::Model) -> serde_json::Value {
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

/// Trimmed, and `None` when blank.
fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn check_title(errors: &mut Errors, title: &str) {
    let n = title.chars().count();
    if !(TITLE_MIN..=TITLE_MAX).contains(&n) {
        errors.add("title", "El título debe tener entre 3 y 200 caracteres.");
    }
}

fn check_code(errors: &mut Errors, code: &str) {
    let valid = !code.is_empty()
        && code.len() <= CODE_MAX
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        errors.add("code", "El código admite solo mayúsculas, dígitos y guiones (hasta 40 caracteres).");
    }
}

fn check_schedule(errors: &mut Errors, start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) {
    match (start, end) {
        (None, Some(_)) => errors.add("scheduled_start", "Indique el inicio programado si indica el fin."),
        (Some(s), Some(e)) if e <= s => {
            errors.add("scheduled_end", "El fin programado debe ser posterior al inicio.");
        }
        _ => {}
    }
}

fn check_location(errors: &mut Errors, lat: Option<f64>, lon: Option<f64>) {
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            check_point(errors, lat, lon);
        }
        (None, None) => {}
        (None, Some(_)) => errors.add("lat", "Indique la latitud y la longitud, o ninguna de las dos."),
        (Some(_), None) => errors.add("lon", "Indique la latitud y la longitud, o ninguna de las dos."),
    }
}

/// Length limits of the free-text fields.
fn check_texts(errors: &mut Errors, description: Option<&str>, location_text: Option<&str>, notes: Option<&str>) {
    check_len(errors, "description", description, LONG_TEXT_MAX, "La descripción es demasiado larga.");
    check_len(errors, "location_text", location_text, LOCATION_TEXT_MAX, "La ubicación es demasiado larga.");
    check_len(errors, "notes", notes, LONG_TEXT_MAX, "Las notas son demasiado largas.");
}

/// A supervisor (delegado) must be an active supervisor or admin.
async fn check_supervisor(db: &impl ConnectionTrait, errors: &mut Errors, supervisor_id: Option<i64>) -> AppResult<()> {
    let Some(id) = supervisor_id else { return Ok(()) };
    let ok = users::Entity::find_by_id(id)
        .filter(users::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .is_some_and(|u| u.is_active && matches!(u.role, Role::Supervisor | Role::Admin));
    if !ok {
        errors.add("supervisor_id", "El delegado debe ser un supervisor o administrador activo.");
    }
    Ok(())
}

/// Officers that exist and are not deleted, in the order given (duplicates removed).
async fn check_officers(
    db: &impl ConnectionTrait,
    errors: &mut Errors,
    ids: &[i64],
) -> AppResult<Vec<officers::Model>> {
    let mut seen = HashSet::new();
    let ids: Vec<i64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: HashMap<i64, officers::Model> = officers::Entity::find()
        .filter(officers::Column::Id.is_in(ids.clone()))
        .filter(officers::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut out = Vec::new();
    for id in ids {
        match found.get(&id) {
            Some(o) => out.push(o.clone()),
            None => errors.add("officer_ids", format!("No existe el efectivo con id {id}.")),
        }
    }
    Ok(out)
}

/// The next `<TYPE>-<YEAR>-<SEQ>` code, serialised against concurrent creations.
pub(crate) async fn generate_code(txn: &WriteTxn, task_type: TaskType, year: i32) -> AppResult<String> {
    let conn: &sea_orm::DatabaseTransaction = txn;
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        conn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [TASK_CODE_LOCK_KEY.into()],
        ))
        .await?;
    }
    next_code(conn, task_type, year).await
}

/// The current year in the configured time zone.
pub(crate) fn local_year(state: &AppState, at: DateTime<Utc>) -> i32 {
    at.with_timezone(&state.config.timezone).year()
}

/// What a new task row holds (validated; the code unique or generated).
pub(crate) struct TaskRow {
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    pub scheduled_start: Option<DateTime<Utc>>,
    pub scheduled_end: Option<DateTime<Utc>>,
    pub supervisor_id: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub location_text: Option<String>,
    pub notes: Option<String>,
}

/// The one way a task is born, for `create` and for emergencies: the row (scheduled), its
/// officers, and its first history row with `reason`.
pub(crate) async fn insert_task(
    txn: &WriteTxn,
    actor: &Actor,
    row: TaskRow,
    officer_ids: &[i64],
    allow_overlap: bool,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<tasks::Model> {
    let db: &sea_orm::DatabaseTransaction = txn;
    let task = tasks::ActiveModel {
        code: Set(row.code),
        title: Set(row.title),
        description: Set(row.description),
        task_type: Set(row.task_type),
        priority: Set(row.priority),
        status: Set(TaskStatus::Scheduled),
        scheduled_start: Set(row.scheduled_start),
        scheduled_end: Set(row.scheduled_end),
        actual_start: Set(None),
        actual_end: Set(None),
        paused_at: Set(None),
        paused_seconds: Set(0),
        supervisor_id: Set(row.supervisor_id),
        created_by: Set(actor.user_id),
        lat: Set(row.lat),
        lon: Set(row.lon),
        location_text: Set(row.location_text),
        notes: Set(row.notes),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    insert_assignments(txn, task.id, officer_ids, actor, allow_overlap, at).await?;
    add_history(txn, task.id, None, TaskStatus::Scheduled, actor, reason, at).await?;
    Ok(task)
}

async fn add_history(
    txn: &WriteTxn,
    task_id: i64,
    from: Option<TaskStatus>,
    to: TaskStatus,
    actor: &Actor,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let db: &sea_orm::DatabaseTransaction = txn;
    task_status_history::ActiveModel {
        task_id: Set(task_id),
        from_status: Set(from),
        to_status: Set(to),
        changed_by: Set(Some(actor.user_id)),
        channel: Set(actor.channel),
        reason: Set(reason),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Inserts assignments (the database refuses overlaps unless `overlap_override`).
pub(crate) async fn insert_assignments(
    txn: &WriteTxn,
    task_id: i64,
    officer_ids: &[i64],
    actor: &Actor,
    overlap_override: bool,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let db: &sea_orm::DatabaseTransaction = txn;
    for &officer_id in officer_ids {
        task_assignments::ActiveModel {
            task_id: Set(task_id),
            officer_id: Set(officer_id),
            assigned_at: Set(at),
            assigned_by: Set(Some(actor.user_id)),
            overlap_override: Set(overlap_override),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The history note for assignments made with an overlap override.
pub(crate) fn override_note(officers: &[officers::Model]) -> String {
    let codes: Vec<&str> = officers.iter().map(|o| o.code.as_str()).collect();
    format!("Superposición de horario autorizada para: {}", codes.join(", "))
}

async fn assigned_officer_ids(db: &impl ConnectionTrait, task_id: i64) -> AppResult<Vec<i64>> {
    Ok(task_assignments::Entity::find()
        .select_only()
        .column(task_assignments::Column::OfficerId)
        .filter(task_assignments::Column::TaskId.eq(task_id))
        .order_by_asc(task_assignments::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

async fn set_officer_status(
    txn: &mut WriteTxn,
    ids: Vec<i64>,
    status: OfficerStatus,
    at: DateTime<Utc>,
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let db: &sea_orm::DatabaseTransaction = txn;
    officers::Entity::update_many()
        .col_expr(officers::Column::Status, Expr::value(status.as_str()))
        .col_expr(officers::Column::StatusChangedAt, Expr::value(at))
        .col_expr(officers::Column::UpdatedAt, Expr::value(at))
        .filter(officers::Column::Id.is_in(ids.clone()))
        .exec(db)
        .await?;
    for officer_id in ids {
        txn.emit(Event::OfficerStatusChanged { officer_id, status });
    }
    Ok(())
}

/// Puts officers `on_task` (those not already). Returns who changed.
async fn occupy_officers(txn: &mut WriteTxn, officer_ids: &[i64], at: DateTime<Utc>) -> AppResult<Vec<i64>> {
    if officer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let db: &sea_orm::DatabaseTransaction = txn;
    let ids: Vec<i64> = officers::Entity::find()
        .select_only()
        .column(officers::Column::Id)
        .filter(officers::Column::Id.is_in(officer_ids.to_vec()))
        .filter(officers::Column::DeletedAt.is_null())
        .filter(officers::Column::Status.ne(OfficerStatus::OnTask))
        .order_by_asc(officers::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    set_officer_status(txn, ids.clone(), OfficerStatus::OnTask, at).await?;
    Ok(ids)
}

/// Frees officers of `task_id`: those `on_task` become `available` unless they are on another
/// task in progress or paused. Officers off duty or unavailable are left alone. Returns who
/// changed.
async fn free_officers(
    txn: &mut WriteTxn,
    task_id: i64,
    officer_ids: &[i64],
    at: DateTime<Utc>,
) -> AppResult<Vec<i64>> {
    if officer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let db: &sea_orm::DatabaseTransaction = txn;
    let busy: HashSet<i64> = task_assignments::Entity::find()
        .select_only()
        .column(task_assignments::Column::OfficerId)
        .inner_join(tasks::Entity)
        .filter(task_assignments::Column::OfficerId.is_in(officer_ids.to_vec()))
        .filter(task_assignments::Column::TaskId.ne(task_id))
        .filter(tasks::Column::Status.is_in([TaskStatus::InProgress, TaskStatus::Paused]))
        .filter(tasks::Column::DeletedAt.is_null())
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let ids: Vec<i64> = officers::Entity::find()
        .select_only()
        .column(officers::Column::Id)
        .filter(officers::Column::Id.is_in(officer_ids.to_vec()))
        .filter(officers::Column::DeletedAt.is_null())
        .filter(officers::Column::Status.eq(OfficerStatus::OnTask))
        .order_by_asc(officers::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .filter(|id| !busy.contains(id))
        .collect();
    set_officer_status(txn, ids.clone(), OfficerStatus::Available, at).await?;
    Ok(ids)
}

// ------------------------------------------------------------------------------- lifecycle

/// Creates a task (SPEC §4 "(new) → scheduled"), with its first officers if given.
pub async fn create(state: &AppState, actor: &Actor, meta: &AuditMeta, input: NewTask) -> AppResult<TaskDetail> {
    require(actor, Capability::ManageTasks)?;
    let title = input.title.trim().to_owned();
    let code = clean(input.code);
    let description = clean(input.description);
    let location_text = clean(input.location_text);
    let notes = clean(input.notes);
    let supervisor_id = input.supervisor_id.or((actor.role == Role::Supervisor).then_some(actor.user_id));

    let mut errors = Errors::default();
    if let Some(code) = &code {
        check_code(&mut errors, code);
    }
    check_title(&mut errors, &title);
    check_texts(&mut errors, description.as_deref(), location_text.as_deref(), notes.as_deref());
    check_schedule(&mut errors, input.scheduled_start, input.scheduled_end);
    check_location(&mut errors, input.lat, input.lon);
    check_supervisor(&state.db, &mut errors, supervisor_id).await?;
    let officers = check_officers(&state.db, &mut errors, &input.officer_ids).await?;
    errors.finish()?;

    let at = now();
    let mut txn = WriteTxn::begin(state).await?;
    let code = match code {
        Some(code) => {
            let taken = tasks::Entity::find().filter(tasks::Column::Code.eq(code.as_str())).one(&*txn).await?;
            if taken.is_some() {
                return Err(AppError::Conflict(format!("Ya existe una tarea con el código {code}.")));
            }
            code
        }
        None => generate_code(&txn, input.task_type, local_year(state, at)).await?,
    };
    let officer_ids: Vec<i64> = officers.iter().map(|o| o.id).collect();
    let reason = (input.allow_overlap && !officers.is_empty()).then(|| override_note(&officers));
    let row = TaskRow {
        code,
        title,
        description,
        task_type: input.task_type,
        priority: input.priority,
        scheduled_start: input.scheduled_start,
        scheduled_end: input.scheduled_end,
        supervisor_id,
        lat: input.lat,
        lon: input.lon,
        location_text,
        notes,
    };
    let task = insert_task(&txn, actor, row, &officer_ids, input.allow_overlap, reason, at).await?;
    let entry = AuditEntry::new("task.create", "task", task.id).after(json!({
        "task": snapshot(&task),
        "officer_ids": officer_ids,
        "allow_overlap": input.allow_overlap,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskCreated {
        task_id: task.id,
        code: task.code.clone(),
        title: task.title.clone(),
        priority: task.priority,
        officer_ids,
    });
    txn.commit().await?;
    load_detail(state, actor, task).await
}

/// Changes the given fields of a task that is not final.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    changes: TaskUpdate,
) -> AppResult<TaskDetail> {
    require(actor, Capability::ManageTasks)?;
    let mut errors = Errors::default();
    let title = changes.title.map(|t| t.trim().to_owned());
    if let Some(title) = &title {
        check_title(&mut errors, title);
    }
    let description = changes.description.map(clean);
    let location_text = changes.location_text.map(clean);
    let notes = changes.notes.map(clean);
    check_texts(
        &mut errors,
        description.as_ref().and_then(Option::as_deref),
        location_text.as_ref().and_then(Option::as_deref),
        notes.as_ref().and_then(Option::as_deref),
    );
    if let Some(supervisor_id) = changes.supervisor_id {
        check_supervisor(&state.db, &mut errors, supervisor_id).await?;
    }
    errors.finish()?;

    let mut txn = WriteTxn::begin(state).await?;
    let before = find_for_update(&txn, id).await?;
    if before.status.is_final() {
        return Err(final_conflict(&before));
    }
    let mut after = before.clone();
    if let Some(v) = title {
        after.title = v;
    }
    if let Some(v) = description {
        after.description = v;
    }
    if let Some(v) = changes.task_type {
        after.task_type = v;
    }
    if let Some(v) = changes.priority {
        after.priority = v;
    }
    if let Some(v) = changes.scheduled_start {
        after.scheduled_start = v;
    }
    if let Some(v) = changes.scheduled_end {
        after.scheduled_end = v;
    }
    if let Some(v) = changes.lat {
        after.lat = v;
    }
    if let Some(v) = changes.lon {
        after.lon = v;
    }
    if let Some(v) = location_text {
        after.location_text = v;
    }
    if let Some(v) = changes.supervisor_id {
        after.supervisor_id = v;
    }
    if let Some(v) = notes {
        after.notes = v;
    }
    let mut errors = Errors::default();
    check_schedule(&mut errors, after.scheduled_start, after.scheduled_end);
    check_location(&mut errors, after.lat, after.lon);
    errors.finish()?;
    if after == before {
        drop(txn);
        return load_detail(state, actor, before).await;
    }

    // Only changed columns are written, so the reschedule overlap check runs only when the
    // schedule really moves.
    let at = now();
    let mut active: tasks::ActiveModel = before.clone().into();
    macro_rules! set_if_changed {
        ($($field:ident),+) => {$(
            if after.$field != before.$field {
                active.$field = Set(after.$field.clone());
            }
        )+};
    }
    set_if_changed!(
        title,
        description,
        task_type,
        priority,
        scheduled_start,
        scheduled_end,
        lat,
        lon,
        location_text,
        supervisor_id,
        notes
    );
    active.updated_at = Set(at);
    let updated = active.update(&*txn).await?;
    let entry = AuditEntry::new("task.update", "task", id).before(snapshot(&before)).after(snapshot(&updated));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskUpdated { task_id: id, code: updated.code.clone() });
    txn.commit().await?;
    load_detail(state, actor, updated).await
}

/// Soft-deletes a task; officers working on it are freed as on cancel.
pub async fn delete(state: &AppState, actor: &Actor, meta: &AuditMeta, id: i64) -> AppResult<()> {
    require(actor, Capability::ManageTasks)?;
    let mut txn = WriteTxn::begin(state).await?;
    let before = find_for_update(&txn, id).await?;
    let at = now();
    let mut active: tasks::ActiveModel = before.clone().into();
    active.deleted_at = Set(Some(at));
    active.updated_at = Set(at);
    let deleted = active.update(&*txn).await?;
    let freed = if before.status.is_active() {
        let officer_ids = assigned_officer_ids(&*txn, id).await?;
        free_officers(&mut txn, id, &officer_ids, at).await?
    } else {
        Vec::new()
    };
    let entry = AuditEntry::new("task.delete", "task", id)
        .before(snapshot(&before))
        .after(json!({ "task": snapshot(&deleted), "freed_officer_ids": freed }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskDeleted { task_id: id, code: before.code });
    txn.commit().await
}

/// Adds officers to a task that is not final. Officers already on it are left as they are;
/// on a task in progress or paused the new ones go `on_task`.
pub async fn assign(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    officer_ids: Vec<i64>,
    allow_overlap: bool,
) -> AppResult<TaskDetail> {
    require(actor, Capability::ManageTasks)?;
    let mut errors = Errors::default();
    if officer_ids.is_empty() {
        errors.add("officer_ids", "Seleccione al menos un efectivo.");
    }
    let officers = check_officers(&state.db, &mut errors, &officer_ids).await?;
    errors.finish()?;

    let mut txn = WriteTxn::begin(state).await?;
    let task = find_for_update(&txn, id).await?;
    if task.status.is_final() {
        return Err(final_conflict(&task));
    }
    let existing: HashSet<i64> = assigned_officer_ids(&*txn, id).await?.into_iter().collect();
    let new: Vec<officers::Model> = officers.into_iter().filter(|o| !existing.contains(&o.id)).collect();
    if new.is_empty() {
        drop(txn);
        return load_detail(state, actor, task).await;
    }
    let at = now();
    let new_ids: Vec<i64> = new.iter().map(|o| o.id).collect();
    insert_assignments(&txn, id, &new_ids, actor, allow_overlap, at).await?;
    let occupied = if task.status.is_active() { occupy_officers(&mut txn, &new_ids, at).await? } else { Vec::new() };
    if allow_overlap {
        // Not a status change: the history records the supervisor's override (SPEC §3).
        add_history(&txn, id, Some(task.status), task.status, actor, Some(override_note(&new)), at).await?;
    }
    let entry = AuditEntry::new("task.assign", "task", id).after(json!({
        "officer_ids": new_ids,
        "allow_overlap": allow_overlap,
        "on_task_officer_ids": occupied,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskAssigned { task_id: id, code: task.code.clone(), officer_ids: new_ids });
    txn.commit().await?;
    load_detail(state, actor, task).await
}

/// Takes an officer off a task that is not final; if the task was being worked on, the officer
/// is freed as on completion.
pub async fn unassign(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    officer_id: i64,
) -> AppResult<TaskDetail> {
    require(actor, Capability::ManageTasks)?;
    let mut txn = WriteTxn::begin(state).await?;
    let task = find_for_update(&txn, id).await?;
    if task.status.is_final() {
        return Err(final_conflict(&task));
    }
    let assignment = task_assignments::Entity::find()
        .filter(task_assignments::Column::TaskId.eq(id))
        .filter(task_assignments::Column::OfficerId.eq(officer_id))
        .one(&*txn)
        .await?
        .ok_or_else(|| AppError::Conflict("El efectivo no está asignado a esta tarea.".into()))?;
    task_assignments::Entity::delete_by_id(assignment.id).exec(&*txn).await?;
    let at = now();
    let freed =
        if task.status.is_active() { free_officers(&mut txn, id, &[officer_id], at).await? } else { Vec::new() };
    let entry = AuditEntry::new("task.unassign", "task", id)
        .before(json!({ "officer_id": officer_id, "assigned_at": assignment.assigned_at }))
        .after(json!({ "freed_officer_ids": freed }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskUnassigned { task_id: id, code: task.code.clone(), officer_id });
    txn.commit().await?;
    load_detail(state, actor, task).await
}

/// Moves a task along its lifecycle (SPEC §4).
///
/// Start, pause, resume and complete: assigned officers, supervisors and admins. Cancel:
/// supervisors and admins, with a reason. Side effects: starting sets `actual_start` and puts
/// the officers `on_task` (as does resuming, for any who were moved meanwhile); pausing sets
/// `paused_at`; resuming adds the pause to `paused_seconds`; completing closes an open pause
/// and sets `actual_end`; cancelling closes an open pause and sets `actual_end` if the task
/// had started; completing and cancelling free the officers.
pub async fn transition(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    to: TaskStatus,
    reason: Option<String>,
) -> AppResult<TaskDetail> {
    let operates_any = if to == TaskStatus::Cancelled {
        require(actor, Capability::ManageTasks)?;
        true
    } else if require(actor, Capability::OperateAnyTask).is_ok() {
        true
    } else {
        // Only their own tasks: an officer profile and a token that may write.
        require_write(actor)?;
        if actor.officer_id.is_none() {
            return Err(AppError::Forbidden);
        }
        false
    };
    let reason = clean(reason);
    let mut errors = Errors::default();
    if to == TaskStatus::Cancelled && reason.is_none() {
        errors.add("reason", "Indique el motivo de la cancelación.");
    }
    check_len(&mut errors, "reason", reason.as_deref(), REASON_MAX, "El motivo es demasiado largo.");
    errors.finish()?;

    let mut txn = WriteTxn::begin(state).await?;
    let before = find_for_update(&txn, id).await?;
    let assigned = match actor.officer_id {
        Some(officer_id) => is_assigned(&*txn, id, officer_id).await?,
        None => false,
    };
    if !operates_any && !assigned {
        // Someone else's task does not exist for an officer.
        return Err(AppError::NotFound);
    }
    let from = before.status;
    if !from.can_transition_to(to) {
        return Err(AppError::Conflict(format!(
            "La tarea {} está «{}»: no puede pasar a «{}».",
            before.code,
            from.label_es(),
            to.label_es()
        )));
    }

    let at = now();
    let mut active: tasks::ActiveModel = before.clone().into();
    let open_pause = before.paused_at.map(|p| (at - p).num_seconds().max(0));
    match to {
        TaskStatus::InProgress if from == TaskStatus::Scheduled => active.actual_start = Set(Some(at)),
        TaskStatus::InProgress | TaskStatus::Completed | TaskStatus::Cancelled => {
            if let Some(paused) = open_pause {
                active.paused_seconds = Set(before.paused_seconds + paused);
                active.paused_at = Set(None);
            }
            if to == TaskStatus::Completed || (to == TaskStatus::Cancelled && before.actual_start.is_some()) {
                active.actual_end = Set(Some(at));
            }
        }
        TaskStatus::Paused => active.paused_at = Set(Some(at)),
        TaskStatus::Scheduled => {}
    }
    active.status = Set(to);
    active.updated_at = Set(at);
    let after = active.update(&*txn).await?;
    add_history(&txn, id, Some(from), to, actor, reason.clone(), at).await?;

    let officer_ids = assigned_officer_ids(&*txn, id).await?;
    let (on_task, freed) = match to {
        TaskStatus::InProgress => (occupy_officers(&mut txn, &officer_ids, at).await?, Vec::new()),
        s if s.is_final() => (Vec::new(), free_officers(&mut txn, id, &officer_ids, at).await?),
        _ => (Vec::new(), Vec::new()),
    };
    let entry = AuditEntry::new("task.transition", "task", id).before(snapshot(&before)).after(json!({
        "task": snapshot(&after),
        "reason": reason,
        "on_task_officer_ids": on_task,
        "freed_officer_ids": freed,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskStatusChanged {
        task_id: id,
        code: after.code.clone(),
        from,
        to,
        by_user_id: Some(actor.user_id),
    });
    txn.commit().await?;
    load_detail(state, actor, after).await
}

// ----------------------------------------------------------------------------------- reading

/// One task as `actor` may see it (officers: only tasks assigned to them).
pub async fn detail(state: &AppState, actor: &Actor, id: i64) -> AppResult<TaskDetail> {
    let task = find_visible(&state.db, actor, id).await?;
    load_detail(state, actor, task).await
}

/// Full names of the given users that are not deleted.
async fn user_names(db: &impl ConnectionTrait, ids: Vec<i64>) -> AppResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .filter(users::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, format!("{} {}", u.first_name, u.last_name)))
        .collect())
}

/// The detail of `task` for `actor`, without a visibility check (callers have done it).
pub(crate) async fn load_detail(state: &AppState, actor: &Actor, task: tasks::Model) -> AppResult<TaskDetail> {
    let db = &state.db;
    let tz = state.config.timezone;
    let assignments: Vec<TaskAssignmentInfo> = task_assignments::Entity::find()
        .filter(task_assignments::Column::TaskId.eq(task.id))
        .find_also_related(officers::Entity)
        .order_by_asc(task_assignments::Column::AssignedAt)
        .order_by_asc(task_assignments::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(a, o)| {
            let o = o.filter(|o| o.deleted_at.is_none())?;
            Some(TaskAssignmentInfo {
                officer_id: o.id,
                code: o.code,
                name: format!("{} {}", o.first_name, o.last_name),
                status: o.status,
                assigned_at: a.assigned_at,
                assigned_at_local: local_time(a.assigned_at, tz),
                overlap_override: a.overlap_override,
            })
        })
        .collect();
    let rows = task_status_history::Entity::find()
        .filter(task_status_history::Column::TaskId.eq(task.id))
        .order_by_asc(task_status_history::Column::CreatedAt)
        .order_by_asc(task_status_history::Column::Id)
        .all(db)
        .await?;
    let mut people: Vec<i64> = rows.iter().filter_map(|h| h.changed_by).collect();
    people.extend(task.supervisor_id);
    people.push(task.created_by);
    let names = user_names(db, people).await?;
    let history = rows
        .into_iter()
        .map(|h| TaskHistoryEntry {
            from: h.from_status,
            to: h.to_status,
            by_user_id: h.changed_by,
            by: h.changed_by.and_then(|id| names.get(&id).cloned()),
            channel: h.channel,
            reason: h.reason,
            at: h.created_at,
            at_local: local_time(h.created_at, tz),
        })
        .collect();
    let assigned = actor.officer_id.is_some_and(|me| assignments.iter().any(|a| a.officer_id == me));
    let can_manage = may_manage(actor);
    let allowed_transitions = task
        .status
        .next_statuses()
        .filter(|to| if *to == TaskStatus::Cancelled { can_manage } else { may_operate(actor, assigned) })
        .collect();
    let duration_seconds = match (task.actual_start, task.actual_end) {
        (Some(start), Some(end)) => Some(((end - start).num_seconds() - task.paused_seconds).max(0)),
        _ => None,
    };
    Ok(TaskDetail {
        id: task.id,
        scheduled_start_local: task.scheduled_start.map(|t| local_time(t, tz)),
        scheduled_end_local: task.scheduled_end.map(|t| local_time(t, tz)),
        actual_start_local: task.actual_start.map(|t| local_time(t, tz)),
        actual_end_local: task.actual_end.map(|t| local_time(t, tz)),
        supervisor: task.supervisor_id.and_then(|id| names.get(&id).cloned()),
        created_by_name: names.get(&task.created_by).cloned(),
        code: task.code,
        title: task.title,
        description: task.description,
        task_type: task.task_type,
        priority: task.priority,
        status: task.status,
        scheduled_start: task.scheduled_start,
        scheduled_end: task.scheduled_end,
        actual_start: task.actual_start,
        actual_end: task.actual_end,
        paused_at: task.paused_at,
        paused_seconds: task.paused_seconds,
        duration_seconds,
        supervisor_id: task.supervisor_id,
        created_by: task.created_by,
        lat: task.lat,
        lon: task.lon,
        location_text: task.location_text,
        notes: task.notes,
        created_at: task.created_at,
        updated_at: task.updated_at,
        assignments,
        history,
        allowed_transitions,
        can_manage,
    })
}

/// Tasks the actor may see in `scope`: `Mine` is what they are assigned to (and, for
/// supervisors, what they are in charge of); `All` needs [`Capability::SeeAllTasks`].
pub async fn list(state: &AppState, actor: &Actor, scope: TaskScope) -> AppResult<Vec<TaskSummary>> {
    if scope == TaskScope::All {
        require(actor, Capability::SeeAllTasks)?;
    }
    let mut query = tasks::Entity::find().filter(tasks::Column::DeletedAt.is_null());
    if scope == TaskScope::Mine {
        let mut mine = Condition::any();
        if let Some(officer_id) = actor.officer_id {
            mine = mine.add(assigned_to(officer_id));
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

/// Officers (id, full name) of each task, not deleted, in assignment order.
async fn officers_by_task(db: &impl ConnectionTrait, ids: Vec<i64>) -> AppResult<HashMap<i64, Vec<(i64, String)>>> {
    let mut out: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    // Chunks keep the IN list far below the backends' parameter limits.
    for chunk in ids.chunks(500) {
        let rows = task_assignments::Entity::find()
            .filter(task_assignments::Column::TaskId.is_in(chunk.to_vec()))
            .find_also_related(officers::Entity)
            .order_by_asc(task_assignments::Column::Id)
            .all(db)
            .await?;
        for (assignment, officer) in rows {
            if let Some(o) = officer.filter(|o| o.deleted_at.is_none()) {
                out.entry(assignment.task_id).or_default().push((o.id, format!("{} {}", o.first_name, o.last_name)));
            }
        }
    }
    Ok(out)
}

/// Rows → DTOs, with officer and supervisor names fetched in two queries.
async fn summarize(state: &AppState, rows: Vec<tasks::Model>) -> AppResult<Vec<TaskSummary>> {
    let db = &state.db;
    let mut officers = officers_by_task(db, rows.iter().map(|t| t.id).collect()).await?;
    let mut supervisor_ids: Vec<i64> = rows.iter().filter_map(|t| t.supervisor_id).collect();
    supervisor_ids.sort_unstable();
    supervisor_ids.dedup();
    let supervisors = user_names(db, supervisor_ids).await?;
    let tz = state.config.timezone;
    Ok(rows
        .into_iter()
        .map(|t| {
            let (officer_ids, officers) = officers.remove(&t.id).unwrap_or_default().into_iter().unzip();
            TaskSummary {
                id: t.id,
                officers,
                officer_ids,
                supervisor: t.supervisor_id.and_then(|id| supervisors.get(&id).cloned()),
                supervisor_id: t.supervisor_id,
                scheduled_start: t.scheduled_start.map(|at| local_time(at, tz)),
                scheduled_start_at: t.scheduled_start,
                scheduled_end_at: t.scheduled_end,
                created_at: t.created_at,
                code: t.code,
                title: t.title,
                task_type: t.task_type,
                priority: t.priority,
                status: t.status,
                lat: t.lat,
                lon: t.lon,
                location_text: t.location_text,
            }
        })
        .collect())
}

/// The first instant of `day` in `tz` (the earliest, should the day start in a DST gap).
fn start_of_day(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let local = tz.from_local_datetime(&midnight);
    match local.earliest() {
        Some(t) => t.with_timezone(&Utc),
        // A gap at midnight: the day starts an hour later.
        None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| midnight.and_utc()),
    }
}

/// `text` as a LIKE pattern matching it anywhere, with its own `%`, `_` and `\` literal.
fn contains_pattern(text: &str) -> LikeExpr {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    LikeExpr::new(escaped).escape('\\')
}

/// The tasks `actor` may see that match `filter` (no order, no page), or `None` when the
/// actor can see nothing at all.
fn filtered(state: &AppState, actor: &Actor, filter: &TaskFilter) -> AppResult<Option<Select<tasks::Entity>>> {
    use sea_orm::sea_query::ExprTrait;
    let mut errors = Errors::default();
    for (field, day) in [("date_from", filter.date_from), ("date_to", filter.date_to)] {
        if day.is_some_and(|d| !super::day_in_range(d)) {
            errors.add(field, super::DAY_OUT_OF_RANGE);
        }
    }
    if let (Some(from), Some(to)) = (filter.date_from, filter.date_to)
        && to < from
    {
        errors.add("date_to", "La fecha final debe ser igual o posterior a la inicial.");
    }
    let text = clean(filter.text.clone()).map(|t| t.to_lowercase());
    check_len(&mut errors, "text", text.as_deref(), SEARCH_MAX, "El texto de búsqueda es demasiado largo.");
    errors.finish()?;

    let mut query = tasks::Entity::find().filter(tasks::Column::DeletedAt.is_null());
    match TaskVisibility::of(actor) {
        TaskVisibility::Nothing => return Ok(None),
        visibility => {
            if let Some(visible) = visibility.condition() {
                query = query.filter(visible);
            }
        }
    }
    if !filter.statuses.is_empty() {
        query = query.filter(tasks::Column::Status.is_in(filter.statuses.clone()));
    }
    if let Some(task_type) = filter.task_type {
        query = query.filter(tasks::Column::TaskType.eq(task_type));
    }
    if let Some(priority) = filter.priority {
        query = query.filter(tasks::Column::Priority.eq(priority));
    }
    if let Some(supervisor_id) = filter.supervisor_id {
        query = query.filter(tasks::Column::SupervisorId.eq(supervisor_id));
    }
    if let Some(officer_id) = filter.officer_id {
        query = query.filter(assigned_to(officer_id));
    }
    let tz = state.config.timezone;
    if let Some(from) = filter.date_from {
        query = query.filter(tasks::Column::ScheduledStart.gte(start_of_day(from, tz)));
    }
    if let Some(to) = filter.date_to {
        let next = to.succ_opt().unwrap_or(to);
        query = query.filter(tasks::Column::ScheduledStart.lt(start_of_day(next, tz)));
    }
    if let Some(text) = text {
        let like = |col: tasks::Column| Expr::expr(Func::lower(Expr::col(col))).like(contains_pattern(&text));
        query = query.filter(
            Condition::any()
                .add(like(tasks::Column::Code))
                .add(like(tasks::Column::Title))
                .add(like(tasks::Column::Description)),
        );
    }
    Ok(Some(query))
}

/// The value a task is sorted by.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum SortKey {
    Rank(i64),
    Time(DateTime<Utc>),
    Text(String),
}

/// What a cursor encodes: the sort it belongs to and the last row's key and id.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    s: String,
    d: bool,
    k: Option<SortKey>,
    i: i64,
}

fn priority_rank(p: TaskPriority) -> i64 {
    p as i64
}

/// `CASE priority WHEN 'low' THEN 0 … END`: priorities in their natural order.
fn priority_rank_expr() -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::ExprTrait;
    let mut case = sea_orm::sea_query::CaseStatement::new();
    for p in TaskPriority::ALL {
        case = case.case(Expr::col(tasks::Column::Priority).eq(p.as_str()), priority_rank(*p));
    }
    case.finally(-1).into()
}

fn sort_key(sort: TaskSort, t: &tasks::Model) -> Option<SortKey> {
    match sort {
        TaskSort::ScheduledStart => t.scheduled_start.map(SortKey::Time),
        TaskSort::Priority => Some(SortKey::Rank(priority_rank(t.priority))),
        TaskSort::CreatedAt => Some(SortKey::Time(t.created_at)),
        TaskSort::Code => Some(SortKey::Text(t.code.clone())),
    }
}

fn encode_cursor(filter: &TaskFilter, t: &tasks::Model) -> String {
    let cursor = Cursor { s: filter.sort.as_str().into(), d: filter.descending, k: sort_key(filter.sort, t), i: t.id };
    hex::encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode_cursor(filter: &TaskFilter, text: &str) -> AppResult<Cursor> {
    let invalid = || AppError::validation("cursor", "El cursor no es válido para esta consulta.");
    let bytes = hex::decode(text).map_err(|_| invalid())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let key_fits = matches!(
        (filter.sort, &cursor.k),
        (TaskSort::ScheduledStart, None | Some(SortKey::Time(_)))
            | (TaskSort::CreatedAt, Some(SortKey::Time(_)))
            | (TaskSort::Priority, Some(SortKey::Rank(_)))
            | (TaskSort::Code, Some(SortKey::Text(_)))
    );
    if cursor.s != filter.sort.as_str() || cursor.d != filter.descending || !key_fits {
        return Err(invalid());
    }
    Ok(cursor)
}

/// Orders by the sort key (absent keys last), then id, and continues after `cursor`.
fn ordered(mut query: Select<tasks::Entity>, filter: &TaskFilter, cursor: Option<Cursor>) -> Select<tasks::Entity> {
    use sea_orm::sea_query::ExprTrait;
    let (key, nullable): (sea_orm::sea_query::SimpleExpr, bool) = match filter.sort {
        TaskSort::ScheduledStart => (Expr::col(tasks::Column::ScheduledStart), true),
        TaskSort::Priority => (priority_rank_expr(), false),
        TaskSort::CreatedAt => (Expr::col(tasks::Column::CreatedAt), false),
        TaskSort::Code => (Expr::col(tasks::Column::Code), false),
    };
    let order = if filter.descending { Order::Desc } else { Order::Asc };
    if let Some(cursor) = cursor {
        let id = Expr::col(tasks::Column::Id);
        let after_id = if filter.descending { id.lt(cursor.i) } else { id.gt(cursor.i) };
        let condition = match cursor.k {
            None => Condition::all().add(key.clone().is_null()).add(after_id),
            Some(k) => {
                let value: sea_orm::Value = match k {
                    SortKey::Rank(r) => r.into(),
                    SortKey::Time(t) => t.into(),
                    SortKey::Text(s) => s.into(),
                };
                let beyond =
                    if filter.descending { key.clone().lt(value.clone()) } else { key.clone().gt(value.clone()) };
                let mut c = Condition::any().add(beyond).add(Condition::all().add(key.clone().eq(value)).add(after_id));
                if nullable {
                    c = c.add(key.clone().is_null());
                }
                c
            }
        };
        query = query.filter(condition);
    }
    if nullable {
        query = query.order_by(key.clone().is_null(), Order::Asc);
    }
    query.order_by(key, order.clone()).order_by(tasks::Column::Id, order)
}

/// Filtered, sorted, keyset-paginated tasks (officers: only their own, whatever the filter).
/// Served from [`crate::cache`] per viewer scope and filter: any write or event makes
/// the next request recompute.
pub async fn query(state: &AppState, actor: &Actor, filter: TaskFilter) -> AppResult<Page<TaskSummary>> {
    query_shared(state, actor, filter).await.map(std::sync::Arc::unwrap_or_clone)
}

/// `query`, shared with the view cache instead of copied (for pages rendered on the server).
pub async fn query_shared(
    state: &AppState,
    actor: &Actor,
    filter: TaskFilter,
) -> AppResult<std::sync::Arc<Page<TaskSummary>>> {
    let key = (crate::services::activity::ScopeKey::of(actor), filter.clone());
    let compute = || async { compute_query(state, actor, filter).await.map(std::sync::Arc::new) };
    state.caches.tasks.get_or_compute(&state.events, key, compute).await
}

async fn compute_query(state: &AppState, actor: &Actor, filter: TaskFilter) -> AppResult<Page<TaskSummary>> {
    let limit = filter.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let cursor = match clean(filter.cursor.clone()) {
        Some(text) => Some(decode_cursor(&filter, &text)?),
        None => None,
    };
    let Some(query) = filtered(state, actor, &filter)? else {
        return Ok(Page { items: Vec::new(), next_cursor: None });
    };
    let mut rows = ordered(query, &filter, cursor).limit(u64::from(limit) + 1).all(&state.db).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|t| encode_cursor(&filter, t)) } else { None };
    Ok(Page { items: summarize(state, rows).await?, next_cursor })
}

/// Every task matching `filter` (in its order; cursor and page size ignored, at most
/// [`EXPORT_LIMIT`] rows) as CSV with a Spanish header and times in the configured zone.
pub async fn export_csv(state: &AppState, actor: &Actor, filter: TaskFilter) -> AppResult<String> {
    const HEADER: [&str; 17] = [
        "Código",
        "Título",
        "Tipo",
        "Prioridad",
        "Estado",
        "Inicio programado",
        "Fin programado",
        "Inicio real",
        "Fin real",
        "Duración (min)",
        "Delegado",
        "Efectivos",
        "Ubicación",
        "Latitud",
        "Longitud",
        "Descripción",
        "Notas",
    ];
    let mut out = String::new();
    let push_row = |out: &mut String, fields: &[(String, bool)]| {
        for (i, (value, free_text)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(out, value, *free_text);
        }
        out.push_str("\r\n");
    };
    push_row(&mut out, &HEADER.map(|h| (h.to_owned(), false)));
    let Some(query) = filtered(state, actor, &filter)? else { return Ok(out) };
    let rows = ordered(query, &filter, None).limit(EXPORT_LIMIT + 1).all(&state.db).await?;
    if rows.len() as u64 > EXPORT_LIMIT {
        return Err(AppError::validation(
            "",
            "La exportación supera las 10000 tareas; restrinja los filtros e intente nuevamente.",
        ));
    }
    let officers = officers_by_task(&state.db, rows.iter().map(|t| t.id).collect()).await?;
    let mut supervisor_ids: Vec<i64> = rows.iter().filter_map(|t| t.supervisor_id).collect();
    supervisor_ids.sort_unstable();
    supervisor_ids.dedup();
    let supervisors = user_names(&state.db, supervisor_ids).await?;
    let tz = state.config.timezone;
    let time = |t: Option<DateTime<Utc>>| t.map(|t| local_time(t, tz)).unwrap_or_default();
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    for t in rows {
        let minutes = match (t.actual_start, t.actual_end) {
            (Some(s), Some(e)) => (((e - s).num_seconds() - t.paused_seconds).max(0) / 60).to_string(),
            _ => String::new(),
        };
        let names: Vec<String> =
            officers.get(&t.id).map(|v| v.iter().map(|(_, n)| n.clone()).collect()).unwrap_or_default();
        push_row(
            &mut out,
            &[
                (t.code.clone(), true),
                (t.title.clone(), true),
                (t.task_type.label_es().into(), false),
                (t.priority.label_es().into(), false),
                (t.status.label_es().into(), false),
                (time(t.scheduled_start), false),
                (time(t.scheduled_end), false),
                (time(t.actual_start), false),
                (time(t.actual_end), false),
                (minutes, false),
                (t.supervisor_id.and_then(|id| supervisors.get(&id).cloned()).unwrap_or_default(), true),
                (names.join("; "), true),
                (text(&t.location_text), true),
                (t.lat.map(|v| v.to_string()).unwrap_or_default(), false),
                (t.lon.map(|v| v.to_string()).unwrap_or_default(), false),
                (text(&t.description), true),
                (text(&t.notes), true),
            ],
        );
    }
    Ok(out)
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
