//! Feedback (retroalimentación) from officers and supervisors, with its review workflow.

use crate::domain::{Channel, FeedbackStatus};
use chrono::{DateTime, NaiveDate, Utc};
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

/// One week of feedback (Monday to Sunday in the configured time zone): what the weekly digest
/// sends to supervisors and admins on Telegram and the feedback page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedbackDigest {
    /// The Monday the week starts on.
    pub week_start: NaiveDate,
    /// Items received in the week.
    pub total: u64,
    /// Items received the week before.
    pub previous_total: u64,
    /// The week's items per category, most first.
    pub by_category: Vec<CategoryCount>,
    /// Sentiment of the last four weeks, oldest first (this one last).
    pub trend: Vec<WeekSentiment>,
    /// Up to five of the week's negative items, most negative first.
    pub worst: Vec<FeedbackItem>,
    /// Items waiting for review now (new or in review), whatever their week.
    pub open: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryCount {
    pub category: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekSentiment {
    pub week_start: NaiveDate,
    pub total: u64,
    pub positive: u64,
    pub neutral: u64,
    pub negative: u64,
    /// Mean sentiment score of the week, `None` without feedback.
    pub average: Option<f64>,
}
