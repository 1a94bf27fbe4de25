//! Task queries for the dashboard and the bot.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::domain::{TaskPriority, TaskStatus, TaskType};

/// Which tasks to list: the viewer's own, or every task (supervisors and admins only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskScope {
    #[default]
    Mine,
    All,
}

/// One row of a task list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    /// Scheduled start in the configured time zone, `dd/mm/yyyy HH:MM`.
    pub scheduled_start: Option<String>,
    pub supervisor: Option<String>,
    pub officers: Vec<String>,
}

/// Tasks visible to the current user in the requested scope, soonest first.
#[server(prefix = "/api/fn", endpoint = "list_tasks")]
pub async fn list_tasks(scope: TaskScope) -> Result<Vec<TaskSummary>, ApiError> {
    use crate::server::{context, services};

    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::tasks::list(&state, &actor, scope).await
        }
        .await,
    )
}
