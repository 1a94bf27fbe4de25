//! The figures behind the operations gauges (docs/OPERATIONS.md): open tasks by priority,
//! officers by status, stale positions, open and unassigned emergencies, the last backup.
//! Read by the metrics refresher; the binary only turns them into Prometheus gauges.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Statement};

use contract::domain::{FeedbackStatus, OfficerStatus, TaskPriority, TaskStatus, TaskType};

use crate::entities::{feedback, officers, task_assignments, tasks};
use crate::error::AppResult;
use crate::state::AppState;

const OPEN: [TaskStatus; 3] = [TaskStatus::Scheduled, TaskStatus::InProgress, TaskStatus::Paused];

/// The figures of the domain gauges, read now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gauges {
    /// Open tasks (scheduled, in progress, paused) per priority, every priority listed.
    pub open_by_priority: Vec<(TaskPriority, i64)>,
    /// Officers per status, every status listed.
    pub officers_by_status: Vec<(OfficerStatus, i64)>,
    /// On duty (available or on a task) without a position in the last 15 minutes.
    pub stale_positions: u64,
    pub emergencies_open: u64,
    /// Open emergencies nobody is assigned to.
    pub emergencies_unassigned: u64,
    /// Unix seconds of the newest successful `gad backup`, if any.
    pub last_backup_unix: Option<i64>,
    /// Unix seconds of the newest `gad backup drill` that passed, if any.
    pub last_good_drill_unix: Option<i64>,
    /// Unix seconds of the newest `gad audit verify` that found the chain intact, if any.
    pub last_good_audit_verify_unix: Option<i64>,
    /// What the newest `gad audit verify` found (none before the first).
    pub audit_chain_intact: Option<bool>,
    /// Feedback items per review status, every status listed.
    pub feedback_by_status: Vec<(FeedbackStatus, i64)>,
    /// Feedback items per sentiment label (`positive`, `neutral`, `negative`), every label listed.
    pub feedback_by_sentiment: Vec<(&'static str, i64)>,
    /// Open tasks past a deadline (`services::sla`).
    pub tasks_overdue: u64,
}

/// Reads every gauge figure (a system read: no actor, nothing personal).
pub async fn read(state: &AppState) -> AppResult<Gauges> {
    let db = &state.db;
    let open_by_priority: Vec<(TaskPriority, i64)> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::Priority)
        .column_as(Expr::col(tasks::Column::Id).count(), "n")
        .filter(tasks::Column::DeletedAt.is_null())
        .filter(tasks::Column::Status.is_in(OPEN))
        .group_by(tasks::Column::Priority)
        .into_tuple()
        .all(db)
        .await?;
    let open_by_priority = TaskPriority::ALL
        .iter()
        .map(|p| (*p, open_by_priority.iter().find(|(q, _)| q == p).map_or(0, |(_, n)| *n)))
        .collect();

    let by_status: Vec<(OfficerStatus, i64)> =
        crate::services::activity::officer_counts_query().into_tuple().all(db).await?;
    let officers_by_status = OfficerStatus::ALL
        .iter()
        .map(|s| (*s, by_status.iter().find(|(q, _)| q == s).map_or(0, |(_, n)| *n)))
        .collect();

    // On duty (available or on a task) without a position in the freshness window.
    let fresh_after = Utc::now() - chrono::Duration::minutes(15);
    let stale = officers::Entity::find()
        .filter(officers::Column::DeletedAt.is_null())
        .filter(officers::Column::Status.is_in([OfficerStatus::Available, OfficerStatus::OnTask]))
        .filter(
            sea_orm::Condition::any()
                .add(officers::Column::LastPositionAt.is_null())
                .add(officers::Column::LastPositionAt.lt(fresh_after)),
        )
        .count(db)
        .await?;

    let emergencies = tasks::Entity::find()
        .filter(tasks::Column::DeletedAt.is_null())
        .filter(tasks::Column::TaskType.eq(TaskType::Emergency))
        .filter(tasks::Column::Status.is_in(OPEN));
    let emergencies_open = emergencies.clone().count(db).await?;
    let unassigned = emergencies
        .filter(
            tasks::Column::Id.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(task_assignments::Column::TaskId)
                    .from(task_assignments::Entity)
                    .to_owned(),
            ),
        )
        .count(db)
        .await?;

    // The newest successful `gad backup` (absent until the first one).
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT MAX(finished_at_unix) AS t FROM backups",
        ))
        .await?;
    let last_backup_unix = row.and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten());
    // The newest drill that passed (absent until the first one).
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT MAX(finished_at_unix) AS t FROM backup_drills WHERE ok",
        ))
        .await?;
    let last_good_drill_unix = row.and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten());
    let audit = crate::services::audit::verifications(db).await?;
    let by_status: Vec<(FeedbackStatus, i64)> = feedback::Entity::find()
        .select_only()
        .column(feedback::Column::Status)
        .column_as(Expr::col(feedback::Column::Id).count(), "n")
        .group_by(feedback::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let feedback_by_status = [FeedbackStatus::New, FeedbackStatus::Reviewing, FeedbackStatus::Resolved]
        .into_iter()
        .map(|s| (s, by_status.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n)))
        .collect();
    let by_sentiment: Vec<(Option<String>, i64)> = feedback::Entity::find()
        .select_only()
        .column(feedback::Column::SentimentLabel)
        .column_as(Expr::col(feedback::Column::Id).count(), "n")
        .group_by(feedback::Column::SentimentLabel)
        .into_tuple()
        .all(db)
        .await?;
    let feedback_by_sentiment = ["positive", "neutral", "negative"]
        .into_iter()
        .map(|label| {
            let n: i64 =
                by_sentiment.iter().filter(|(x, _)| x.as_deref().unwrap_or("neutral") == label).map(|(_, n)| n).sum();
            (label, n)
        })
        .collect();
    let tasks_overdue = crate::services::sla::overdue_count(db, Utc::now()).await?;
    Ok(Gauges {
        tasks_overdue,
        open_by_priority,
        officers_by_status,
        stale_positions: stale,
        emergencies_open,
        emergencies_unassigned: unassigned,
        last_backup_unix,
        last_good_drill_unix,
        last_good_audit_verify_unix: audit.last_intact_unix,
        audit_chain_intact: audit.newest_intact,
        feedback_by_status,
        feedback_by_sentiment,
    })
}
