//! The assignment editor of the task page: who could take the task, how far they are and
//! what else they hold at that time. Assigning itself goes through `assign_officers` /
//! `unassign_officer` (api::tasks); `assign_officer_form` is the plain-form door to it.

use contract::ApiError;
use contract::tasks::TaskDetail;
use leptos::prelude::*;

use contract::assignment::*;

#[server(prefix = "/api/fn", endpoint = "assignment_candidates", output = crate::api::codec::JsonText)]
pub async fn assignment_candidates(task_id: i64) -> Result<Vec<AssignmentCandidate>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::assignment::candidates(state, actor, task_id).await).await
}

/// Assigns one officer (a form button). `allow_overlap` is the explicit override of the
/// overlap rule (recorded in the history). A plain form post returns to the task's page.
#[server(prefix = "/api/fn", endpoint = "assign_officer_form", output = crate::api::codec::JsonText)]
pub async fn assign_officer_form(
    task_id: i64,
    officer_id: i64,
    #[server(default)] allow_overlap: bool,
) -> Result<TaskDetail, ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        services::tasks::assign(state, actor, &meta, task_id, vec![officer_id], allow_overlap).await
    })
    .await;
    let page = format!("/tareas/{task_id}");
    crate::api::form_redirect(&meta, &result, &page, &page);
    result
}
