//! Reading tasks: one task's detail, the lists, and the filtered keyset-paginated query.

use super::*;
use crate::services::activity::ScopeKey;

// ----------------------------------------------------------------------------------- reading

/// One task as `actor` may see it (officers: only tasks assigned to them).
pub async fn detail(state: &AppState, actor: &Actor, id: i64) -> AppResult<TaskDetail> {
    let task = find_visible(&state.db, actor, id).await?;
    load_detail(state, &state.db, actor, task).await
}

/// Full names of the given users that are not deleted, for the lists and a task's page: the
/// supervisors' and admins' from [`staff_names`] (cached), anyone else's read.
pub(super) async fn names_of(
    state: &AppState,
    db: &impl ConnectionTrait,
    mut ids: Vec<i64>,
) -> AppResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let staff = staff_names(state).await?;
    let mut names = HashMap::new();
    ids.retain(|id| match staff.get(id) {
        Some(name) => {
            names.insert(*id, name.clone());
            false
        }
        None => true,
    });
    names.extend(user_names(db, ids).await?);
    Ok(names)
}

/// The names of every supervisor and admin not deleted — the people tasks name as their
/// supervisor, and most authors of their history — kept in `Caches::staff_names`, which
/// follows the accounts like the actors.
async fn staff_names(state: &AppState) -> AppResult<std::sync::Arc<HashMap<i64, String>>> {
    state
        .caches
        .staff_names
        .get_or_compute(&state.events, (), || async {
            let rows: Vec<(i64, String, String)> = users::Entity::find()
                .select_only()
                .columns([users::Column::Id, users::Column::FirstName, users::Column::LastName])
                .filter(users::Column::Role.ne(Role::Officer))
                .filter(users::Column::DeletedAt.is_null())
                .into_tuple()
                .all(&state.db)
                .await?;
            Ok(std::sync::Arc::new(rows.into_iter().map(|(id, first, last)| (id, format!("{first} {last}"))).collect()))
        })
        .await
}

/// Full names of the given users that are not deleted.
pub(super) async fn user_names(db: &impl ConnectionTrait, ids: Vec<i64>) -> AppResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, String)> = users::Entity::find()
        .select_only()
        .columns([users::Column::Id, users::Column::FirstName, users::Column::LastName])
        .filter(users::Column::Id.is_in(ids))
        .filter(users::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, first, last)| (id, format!("{first} {last}"))).collect())
}

/// One row of a task's detail as [`load_detail`] reads it: an assignment with its officer
/// (`kind` 0) or a history entry with its author (`kind` 1). The columns one kind lacks are
/// NULL; `person_*` is the officer or the author.
#[derive(sea_orm::FromQueryResult)]
struct DetailRow {
    kind: i32,
    id: i64,
    at: DateTime<Utc>,
    person_id: Option<i64>,
    first_name: Option<String>,
    last_name: Option<String>,
    person_deleted_at: Option<DateTime<Utc>>,
    officer_code: Option<String>,
    officer_status: Option<OfficerStatus>,
    overlap_override: Option<bool>,
    from_status: Option<TaskStatus>,
    to_status: Option<TaskStatus>,
    channel: Option<contract::domain::Channel>,
    reason: Option<String>,
}

/// A task's assignments (officers not deleted) and its history (with each author's name), in
/// one statement: every write answers with the detail, so this is one round trip of each.
fn detail_rows_query(task_id: i64) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, ExprTrait, Query, UnionType};
    let none_text = || Expr::val(Option::<String>::None);
    let (a, o, h, u) = (task_assignments::Entity, officers::Entity, task_status_history::Entity, users::Entity);
    let mut assignments = Query::select();
    assignments
        .expr_as(Expr::val(0i32), Alias::new("kind"))
        .expr_as(Expr::col((a, task_assignments::Column::Id)), Alias::new("id"))
        .expr_as(Expr::col((a, task_assignments::Column::AssignedAt)), Alias::new("at"))
        .expr_as(Expr::col((o, officers::Column::Id)), Alias::new("person_id"))
        .expr_as(Expr::col((o, officers::Column::FirstName)), Alias::new("first_name"))
        .expr_as(Expr::col((o, officers::Column::LastName)), Alias::new("last_name"))
        .expr_as(Expr::val(Option::<DateTime<Utc>>::None), Alias::new("person_deleted_at"))
        .expr_as(Expr::col((o, officers::Column::Code)), Alias::new("officer_code"))
        .expr_as(Expr::col((o, officers::Column::Status)), Alias::new("officer_status"))
        .expr_as(Expr::col((a, task_assignments::Column::OverlapOverride)), Alias::new("overlap_override"))
        .expr_as(none_text(), Alias::new("from_status"))
        .expr_as(none_text(), Alias::new("to_status"))
        .expr_as(none_text(), Alias::new("channel"))
        .expr_as(none_text(), Alias::new("reason"))
        .from(a)
        .inner_join(o, Expr::col((o, officers::Column::Id)).equals((a, task_assignments::Column::OfficerId)))
        .and_where(Expr::col((a, task_assignments::Column::TaskId)).eq(task_id))
        .and_where(Expr::col((o, officers::Column::DeletedAt)).is_null());
    let mut history = Query::select();
    history
        .expr(Expr::val(1i32))
        .column((h, task_status_history::Column::Id))
        .column((h, task_status_history::Column::CreatedAt))
        .column((h, task_status_history::Column::ChangedBy))
        .column((u, users::Column::FirstName))
        .column((u, users::Column::LastName))
        .column((u, users::Column::DeletedAt))
        .expr(none_text())
        .expr(none_text())
        .expr(Expr::val(Option::<bool>::None))
        .column((h, task_status_history::Column::FromStatus))
        .column((h, task_status_history::Column::ToStatus))
        .column((h, task_status_history::Column::Channel))
        .column((h, task_status_history::Column::Reason))
        .from(h)
        .left_join(u, Expr::col((u, users::Column::Id)).equals((h, task_status_history::Column::ChangedBy)))
        .and_where(Expr::col((h, task_status_history::Column::TaskId)).eq(task_id));
    assignments.union(UnionType::All, history);
    assignments
}

/// The detail of `task` for `actor`, without a visibility check (callers have done it), read
/// through `db`: a write passes its transaction, so the detail it answers with is read on the
/// connection it already holds (no other taken from the pool) and shows exactly what it wrote.
pub(crate) async fn load_detail(
    state: &AppState,
    db: &impl ConnectionTrait,
    actor: &Actor,
    task: tasks::Model,
) -> AppResult<TaskDetail> {
    let tz = state.config.timezone;
    use sea_orm::FromQueryResult;
    let statement = db.get_database_backend().build(&detail_rows_query(task.id));
    let mut rows = DetailRow::find_by_statement(statement).all(db).await?;
    // Assignments, then history, each oldest first (ties by id).
    rows.sort_unstable_by_key(|r| (r.kind, r.at, r.id));
    let history_rows = rows.split_off(rows.partition_point(|r| r.kind == 0));
    let missing = |what: &str| AppError::internal(format!("a detail row without its {what}"));
    let assignments = rows
        .into_iter()
        .map(|r| {
            Ok(TaskAssignmentInfo {
                officer_id: r.person_id.ok_or_else(|| missing("officer"))?,
                code: r.officer_code.ok_or_else(|| missing("officer code"))?,
                name: format!("{} {}", r.first_name.unwrap_or_default(), r.last_name.unwrap_or_default()),
                status: r.officer_status.ok_or_else(|| missing("officer status"))?,
                assigned_at: r.at,
                assigned_at_local: local_time(r.at, tz),
                overlap_override: r.overlap_override.unwrap_or(false),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    // The names of who changed the task come with its history; the supervisor's and the
    // creator's too when they changed it (the creator made the first row), else from one more.
    let mut names: HashMap<i64, String> = HashMap::new();
    for row in &history_rows {
        if let (Some(id), Some(first), Some(last), None) =
            (row.person_id, &row.first_name, &row.last_name, row.person_deleted_at)
        {
            names.insert(id, format!("{first} {last}"));
        }
    }
    let people: Vec<i64> = task
        .supervisor_id
        .into_iter()
        .chain([task.created_by])
        .filter(|id| !history_rows.iter().any(|r| r.person_id == Some(*id)))
        .collect();
    names.extend(names_of(state, db, people).await?);
    let history = history_rows
        .into_iter()
        .map(|h| {
            Ok(TaskHistoryEntry {
                from: h.from_status,
                to: h.to_status.ok_or_else(|| missing("status"))?,
                by_user_id: h.person_id,
                by: h.person_id.and_then(|id| names.get(&id).cloned()),
                channel: h.channel.ok_or_else(|| missing("channel"))?,
                reason: h.reason,
                at: h.at,
                at_local: local_time(h.at, tz),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
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
    let now = chrono::Utc::now();
    let deadlines = deadlines_of(&task, tz, now);
    let can_acknowledge =
        assigned && task.acknowledged_at.is_none() && task.actual_start.is_none() && !task.status.is_final();
    let acknowledged_at = task.acknowledged_at;
    Ok(TaskDetail {
        deadlines,
        acknowledged_at,
        can_acknowledge,
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

/// A task's deadlines, each with when it was met (acknowledging: confirming or starting).
fn deadlines_of(t: &tasks::Model, tz: chrono_tz::Tz, now: DateTime<Utc>) -> Vec<contract::tasks::Deadline> {
    use contract::sla::SlaTargetKind;
    let ack_met = match (t.acknowledged_at, t.actual_start) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    [
        (SlaTargetKind::Ack, t.ack_due_at, ack_met),
        (SlaTargetKind::Start, t.start_due_at, t.actual_start),
        (SlaTargetKind::Finish, t.finish_due_at, t.actual_end),
    ]
    .into_iter()
    .filter_map(|(kind, due, met)| {
        let due = due?;
        // A cancelled task's unmet deadlines are not late any more.
        let open = !t.status.is_final();
        let late = met.map_or(open && now > due, |m| m > due);
        Some(contract::tasks::Deadline { kind, due_at: due, due_local: local_time(due, tz), met_at: met, late })
    })
    .collect()
}

/// Tasks the actor may see in `scope`: `Mine` is what they are assigned to (and, for
/// supervisors, what they are in charge of); `All` needs [`Capability::SeeAllTasks`].
///
/// At most [`LIST_LIMIT`]: every open task first (soonest first), then the closed ones,
/// newest first — so a long history never pushes today's work out of the list the bot reads.
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
    let closed = [TaskStatus::Completed, TaskStatus::Cancelled];
    let mut rows = query
        .clone()
        .filter(tasks::Column::Status.is_not_in(closed))
        .order_by_asc(tasks::Column::ScheduledStart)
        .order_by_asc(tasks::Column::Id)
        .limit(LIST_LIMIT)
        .all(&state.db)
        .await?;
    let room = LIST_LIMIT.saturating_sub(rows.len() as u64);
    if room > 0 {
        rows.extend(
            query
                .filter(tasks::Column::Status.is_in(closed))
                .order_by_desc(tasks::Column::Id)
                .limit(room)
                .all(&state.db)
                .await?,
        );
    }
    summarize(state, rows).await
}

/// Officers (id, full name) of each task, not deleted, in assignment order.
pub(super) async fn officers_by_task(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> AppResult<HashMap<i64, Vec<(i64, String)>>> {
    let mut out: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    // Chunks keep the IN list far below the backends' parameter limits.
    for chunk in ids.chunks(500) {
        // Only the columns shown: a list page decodes no officer's whole row.
        let rows: Vec<(i64, i64, String, String)> = task_assignments::Entity::find()
            .select_only()
            .column(task_assignments::Column::TaskId)
            .column(officers::Column::Id)
            .column(officers::Column::FirstName)
            .column(officers::Column::LastName)
            .inner_join(officers::Entity)
            .filter(task_assignments::Column::TaskId.is_in(chunk.to_vec()))
            .filter(officers::Column::DeletedAt.is_null())
            .order_by_asc(task_assignments::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        for (task_id, officer_id, first_name, last_name) in rows {
            out.entry(task_id).or_default().push((officer_id, format!("{first_name} {last_name}")));
        }
    }
    Ok(out)
}

/// Rows → DTOs, with officer and supervisor names fetched in two queries.
pub(super) async fn summarize(state: &AppState, rows: Vec<tasks::Model>) -> AppResult<Vec<TaskSummary>> {
    let mut officers = officers_by_task(&state.db, rows.iter().map(|t| t.id).collect()).await?;
    let rows = rows
        .into_iter()
        .map(|t| {
            let of_task = officers.remove(&t.id).unwrap_or_default();
            (PageRow::from(t), of_task)
        })
        .collect();
    summaries(state, rows).await
}

/// Rows with their officers (id, name) → DTOs, the supervisors' names from [`names_of`]
/// (cached for staff).
async fn summaries(state: &AppState, rows: Vec<(PageRow, Vec<(i64, String)>)>) -> AppResult<Vec<TaskSummary>> {
    let mut supervisor_ids: Vec<i64> = rows.iter().filter_map(|(t, _)| t.supervisor_id).collect();
    supervisor_ids.sort_unstable();
    supervisor_ids.dedup();
    let supervisors = names_of(state, &state.db, supervisor_ids).await?;
    let tz = state.config.timezone;
    Ok(rows
        .into_iter()
        .map(|(t, of_task)| {
            let (officer_ids, officers) = of_task.into_iter().unzip();
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
                sla_due_at: t.sla_due_at,
            }
        })
        .collect())
}

/// The first instant of `day` in `tz` (the earliest, should the day start in a DST gap).
pub(super) fn start_of_day(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
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
pub(super) fn contains_pattern(text: &str) -> LikeExpr {
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

/// What a search looks for in `tasks.search_text`: the filter's text lowercased, without the
/// separator of its fields (m20261206_000022), so that it matches within one of them.
fn search_of(filter: &TaskFilter) -> Option<String> {
    clean(filter.text.clone()).map(|t| t.to_lowercase().replace(SEARCH_SEPARATOR, ""))
}

/// What separates the fields of `tasks.search_text`.
const SEARCH_SEPARATOR: char = '\u{1}';

/// The tasks `actor` may see that match `filter` (no order, no page), or `None` when the
/// actor can see nothing at all.
pub(super) fn filtered(
    state: &AppState,
    actor: &Actor,
    filter: &TaskFilter,
) -> AppResult<Option<Select<tasks::Entity>>> {
    use sea_orm::sea_query::ExprTrait;
    bound_key(filter)?;
    let mut errors = Errors::default();
    for (field, day) in [("date_from", filter.date_from), ("date_to", filter.date_to)] {
        if day.is_some_and(|d| !crate::services::day_in_range(d)) {
            errors.add(field, crate::services::DAY_OUT_OF_RANGE);
        }
    }
    if let (Some(from), Some(to)) = (filter.date_from, filter.date_to)
        && to < from
    {
        errors.add("date_to", "La fecha final debe ser igual o posterior a la inicial.");
    }
    let text = search_of(filter);
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
    if let Some(sla) = filter.sla {
        let now = chrono::Utc::now();
        query = match sla {
            contract::tasks::SlaFilter::Overdue => query.filter(tasks::Column::SlaDueAt.lte(now)),
            contract::tasks::SlaFilter::AtRisk => query
                .filter(tasks::Column::SlaDueAt.gt(now))
                .filter(tasks::Column::SlaDueAt.lte(now + crate::services::sla::AT_RISK)),
        };
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
        // The code, title and description, lowercased and separated by U+0001 (migration
        // m20261206_000022); on PostgreSQL, matched in `task_search`, which holds the trigram
        // index that a status change would otherwise add an entry to (m20261206_000023).
        use sea_orm::sea_query::{Alias, Query};
        query = match state.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => query.filter(
                tasks::Column::Id.in_subquery(
                    Query::select()
                        .column(Alias::new("task_id"))
                        .from(Alias::new("task_search"))
                        .and_where(Expr::col(Alias::new("search_text")).like(contains_pattern(&text)))
                        .to_owned(),
                ),
            ),
            _ => query.filter(Expr::col((tasks::Entity, Alias::new("search_text"))).like(contains_pattern(&text))),
        };
    }
    Ok(Some(query))
}

/// The value a task is sorted by.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub(super) enum SortKey {
    Rank(i64),
    Time(DateTime<Utc>),
    Text(String),
}

/// What a cursor encodes: the sort it belongs to and the last row's key and id.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    s: String,
    d: bool,
    k: Option<SortKey>,
    i: i64,
}

pub(super) fn priority_rank(p: TaskPriority) -> i64 {
    p as i64
}

/// A priority's rank in SQL, priorities in their natural order: written out literally (not
/// with bound values) because the index that serves the priority sort
/// (migration m20261204_000011) is on this very expression, and both backends match an
/// expression index only to an identical expression.
pub const PRIORITY_RANK_SQL: &str = "(CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 \
     WHEN 'urgent' THEN 3 WHEN 'critical' THEN 4 ELSE -1 END)";

pub(super) fn priority_rank_expr() -> sea_orm::sea_query::SimpleExpr {
    Expr::cust(PRIORITY_RANK_SQL)
}

/// The value `t` is sorted by under `sort`.
fn sort_key(sort: TaskSort, t: &PageRow) -> Option<SortKey> {
    match sort {
        TaskSort::ScheduledStart => t.scheduled_start.map(SortKey::Time),
        TaskSort::Due => t.sla_due_at.map(SortKey::Time),
        TaskSort::Priority => Some(SortKey::Rank(priority_rank(t.priority))),
        TaskSort::CreatedAt => Some(SortKey::Time(t.created_at)),
        TaskSort::Code => Some(SortKey::Text(t.code.clone())),
    }
}

/// Where the page after `t` starts.
pub(super) fn cursor_of(filter: &TaskFilter, t: &PageRow) -> Cursor {
    Cursor { s: filter.sort.as_str().into(), d: filter.descending, k: sort_key(filter.sort, t), i: t.id }
}

pub(super) fn encode_cursor(filter: &TaskFilter, t: &PageRow) -> String {
    hex::encode(serde_json::to_vec(&cursor_of(filter, t)).unwrap_or_default())
}

pub(super) fn decode_cursor(filter: &TaskFilter, text: &str) -> AppResult<Cursor> {
    let invalid = || AppError::validation("cursor", "El cursor no es válido para esta consulta.");
    let bytes = hex::decode(text).map_err(|_| invalid())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let key_fits = matches!(
        (filter.sort, &cursor.k),
        (TaskSort::ScheduledStart | TaskSort::Due, None | Some(SortKey::Time(_)))
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
pub(super) fn ordered(
    mut query: Select<tasks::Entity>,
    filter: &TaskFilter,
    cursor: Option<Cursor>,
) -> Select<tasks::Entity> {
    use sea_orm::sea_query::ExprTrait;
    let (key, nullable): (sea_orm::sea_query::SimpleExpr, bool) = match filter.sort {
        TaskSort::ScheduledStart => (Expr::col(tasks::Column::ScheduledStart), true),
        TaskSort::Due => (Expr::col(tasks::Column::SlaDueAt), true),
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
    bound_key(&filter)?;
    let key = (ScopeKey::of(actor), filter.clone());
    let compute = || async { compute_query(state, actor, filter).await.map(std::sync::Arc::new) };
    state.caches.tasks.get_or_compute(&state.events, key, compute).await
}

/// Longest cursor the list hands out, with room to spare (a sort key, a time and an id).
const CURSOR_MAX: usize = 512;

/// A filter is the cache's key, kept before the query checks it: whatever is larger than any
/// valid filter is refused first, or refused filters would fill the cache with their text.
fn bound_key(filter: &TaskFilter) -> AppResult<()> {
    let mut errors = Errors::default();
    // Generous: the search's own limit applies to the cleaned text (`filtered`).
    check_len(&mut errors, "text", filter.text.as_deref(), 4 * SEARCH_MAX, "El texto de búsqueda es demasiado largo.");
    if filter.cursor.as_ref().is_some_and(|c| c.len() > CURSOR_MAX) {
        errors.add("cursor", "El cursor de paginación no es válido.");
    }
    if filter.statuses.len() > contract::domain::TaskStatus::ALL.len() {
        errors.add("statuses", "Demasiados estados en el filtro.");
    }
    errors.finish()
}

/// The statement of one page of the list (one row more than `limit`, to know whether another
/// page follows), or `None` when the actor can see nothing: the columns a [`TaskSummary`]
/// shows and, in the same statement, each task's officers (one round trip a page). Its LIMIT
/// is written, not bound, so PostgreSQL's prepared statement can settle on a generic plan
/// ([`crate::db::with_literal_limit`]). Public so a test can ask PostgreSQL how it plans every
/// sort.
pub fn page_query(
    state: &AppState,
    actor: &Actor,
    filter: &TaskFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> AppResult<Option<Statement>> {
    let backend = state.db.get_database_backend();
    Ok(filtered(state, actor, filter)?.map(|query| {
        let query = ordered(query, filter, cursor)
            .select_only()
            .columns(PAGE_COLUMNS)
            .expr_as(Expr::cust(officers_json_sql(backend)), "officers");
        crate::db::with_literal_limit(query, backend, u64::from(limit) + 1)
    }))
}

/// The columns of a [`PageRow`] but its officers.
const PAGE_COLUMNS: [tasks::Column; 14] = {
    use tasks::Column as C;
    [
        C::Id,
        C::Code,
        C::Title,
        C::TaskType,
        C::Priority,
        C::Status,
        C::ScheduledStart,
        C::ScheduledEnd,
        C::SupervisorId,
        C::Lat,
        C::Lon,
        C::LocationText,
        C::SlaDueAt,
        C::CreatedAt,
    ]
};

/// Rows of the list a search first looks among (at least; 20 a row of the page).
const SEARCH_WINDOW: u64 = 1_000;

/// On PostgreSQL, for a search: the page's statement over a window of the list — its first
/// [`SEARCH_WINDOW`] rows in order, every filter but the text — with the text looked for in
/// the window's rows, or `None` (another backend, no text, nothing visible). Its plan does
/// not depend on the text (the window's LIMIT keeps the match out of it), so PostgreSQL keeps
/// one plan for every text, where the search planned for its text ([`fetch_page`]) spends a
/// third of its time planning. A page of it is the search's page when it has a row more than
/// `limit` (the first matches in the list's order are the first matches); a common text gets
/// its page from it, a rarer one then asks the planned search. Public so a test can ask
/// PostgreSQL how it keeps it.
pub fn search_window_query(
    state: &AppState,
    actor: &Actor,
    filter: &TaskFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> AppResult<Option<Statement>> {
    let backend = state.db.get_database_backend();
    let Some(text) = search_of(filter) else { return Ok(None) };
    // Checks the filter, the text's length included.
    if backend != DatabaseBackend::Postgres || filtered(state, actor, filter)?.is_none() {
        return Ok(None);
    }
    let everything_but_text = TaskFilter { text: None, ..filter.clone() };
    let Some(query) = filtered(state, actor, &everything_but_text)? else { return Ok(None) };
    let window = SEARCH_WINDOW.max(20 * (u64::from(limit) + 1));
    let query = ordered(query, filter, cursor)
        .select_only()
        .columns(PAGE_COLUMNS)
        .column_as(Expr::col((tasks::Entity, sea_orm::sea_query::Alias::new("search_text"))), "search_text");
    let mut window = crate::db::with_literal_limit(query, backend, window);
    let mut values = window.values.take().unwrap_or(sea_orm::Values(Vec::new()));
    values.0.push(text.into());
    // `strpos`, not LIKE: PostgreSQL estimates a LIKE from the text (a common text's plan
    // looks cheaper than a rare one's, and the kept plan never wins), a `strpos` never.
    let sql = format!(
        "SELECT \"tasks\".*, {officers} AS \"officers\" FROM ({inner}) AS \"tasks\" \
         WHERE strpos(\"tasks\".\"search_text\", ${n}) > 0 LIMIT {page}",
        officers = officers_json_sql(backend),
        inner = window.sql,
        n = values.0.len(),
        page = u64::from(limit) + 1,
    );
    Ok(Some(Statement::from_sql_and_values(backend, sql, values)))
}

/// A task's officers not deleted, in assignment order, as the JSON array `[[id, "name"], …]`
/// (PostgreSQL: NULL for none; SQLite: `[]`), a correlated subquery of the list's page.
fn officers_json_sql(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => {
            "(SELECT json_agg(json_build_array(o.id, o.first_name || ' ' || o.last_name) ORDER BY a.id)::text \
             FROM task_assignments a JOIN officers o ON o.id = a.officer_id \
             WHERE a.task_id = \"tasks\".\"id\" AND o.deleted_at IS NULL)"
        }
        _ => {
            "(SELECT json_group_array(json_array(o.id, o.first_name || ' ' || o.last_name) ORDER BY a.id) \
             FROM task_assignments a JOIN officers o ON o.id = a.officer_id \
             WHERE a.task_id = \"tasks\".\"id\" AND o.deleted_at IS NULL)"
        }
    }
}

/// One row of [`page_query`].
#[derive(sea_orm::FromQueryResult)]
pub(super) struct PageRow {
    id: i64,
    code: String,
    title: String,
    task_type: TaskType,
    priority: TaskPriority,
    status: TaskStatus,
    scheduled_start: Option<DateTime<Utc>>,
    scheduled_end: Option<DateTime<Utc>>,
    supervisor_id: Option<i64>,
    lat: Option<f64>,
    lon: Option<f64>,
    location_text: Option<String>,
    sla_due_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    officers: Option<String>,
}

impl From<tasks::Model> for PageRow {
    fn from(t: tasks::Model) -> Self {
        PageRow {
            id: t.id,
            code: t.code,
            title: t.title,
            task_type: t.task_type,
            priority: t.priority,
            status: t.status,
            scheduled_start: t.scheduled_start,
            scheduled_end: t.scheduled_end,
            supervisor_id: t.supervisor_id,
            lat: t.lat,
            lon: t.lon,
            location_text: t.location_text,
            sla_due_at: t.sla_due_at,
            created_at: t.created_at,
            officers: None,
        }
    }
}

/// Every column of one page of tasks matching `filter`, for the CSV export.
pub(super) fn export_page_query(
    state: &AppState,
    actor: &Actor,
    filter: &TaskFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> AppResult<Option<Statement>> {
    let backend = state.db.get_database_backend();
    Ok(filtered(state, actor, filter)?
        .map(|query| crate::db::with_literal_limit(ordered(query, filter, cursor), backend, u64::from(limit) + 1)))
}

/// Counts stop here: the list says "más de 10 000" rather than read every matching row.
pub const COUNT_CAP: u64 = 10_000;

/// How many tasks match `filter` (cursor and page size ignored), counted up to
/// [`COUNT_CAP`]: the list's total.
pub async fn count(state: &AppState, actor: &Actor, filter: TaskFilter) -> AppResult<contract::tasks::TaskCount> {
    use contract::tasks::TaskCount;
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{Alias, Query};
    let Some(query) = filtered(state, actor, &filter)? else {
        return Ok(TaskCount { total: 0, capped: false });
    };
    let inner = query.select_only().column(tasks::Column::Id).limit(COUNT_CAP + 1).into_query();
    let statement = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(inner, Alias::new("capped"))
        .to_owned();
    let statement = state.db.get_database_backend().build(&statement);
    #[derive(sea_orm::FromQueryResult)]
    struct Counted {
        n: i64,
    }
    let counted: Vec<Counted> = if clean(filter.text.clone()).is_some() {
        // Planned for its own text, like the page (see `fetch_page`).
        crate::db::query_planned(&state.db, statement).await?
    } else {
        <Counted as sea_orm::FromQueryResult>::find_by_statement(statement).all(&state.db).await?
    };
    let n = counted.first().map_or(0, |c| c.n);
    let n = u64::try_from(n).unwrap_or(0);
    Ok(TaskCount { total: n.min(COUNT_CAP), capped: n > COUNT_CAP })
}

pub(super) async fn compute_query(state: &AppState, actor: &Actor, filter: TaskFilter) -> AppResult<Page<TaskSummary>> {
    let limit = filter.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let cursor = match clean(filter.cursor.clone()) {
        Some(text) => Some(decode_cursor(&filter, &text)?),
        None => None,
    };
    let searched = clean(filter.text.clone()).is_some();
    // (A search whose window came up short lately goes straight to the planned search.)
    let short_key = searched.then(|| (ScopeKey::of(actor), TaskFilter { cursor: None, ..filter.clone() }));
    let mut rows: Vec<PageRow> = Vec::new();
    if let Some(key) = short_key.filter(|key| !state.caches.short_searches.contains(key))
        && let Some(window) = search_window_query(state, actor, &filter, cursor.clone(), limit)?
    {
        rows = <PageRow as sea_orm::FromQueryResult>::find_by_statement(window).all(&state.db).await?;
        if rows.len() <= limit as usize {
            state.caches.short_searches.insert(key);
        }
    }
    if rows.len() > limit as usize {
        metrics::counter!("gad_task_searches_total", "answered_by" => "window").increment(1);
    } else {
        let Some(query) = page_query(state, actor, &filter, cursor, limit)? else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        rows = fetch_page(state, &filter, query).await?;
        if searched {
            metrics::counter!("gad_task_searches_total", "answered_by" => "planned").increment(1);
        }
    }
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|t| encode_cursor(&filter, t)) } else { None };
    Ok(Page { items: summarize_page(state, rows).await?, next_cursor })
}

/// A page's rows → summaries, each row's officers read from its JSON.
async fn summarize_page(state: &AppState, rows: Vec<PageRow>) -> AppResult<Vec<TaskSummary>> {
    let rows = rows
        .into_iter()
        .map(|mut t| {
            let of_task: Vec<(i64, String)> = match t.officers.take() {
                Some(json) => serde_json::from_str(&json)
                    .map_err(|e| AppError::internal(format!("officers of task {}: {e}", t.id)))?,
                None => Vec::new(),
            };
            Ok((t, of_task))
        })
        .collect::<AppResult<Vec<_>>>()?;
    summaries(state, rows).await
}

/// The rows of one page's statement.
pub(super) async fn fetch_page<M: sea_orm::FromQueryResult>(
    state: &AppState,
    filter: &TaskFilter,
    statement: Statement,
) -> AppResult<Vec<M>> {
    if clean(filter.text.clone()).is_some() {
        // A search is planned for its own text, never with a cached generic plan: a common
        // text reads the list's index in order, a rare one the trigram index, and the generic
        // plan (chosen after a run of rare texts) reads every row for a rare one (0.8 s at
        // 100 000 tasks).
        crate::db::query_planned(&state.db, statement).await
    } else {
        Ok(M::find_by_statement(statement).all(&state.db).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQL rank (what the database sorts and its index holds) and the Rust rank (what a
    /// cursor carries) agree for every priority.
    #[test]
    fn the_sql_rank_of_every_priority_is_its_rust_rank() {
        for p in TaskPriority::ALL {
            let arm = format!("WHEN '{}' THEN {} ", p.as_str(), priority_rank(*p));
            assert!(PRIORITY_RANK_SQL.contains(&arm), "{PRIORITY_RANK_SQL} lacks {arm:?}");
        }
    }
}
