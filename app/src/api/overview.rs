//! The overview page (Resumen) and the notifications bell: KPIs, charts and recent activity.
//!
//! Every figure comes from the database through the services: the task statistics of the
//! last [`OVERVIEW_DAYS`] days ([`crate::api::stats`]), the open tasks and officers as they are
//! now, and the latest status changes the viewer may see.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::api::stats::{StatusCount, TaskStatistics};
use crate::domain::{OfficerStatus, TaskPriority, TaskStatus, TaskType};

/// Days covered by the overview's charts (today included).
pub const OVERVIEW_DAYS: i64 = 14;

/// One status change of a task (its creation included), newest first in lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    /// The history row's id (stable, increasing).
    pub id: i64,
    pub task_id: i64,
    pub code: String,
    pub title: String,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    /// `None` when the task was created.
    pub from: Option<TaskStatus>,
    pub to: TaskStatus,
    pub by: Option<String>,
    pub at: DateTime<Utc>,
    /// `at` in the configured time zone, `dd/mm/yyyy HH:MM`.
    pub at_local: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficerStatusCount {
    pub status: OfficerStatus,
    pub count: u64,
}

/// Everything the overview shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// Open tasks the viewer may see, by status, as they are now (scheduled, in progress, paused).
    pub open_by_status: Vec<StatusCount>,
    /// Officers by status now; `None` for viewers who may not see officers.
    pub officers_by_status: Option<Vec<OfficerStatusCount>>,
    /// Open emergency tasks the viewer may see.
    pub open_emergencies: u64,
    /// Tasks completed today (configured time zone).
    pub completed_today: u64,
    /// Statistics of the last [`OVERVIEW_DAYS`] days: per day, by type, median duration.
    pub stats: TaskStatistics,
    /// The latest status changes, newest first.
    pub activity: Vec<ActivityItem>,
}

/// The overview of the viewer's scope (officers: their own tasks).
#[server(prefix = "/api/fn", endpoint = "overview", name = GetOverview, output = crate::api::codec::JsonText)]
pub async fn overview() -> Result<Overview, ApiError> {
    use crate::server::{context, services};

    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::activity::overview(&state, &actor).await
        }
        .await,
    )
}

/// The bell: the latest changes relevant to the viewer and how many arrived since they last
/// marked them read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notifications {
    pub items: Vec<ActivityItem>,
    pub unread: u64,
}

/// Session key holding when the viewer last marked their notifications read.
#[cfg(feature = "ssr")]
const SEEN_KEY: &str = "notifications_seen_at";

#[server(prefix = "/api/fn", endpoint = "notifications", name = GetNotifications, output = crate::api::codec::JsonText)]
pub async fn notifications() -> Result<Notifications, ApiError> {
    use crate::server::error::AppError;
    use crate::server::{context, services};

    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            let session = context::session().await?;
            let seen: Option<DateTime<Utc>> = session.get(SEEN_KEY).await.map_err(AppError::internal)?;
            services::activity::notifications(&state, &actor, seen).await
        }
        .await,
    )
}

/// Marks every notification read. A plain form post (no JavaScript) returns to the overview.
#[server(prefix = "/api/fn", endpoint = "mark_notifications_read", output = crate::api::codec::JsonText)]
pub async fn mark_notifications_read() -> Result<(), ApiError> {
    use crate::server::context;
    use crate::server::error::AppError;

    let meta = context::request_meta();
    let result = context::respond(
        async {
            context::current_actor().await?;
            let session = context::session().await?;
            session.insert(SEEN_KEY, Utc::now()).await.map_err(AppError::internal)
        }
        .await,
    );
    if meta.plain_form_post {
        leptos_axum::redirect("/");
    }
    result
}
