//! The shared steps of every task write: the code, the row, its history, its officers and
//! their statuses.

use super::*;

/// A new task's code, taken before its write transaction begins.
///
/// On PostgreSQL the number is taken in a statement of its own, as from a sequence: the
/// counter's row is locked for that statement only, so creations of one type do not queue
/// behind each other's transactions, and a creation that fails leaves a gap. That statement
/// commits without waiting for its WAL to reach the disk ([`take_number_pg`]). On SQLite,
/// whose writes are serial anyway, it is taken in the transaction ([`CodeTicket::code`]).
pub(crate) async fn take_code(state: &AppState, task_type: TaskType, year: i32) -> AppResult<CodeTicket> {
    Ok(match state.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let prefix = code_prefix(task_type, year);
            let number = take_number_pg(&state.db, &prefix).await?;
            CodeTicket::Taken(format!("{prefix}{number:04}"))
        }
        _ => CodeTicket::InTransaction(task_type, year),
    })
}

/// See [`take_code`].
pub(crate) enum CodeTicket {
    Taken(String),
    InTransaction(TaskType, i32),
}

impl CodeTicket {
    /// The code, taken now in `txn` if it was not taken before.
    pub(crate) async fn code(self, txn: &WriteTxn) -> AppResult<String> {
        match self {
            CodeTicket::Taken(code) => Ok(code),
            CodeTicket::InTransaction(task_type, year) => {
                let conn: &sea_orm::DatabaseTransaction = txn;
                next_code(conn, task_type, year).await
            }
        }
    }
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
    // The due times are written with the row (what `sla::apply` would compute right after):
    // the acknowledge clock starts with the first officers, if any.
    let targets = crate::services::sla::targets_for(db, row.task_type, row.priority).await?;
    let first_assigned = (!officer_ids.is_empty()).then_some(at);
    let (ack, start, finish) = crate::services::sla::due_from(row.scheduled_start, at, targets, first_assigned);
    let ack = ack.filter(|_| first_assigned.is_some());
    let task = tasks::ActiveModel {
        ack_due_at: Set(ack),
        start_due_at: Set(start),
        finish_due_at: Set(finish),
        sla_due_at: Set([ack, start, finish].into_iter().flatten().min()),
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

pub(super) async fn add_history(
    txn: &WriteTxn,
    task_id: i64,
    from: Option<TaskStatus>,
    to: TaskStatus,
    actor: &Actor,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let row = task_status_history::ActiveModel {
        task_id: Set(task_id),
        from_status: Set(from),
        to_status: Set(to),
        changed_by: Set(Some(actor.user_id)),
        channel: Set(actor.channel),
        reason: Set(reason),
        created_at: Set(at),
        ..Default::default()
    };
    txn.stage(sea_orm::QueryTrait::into_query(task_status_history::Entity::insert(row))).await
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

/// `EF-001 Martín Sosa, EF-002 Carla Benítez`: officers as the history names them.
pub(crate) fn officer_names(officers: &[officers::Model]) -> String {
    let names: Vec<String> = officers.iter().map(|o| format!("{} {} {}", o.code, o.first_name, o.last_name)).collect();
    names.join(", ")
}

/// The history note for assignments made with an overlap override.
pub(crate) fn override_note(officers: &[officers::Model]) -> String {
    let codes: Vec<&str> = officers.iter().map(|o| o.code.as_str()).collect();
    format!("Superposición de horario autorizada para: {}", codes.join(", "))
}

pub(super) async fn assigned_officer_ids(db: &impl ConnectionTrait, task_id: i64) -> AppResult<Vec<i64>> {
    Ok(task_assignments::Entity::find()
        .select_only()
        .column(task_assignments::Column::OfficerId)
        .filter(task_assignments::Column::TaskId.eq(task_id))
        .order_by_asc(task_assignments::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

pub(super) async fn set_officer_status(
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

/// Whether `task` keeps its assigned officers `on_task`: while it is worked on (in progress or
/// paused), and an emergency from its dispatch on (still scheduled: the officer is on the way,
/// and must not be sent to the next emergency as if free).
pub(crate) fn occupies_officers(task: &tasks::Model) -> bool {
    task.status.is_active() || (task.task_type == TaskType::Emergency && task.status == TaskStatus::Scheduled)
}

/// [`occupies_officers`] as a condition on `tasks` (deleted tasks occupy nobody).
fn occupying() -> sea_orm::Condition {
    sea_orm::Condition::all().add(tasks::Column::DeletedAt.is_null()).add(
        sea_orm::Condition::any().add(tasks::Column::Status.is_in([TaskStatus::InProgress, TaskStatus::Paused])).add(
            sea_orm::Condition::all()
                .add(tasks::Column::TaskType.eq(TaskType::Emergency))
                .add(tasks::Column::Status.eq(TaskStatus::Scheduled)),
        ),
    )
}

/// The code of a task that keeps `officer_id` `on_task` ([`occupies_officers`]), if any.
pub(crate) async fn occupied_by(db: &impl ConnectionTrait, officer_id: i64) -> AppResult<Option<String>> {
    Ok(tasks::Entity::find()
        .select_only()
        .column(tasks::Column::Code)
        .inner_join(task_assignments::Entity)
        .filter(task_assignments::Column::OfficerId.eq(officer_id))
        .filter(occupying())
        .order_by_asc(tasks::Column::Id)
        .into_tuple::<String>()
        .one(db)
        .await?)
}

/// Which officers [`occupy_officers`] puts on a task.
pub(crate) enum Occupying<'a> {
    /// These (newly assigned to an active task).
    These(&'a [i64]),
    /// Everyone assigned to this task (it starts or resumes).
    AssignedTo(i64),
}

/// Puts officers `on_task` (those not already) with one update. Returns who changed, by id.
///
/// The update names the officers by a list of ids, not a subquery: PostgreSQL then locks
/// their rows in id order (an index scan sorts the list), so two tasks sharing officers,
/// started at once, cannot deadlock on them.
pub(crate) async fn occupy_officers(txn: &mut WriteTxn, who: Occupying<'_>, at: DateTime<Utc>) -> AppResult<Vec<i64>> {
    use sea_orm::{ConnectionTrait, QueryTrait};
    let ids = match who {
        Occupying::These(ids) => ids.to_vec(),
        // Only those not on a task already (the update checks again under lock): after a
        // pause, most often nobody, and then nothing more is sent.
        Occupying::AssignedTo(task_id) => {
            task_assignments::Entity::find()
                .select_only()
                .column(task_assignments::Column::OfficerId)
                .inner_join(officers::Entity)
                .filter(task_assignments::Column::TaskId.eq(task_id))
                .filter(officers::Column::DeletedAt.is_null())
                .filter(officers::Column::Status.ne(OfficerStatus::OnTask))
                .order_by_asc(task_assignments::Column::OfficerId)
                .into_tuple()
                .all(&**txn)
                .await?
        }
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut update = officers::Entity::update_many()
        .col_expr(officers::Column::Status, Expr::value(OfficerStatus::OnTask.as_str()))
        .col_expr(officers::Column::StatusChangedAt, Expr::value(at))
        .col_expr(officers::Column::UpdatedAt, Expr::value(at))
        .filter(officers::Column::Id.is_in(ids))
        .filter(officers::Column::DeletedAt.is_null())
        .filter(officers::Column::Status.ne(OfficerStatus::OnTask))
        .into_query();
    update.returning_col(officers::Column::Id);
    let db: &sea_orm::DatabaseTransaction = txn;
    let mut ids = Vec::new();
    for row in db.query_all(&update).await? {
        ids.push(row.try_get_by_index::<i64>(0)?);
    }
    ids.sort_unstable();
    for &officer_id in &ids {
        txn.emit(Event::OfficerStatusChanged { officer_id, status: OfficerStatus::OnTask });
    }
    Ok(ids)
}

/// Frees officers of `task_id`: those `on_task` become `available` unless another task keeps
/// them ([`occupies_officers`]: in progress, paused, or an emergency they were dispatched to).
/// Officers off duty or unavailable are left alone. Returns who changed.
pub(super) async fn free_officers(
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
        .filter(occupying())
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

/// The next `<TYPE>-<YEAR>-<SEQ>` code: one upsert of the prefix's counter
/// (`task_code_counters`), which on PostgreSQL locks that one row until the transaction ends —
/// creations of other types or years do not wait, and the cost does not grow with the table.
pub async fn next_code(db: &impl ConnectionTrait, task_type: TaskType, year: i32) -> AppResult<String> {
    let prefix = code_prefix(task_type, year);
    let number = raise_counter(db, &prefix, None).await?;
    Ok(format!("{prefix}{number:04}"))
}

fn code_prefix(task_type: TaskType, year: i32) -> String {
    format!("{}-{year}-", task_type.code_prefix())
}

/// The next number of `prefix` on PostgreSQL, as its own transaction (the pool, never an open
/// transaction: the setting below would then hold for all of it), committed with
/// `synchronous_commit` off. Every creation of a type takes that one counter row, and a
/// commit that waits for its flush held the row's lock through a disk write: creations of a
/// type queued behind each other's flushes (2 ms a number at 16 connections, against the
/// 0.02 ms of the statement). Nothing is lost by not waiting: the task that uses the number
/// commits afterwards and does wait, and its flush carries every WAL record written before its
/// own, the counter's included; a crash before that loses at most numbers that no committed
/// task holds, which are then taken again.
async fn take_number_pg(db: &sea_orm::DatabaseConnection, prefix: &str) -> AppResult<i64> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "INSERT INTO task_code_counters (prefix, last_value) \
             SELECT $1, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait \
             ON CONFLICT (prefix) DO UPDATE SET last_value = task_code_counters.last_value + 1 \
             RETURNING last_value",
            [prefix.into()],
        ))
        .await?
        .ok_or_else(|| AppError::internal("task code counter not returned"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// A code chosen by hand that looks generated (`PAT-2026-0500`) moves its prefix's counter
/// past it, so no later generated code collides with it.
pub(crate) async fn note_custom_code(db: &impl ConnectionTrait, code: &str) -> AppResult<()> {
    if let Some((prefix, number)) = migrations::split_task_code(code) {
        raise_counter(db, prefix, Some(number)).await?;
    }
    Ok(())
}

/// The codes a bulk import is about to write (`gad import`), noted before any task is: each
/// prefix's counter is raised once, to its highest number, instead of once per task (on
/// PostgreSQL one row updated per task in one transaction leaves a version behind for every
/// later update to walk, and 100 000 tasks went quadratic). Raised first, so a task created
/// meanwhile waits for the import and then takes a number after all of its codes, as it does
/// after one custom code. Codes of rows later refused only leave a gap in the numbers.
pub(crate) async fn reserve_custom_codes(
    db: &impl ConnectionTrait,
    codes: impl IntoIterator<Item = String>,
) -> AppResult<()> {
    // Ordered by prefix: concurrent imports lock the counters in the same order.
    let mut highest: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for code in codes {
        let mut errors = crate::validate::Errors::new();
        check_code(&mut errors, &code);
        if !errors.is_empty() {
            continue; // refused later, with its reason
        }
        if let Some((prefix, number)) = migrations::split_task_code(&code) {
            let top = highest.entry(prefix.to_owned()).or_insert(number);
            *top = (*top).max(number);
        }
    }
    for (prefix, number) in highest {
        raise_counter(db, &prefix, Some(number)).await?;
    }
    Ok(())
}

/// Increments the counter of `prefix` (creating it at 1), or with `at_least` raises it to that
/// value if lower; returns the new value.
async fn raise_counter(db: &impl ConnectionTrait, prefix: &str, at_least: Option<i64>) -> AppResult<i64> {
    let backend = db.get_database_backend();
    let (p1, p2, greatest) = match backend {
        DatabaseBackend::Postgres => ("$1", "$2", "GREATEST"),
        _ => ("?", "?", "MAX"),
    };
    let sql = match at_least {
        None => format!(
            "INSERT INTO task_code_counters (prefix, last_value) VALUES ({p1}, 1) \
             ON CONFLICT (prefix) DO UPDATE SET last_value = task_code_counters.last_value + 1 \
             RETURNING last_value"
        ),
        Some(_) => format!(
            "INSERT INTO task_code_counters (prefix, last_value) VALUES ({p1}, {p2}) \
             ON CONFLICT (prefix) DO UPDATE SET last_value = {greatest}(task_code_counters.last_value, excluded.last_value) \
             RETURNING last_value"
        ),
    };
    let mut values: Vec<sea_orm::Value> = vec![prefix.into()];
    if let Some(n) = at_least {
        values.push(n.into());
    }
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .ok_or_else(|| AppError::internal("task code counter not returned"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}
