//! Feedback (retroalimentación) from officers and supervisors, with its review workflow.

use crate::domain::{Channel, FeedbackStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
