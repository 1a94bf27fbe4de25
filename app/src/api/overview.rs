//! The overview page (Resumen) and the notifications bell: KPIs, charts and recent activity.
//!
//! Every figure comes from the database through the services: the task statistics of the
//! last [`OVERVIEW_DAYS`] days ([`crate::api::stats`]), the open tasks and officers as they are
//! now, and the latest status changes the viewer may see.

#[cfg(feature = "ssr")]
use chrono::{DateTime, Utc};
use contract::ApiError;
use leptos::prelude::*;

use contract::overview::*;

/// The overview of the viewer's scope (officers: their own tasks).
#[server(prefix = "/api/fn", endpoint = "overview", name = GetOverview, output = crate::api::codec::JsonText)]
pub async fn overview() -> Result<Overview, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| services::activity::overview(state, actor).await).await
}

/// Session key holding when the viewer last marked their notifications read.
#[cfg(feature = "ssr")]
const SEEN_KEY: &str = "notifications_seen_at";

#[server(prefix = "/api/fn", endpoint = "notifications", name = GetNotifications, output = crate::api::codec::JsonText)]
pub async fn notifications() -> Result<Notifications, ApiError> {
    use crate::server::context;
    use gad_core::error::AppError;
    use gad_core::services;

    context::serve(async |state, actor| {
        let session = context::session().await?;
        let seen: Option<DateTime<Utc>> = session.get(SEEN_KEY).await.map_err(AppError::internal)?;
        services::activity::notifications(state, actor, seen).await
    })
    .await
}

/// Marks every notification read. A plain form post (no JavaScript) returns to the overview.
#[server(prefix = "/api/fn", endpoint = "mark_notifications_read", output = crate::api::codec::JsonText)]
pub async fn mark_notifications_read() -> Result<(), ApiError> {
    use crate::server::context;
    use gad_core::error::AppError;

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
