//! Tasks: queries, the lifecycle (SPEC §4), assignments and CSV export, for the dashboard and
//! the bot.
//!
//! Encodings: functions a plain HTML form drives (status buttons, delete, unassign, detail)
//! take scalar arguments over the default URL encoding, so they work without JavaScript;
//! functions with structured input (create, update, assign, query, export) take JSON.

#[cfg(feature = "ssr")]
use crate::api::form_redirect;
use contract::domain::TaskStatus;
use contract::{ApiError, Page};
use leptos::prelude::*;

use contract::tasks::*;

/// Tasks visible to the current user in the requested scope, soonest first.
#[server(prefix = "/api/fn", endpoint = "list_tasks", output = crate::api::codec::JsonText)]
pub async fn list_tasks(scope: TaskScope) -> Result<Vec<TaskSummary>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::tasks::list(state, actor, scope).await).await
}

/// Filtered, sorted, cursor-paginated tasks.
#[server(prefix = "/api/fn", endpoint = "query_tasks", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn query_tasks(filter: TaskFilter) -> Result<Page<TaskSummary>, ApiError> {
    query_tasks_shared(filter).await.map(std::sync::Arc::unwrap_or_clone)
}

/// `query_tasks` for a page rendered on the server: the page is shared with the server's view
/// cache, not copied. Not a server function.
#[cfg(feature = "ssr")]
pub async fn query_tasks_shared(filter: TaskFilter) -> Result<std::sync::Arc<Page<TaskSummary>>, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::tasks::query_shared(state, actor, filter).await).await
}

/// How many tasks match `filter` (cursor and page size ignored), up to a cap.
#[server(prefix = "/api/fn", endpoint = "count_tasks", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn count_tasks(filter: TaskFilter) -> Result<TaskCount, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::tasks::count(state, actor, filter).await).await
}

/// One task with its officers, history and the transitions open to the viewer.
#[server(prefix = "/api/fn", endpoint = "task_detail", name = GetTaskDetail, output = crate::api::codec::JsonText)]
pub async fn task_detail(id: i64) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::tasks::detail(state, actor, id).await).await
}

#[server(prefix = "/api/fn", endpoint = "create_task", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn create_task(task: NewTask) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| services::tasks::create(state, actor, &meta, task).await).await
}

#[server(prefix = "/api/fn", endpoint = "update_task", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn update_task(id: i64, changes: TaskUpdate) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| services::tasks::update(state, actor, &meta, id, changes).await).await
}

/// Soft-deletes a task. A plain form post is sent on to `/tareas`.
#[server(prefix = "/api/fn", endpoint = "delete_task", output = crate::api::codec::JsonText)]
pub async fn delete_task(id: i64) -> Result<(), ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    let result = context::serve(async |state, actor| services::tasks::delete(state, actor, &meta, id).await).await;
    form_redirect(&meta, &result, "/tareas", &format!("/tareas/{id}"));
    result
}

#[server(prefix = "/api/fn", endpoint = "assign_officers", input = server_fn::codec::Json, output = crate::api::codec::JsonText)]
pub async fn assign_officers(task_id: i64, officer_ids: Vec<i64>, allow_overlap: bool) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    context::serve(async |state, actor| {
        services::tasks::assign(state, actor, &meta, task_id, officer_ids, allow_overlap).await
    })
    .await
}

/// Takes one officer off a task. A plain form post returns to the task's page.
#[server(prefix = "/api/fn", endpoint = "unassign_officer", output = crate::api::codec::JsonText)]
pub async fn unassign_officer(task_id: i64, officer_id: i64) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    let result =
        context::serve(async |state, actor| services::tasks::unassign(state, actor, &meta, task_id, officer_id).await)
            .await;
    let page = format!("/tareas/{task_id}");
    form_redirect(&meta, &result, &page, &page);
    result
}

/// Moves a task to `to` (start, pause, resume, complete, cancel). A plain form post (the
/// status buttons without JavaScript) returns to the task's page.
#[server(prefix = "/api/fn", endpoint = "transition_task", output = crate::api::codec::JsonText)]
pub async fn transition_task(
    id: i64,
    to: TaskStatus,
    #[server(default)] reason: Option<String>,
) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;

    let meta = context::request_meta();
    let result =
        context::serve(async |state, actor| services::tasks::transition(state, actor, &meta, id, to, reason).await)
            .await;
    let page = format!("/tareas/{id}");
    form_redirect(&meta, &result, &page, &page);
    result
}

/// Confirms receipt of a task (an assigned officer; the bot's "Recibido" and the task page's
/// button). A plain form post goes back to the task.
#[server(prefix = "/api/fn", endpoint = "acknowledge_task", output = crate::api::codec::JsonText)]
pub async fn acknowledge_task(task_id: i64) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        services::sla::acknowledge(state, actor, &meta, task_id).await?;
        services::tasks::detail(state, actor, task_id).await
    })
    .await;
    let page = format!("/tareas/{task_id}");
    crate::api::form_redirect(&meta, &result, &page, &page);
    result
}

/// Urgent and critical tasks past a deadline that the viewer sees (the dashboard's banner).
#[server(prefix = "/api/fn", endpoint = "sla_alerts", output = crate::api::codec::JsonText)]
pub async fn sla_alerts() -> Result<Vec<contract::sla::SlaAlert>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::sla::alerts(state, actor).await).await
}
