//! Feedback (retroalimentación) from officers and supervisors, with its review workflow.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, Page};
use crate::domain::{Channel, FeedbackStatus};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FeedbackItem {
    pub id: i64,
    pub channel: Channel,
    pub user_id: Option<i64>,
    pub author: Option<String>,
    pub text: String,
    pub category: String,
    /// −1 (negative) … 1 (positive), from the words of the text.
    pub sentiment_score: f64,
    pub sentiment_label: String,
    pub status: FeedbackStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FeedbackKpis {
    pub total: u64,
    pub new: u64,
    pub reviewing: u64,
    pub resolved: u64,
    pub positive: u64,
    pub neutral: u64,
    pub negative: u64,
    /// Mean sentiment score, `None` without feedback.
    pub average_sentiment: Option<f64>,
}

#[server(prefix = "/api/fn", endpoint = "send_feedback", output = crate::api::codec::JsonText)]
pub async fn send_feedback(text: String, category: Option<String>) -> Result<FeedbackItem, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::feedback::create(&state, &actor, &context::request_meta(), &text, category).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "list_feedback", output = crate::api::codec::JsonText)]
pub async fn list_feedback(
    status: Option<FeedbackStatus>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<Page<FeedbackItem>, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::feedback::list(&state, &actor, status, cursor, limit).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "set_feedback_status", output = crate::api::codec::JsonText)]
pub async fn set_feedback_status(id: i64, status: FeedbackStatus) -> Result<FeedbackItem, ApiError> {
    use crate::server::{context, services};
    let meta = context::request_meta();
    let result = context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::feedback::set_status(&state, &actor, &meta, id, status).await
        }
        .await,
    );
    // A plain form post (the review buttons without JavaScript) returns to the list.
    crate::api::form_redirect(&meta, &result, "/comentarios", "/comentarios");
    result
}

#[server(prefix = "/api/fn", endpoint = "feedback_overview", output = crate::api::codec::JsonText)]
pub async fn feedback_overview() -> Result<FeedbackKpis, ApiError> {
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::feedback::kpis(&state, &actor).await
        }
        .await,
    )
}
