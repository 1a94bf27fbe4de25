//! Feedback (retroalimentación) from officers and supervisors, with its review workflow.

use contract::domain::FeedbackStatus;
use contract::{ApiError, Page};
use leptos::prelude::*;

use contract::feedback::*;

#[server(prefix = "/api/fn", endpoint = "send_feedback", output = crate::api::codec::JsonText)]
pub async fn send_feedback(text: String, category: Option<String>) -> Result<FeedbackItem, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| {
        services::feedback::create(state, actor, &context::request_meta(), &text, category).await
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "list_feedback", output = crate::api::codec::JsonText)]
pub async fn list_feedback(
    status: Option<FeedbackStatus>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<Page<FeedbackItem>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::feedback::list(state, actor, status, cursor, limit).await).await
}

#[server(prefix = "/api/fn", endpoint = "set_feedback_status", output = crate::api::codec::JsonText)]
pub async fn set_feedback_status(id: i64, status: FeedbackStatus) -> Result<FeedbackItem, ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    let result =
        context::serve(async |state, actor| services::feedback::set_status(state, actor, &meta, id, status).await)
            .await;
    // A plain form post (the review buttons without JavaScript) returns to the list.
    crate::api::form_redirect(&meta, &result, "/comentarios", "/comentarios");
    result
}

#[server(prefix = "/api/fn", endpoint = "feedback_overview", output = crate::api::codec::JsonText)]
pub async fn feedback_overview() -> Result<FeedbackKpis, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::feedback::kpis(state, actor).await).await
}

/// The feedback digest of the week holding `week` (any day of it; default this week).
#[server(prefix = "/api/fn", endpoint = "feedback_digest", name = GetFeedbackDigest, output = crate::api::codec::JsonText)]
pub async fn feedback_digest(week: Option<chrono::NaiveDate>) -> Result<FeedbackDigest, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| {
        let week = week.unwrap_or_else(|| services::feedback::week_of(state.config.timezone, chrono::Utc::now()));
        services::feedback::digest(state, actor, week).await
    })
    .await
}
