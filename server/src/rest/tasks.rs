//! `/api/v1/tasks` (+ transitions, assignments, history, CSV) and `/api/v1/emergencies`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::Page;
use contract::domain::{TaskPriority, TaskStatus, TaskType};
use contract::emergency::{EmergencyAssign, EmergencyOutcome};
use contract::sla::{SlaAlert, SlaTarget, SlaTargetInput};
use contract::tasks::{
    NewTask, SlaFilter, TaskDetail, TaskFilter, TaskHistoryEntry, TaskSort, TaskSummary, TaskUpdate,
};
use gad_core::error::AppError;
use gad_core::services;
use gad_core::state::AppState;

use super::auth::Caller;
use super::problem::{Problem, RestResult};
use super::{Body, Params, PathArgs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(export_csv))
        .routes(routes!(get_task, update, delete))
        .routes(routes!(history))
        .routes(routes!(transition))
        .routes(routes!(acknowledge))
        .routes(routes!(sla_targets, set_sla_target))
        .routes(routes!(sla_alerts))
        .routes(routes!(assign))
        .routes(routes!(unassign))
        .routes(routes!(raise_emergency))
}

/// Query parameters of the task list (the REST spelling of `TaskFilter`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TaskQuery {
    /// Comma-separated statuses, e.g. `scheduled,in_progress`.
    status: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    task_type: Option<TaskType>,
    priority: Option<TaskPriority>,
    supervisor_id: Option<i64>,
    officer_id: Option<i64>,
    /// First day (inclusive, configured time zone) of the scheduled start.
    date_from: Option<NaiveDate>,
    /// Last day (inclusive).
    date_to: Option<NaiveDate>,
    /// Searches code, title and description.
    q: Option<String>,
    /// `overdue` (past a deadline) or `at_risk` (within 15 minutes of one).
    #[param(inline)]
    sla: Option<SlaFilter>,
    #[param(inline)]
    sort: Option<TaskSort>,
    /// `asc` (default) or `desc`.
    order: Option<String>,
    cursor: Option<String>,
    /// 1–200, default 50.
    limit: Option<u32>,
}

impl TaskQuery {
    fn into_filter(self) -> Result<TaskFilter, Problem> {
        let statuses = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|s| s.trim().parse::<TaskStatus>())
                .collect::<Result<_, _>>()
                .map_err(|_| AppError::validation("status", "Estado desconocido."))?,
        };
        let descending = match self.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(AppError::validation("order", "Use `asc` o `desc`.").into()),
        };
        Ok(TaskFilter {
            statuses,
            task_type: self.task_type,
            priority: self.priority,
            supervisor_id: self.supervisor_id,
            officer_id: self.officer_id,
            date_from: self.date_from,
            date_to: self.date_to,
            text: self.q,
            sla: self.sla,
            sort: self.sort.unwrap_or_default(),
            descending,
            cursor: self.cursor,
            limit: self.limit,
        })
    }
}

/// Tasks visible to the caller, filtered, sorted and cursor-paginated.
#[utoipa::path(get, path = "/tasks", tag = "tasks", params(TaskQuery), responses(
    (status = 200, body = Page<TaskSummary>), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<TaskQuery>,
) -> RestResult<Json<std::sync::Arc<Page<TaskSummary>>>> {
    // Written as JSON straight from the view cache's shared page (serde's `rc`): no copy.
    Ok(Json(services::tasks::query_shared(&state, &caller.actor, q.into_filter()?).await?))
}

/// The same tasks as CSV (times in the configured time zone).
#[utoipa::path(get, path = "/tasks.csv", tag = "tasks", params(TaskQuery), responses(
    (status = 200, content_type = "text/csv", body = String), (status = 401, body = Problem)))]
async fn export_csv(
    State(state): State<AppState>,
    axum::Extension(exports): axum::Extension<super::slots::ExportSlots>,
    caller: Caller,
    Params(q): Params<TaskQuery>,
) -> RestResult<impl IntoResponse> {
    let slot = exports.0.take(caller.actor.user_id, "exportaciones en curso")?;
    let csv = services::tasks::export_csv(&state, &caller.actor, q.into_filter()?).await?;
    Ok(super::csv_download("tareas.csv", csv, slot))
}

/// Creates a task (supervisors and admins). `Idempotency-Key` makes retries safe.
#[utoipa::path(post, path = "/tasks", tag = "tasks", request_body = NewTask, params(
    ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first answer")),
    responses((status = 201, body = TaskDetail), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 409, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(task): Body<NewTask>,
) -> RestResult<(StatusCode, Json<TaskDetail>)> {
    let task = services::tasks::create(&state, &caller.actor, &caller.meta, task).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// One task with its assignments, history and the transitions the caller may perform.
#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), responses(
    (status = 200, body = TaskDetail), (status = 404, body = Problem)))]
async fn get_task(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Json<TaskDetail>> {
    Ok(Json(services::tasks::detail(&state, &caller.actor, id).await?))
}

/// Partial update (supervisors and admins); `null` clears a nullable field.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = TaskUpdate,
    responses((status = 200, body = TaskDetail), (status = 400, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(changes): Body<TaskUpdate>,
) -> RestResult<Json<TaskDetail>> {
    Ok(Json(services::tasks::update(&state, &caller.actor, &caller.meta, id, changes).await?))
}

/// Soft-deletes a task (supervisors and admins).
#[utoipa::path(delete, path = "/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), responses(
    (status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete(State(state): State<AppState>, caller: Caller, PathArgs(id): PathArgs<i64>) -> RestResult<StatusCode> {
    services::tasks::delete(&state, &caller.actor, &caller.meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The task's status history, oldest first.
#[utoipa::path(get, path = "/tasks/{id}/history", tag = "tasks", params(("id" = i64, Path)), responses(
    (status = 200, body = Vec<TaskHistoryEntry>), (status = 404, body = Problem)))]
async fn history(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Json<Vec<TaskHistoryEntry>>> {
    Ok(Json(services::tasks::detail(&state, &caller.actor, id).await?.history))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransitionInput {
    to: TaskStatus,
    /// Required to cancel.
    #[serde(default)]
    reason: Option<String>,
}

/// Moves the task through its lifecycle (start, pause, resume, complete, cancel).
#[utoipa::path(post, path = "/tasks/{id}/transitions", tag = "tasks", params(("id" = i64, Path)),
    request_body = TransitionInput, responses((status = 200, body = TaskDetail), (status = 400, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<TransitionInput>,
) -> RestResult<Json<TaskDetail>> {
    Ok(Json(services::tasks::transition(&state, &caller.actor, &caller.meta, id, input.to, input.reason).await?))
}

/// An assigned officer confirms they received the task: the acknowledge deadline is met and
/// its escalation stops (starting the task does the same). Supervisors may confirm for them.
#[utoipa::path(post, path = "/tasks/{id}/acknowledge", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = TaskDetail), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem)))]
async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
) -> RestResult<Json<TaskDetail>> {
    services::sla::acknowledge(&state, &caller.actor, &caller.meta, id).await?;
    Ok(Json(services::tasks::detail(&state, &caller.actor, id).await?))
}

/// The deadline targets: minutes to acknowledge, start and finish per task type (`null`: every
/// type) and priority. Supervisors and admins.
#[utoipa::path(get, path = "/sla/targets", tag = "tasks", responses(
    (status = 200, body = Vec<SlaTarget>), (status = 403, body = Problem)))]
async fn sla_targets(State(state): State<AppState>, caller: Caller) -> RestResult<Json<Vec<SlaTarget>>> {
    Ok(Json(services::sla::list_targets(&state, &caller.actor).await?))
}

/// Sets the targets of a task type (`null`: every type) and priority; a type's own row wins
/// over the every-type row, and all three minutes `null` for a type removes its row (the
/// every-type row applies again). Admins. Applies to tasks written from now on.
#[utoipa::path(put, path = "/sla/targets", tag = "tasks", request_body = SlaTargetInput, responses(
    (status = 200, body = SlaTarget), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn set_sla_target(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<SlaTargetInput>,
) -> RestResult<Json<SlaTarget>> {
    Ok(Json(services::sla::set_target(&state, &caller.actor, &caller.meta, input).await?))
}

/// Urgent and critical tasks past a deadline that the caller sees, most overdue first.
#[utoipa::path(get, path = "/sla/alerts", tag = "tasks", responses((status = 200, body = Vec<SlaAlert>)))]
async fn sla_alerts(State(state): State<AppState>, caller: Caller) -> RestResult<Json<Vec<SlaAlert>>> {
    Ok(Json(services::sla::alerts(&state, &caller.actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignInput {
    officer_ids: Vec<i64>,
    /// Assign even over an overlapping schedule (recorded in the history).
    #[serde(default)]
    allow_overlap: bool,
}

#[utoipa::path(post, path = "/tasks/{id}/assignments", tag = "tasks", params(("id" = i64, Path)),
    request_body = AssignInput, responses((status = 200, body = TaskDetail), (status = 400, body = Problem),
    (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs(id): PathArgs<i64>,
    Body(input): Body<AssignInput>,
) -> RestResult<Json<TaskDetail>> {
    let detail =
        services::tasks::assign(&state, &caller.actor, &caller.meta, id, input.officer_ids, input.allow_overlap)
            .await?;
    Ok(Json(detail))
}

#[utoipa::path(delete, path = "/tasks/{id}/assignments/{officer_id}", tag = "tasks",
    params(("id" = i64, Path), ("officer_id" = i64, Path)), responses((status = 200, body = TaskDetail),
    (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn unassign(
    State(state): State<AppState>,
    caller: Caller,
    PathArgs((id, officer_id)): PathArgs<(i64, i64)>,
) -> RestResult<Json<TaskDetail>> {
    Ok(Json(services::tasks::unassign(&state, &caller.actor, &caller.meta, id, officer_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EmergencyInput {
    lat: f64,
    lon: f64,
    #[serde(default)]
    description: Option<String>,
    /// Default: the nearest available officer.
    #[serde(default)]
    assign: Option<EmergencyAssign>,
}

/// Raises an emergency at a point: a critical task, the nearest available officers ranked
/// with distances, and the nearest (or the chosen ones) dispatched.
#[utoipa::path(post, path = "/emergencies", tag = "emergencies", request_body = EmergencyInput, responses(
    (status = 201, body = EmergencyOutcome), (status = 400, body = Problem), (status = 401, body = Problem),
    (status = 403, body = Problem)))]
async fn raise_emergency(
    State(state): State<AppState>,
    caller: Caller,
    Body(input): Body<EmergencyInput>,
) -> RestResult<(StatusCode, Json<EmergencyOutcome>)> {
    let outcome = services::emergency::raise(
        &state,
        &caller.actor,
        &caller.meta,
        input.lat,
        input.lon,
        input.description,
        input.assign.unwrap_or_default(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}
