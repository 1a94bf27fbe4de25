//! Server functions and DTOs: task statistics.
//!
//! Every figure comes from the database; an empty period gives zeros and `None`, never an
//! invented number. Two sets of tasks are counted, both over `[from, to)`:
//! - the tasks **of the period**: those whose reference time — scheduled start, else actual
//!   start, else creation — falls in it (counts by status, type and priority, completion
//!   rate, tasks per day, assigned / active per officer and supervisor);
//! - the tasks **completed in the period**: completed with their actual end in it (durations,
//!   completed per day, per officer and per supervisor).

use chrono::NaiveDate;
use contract::ApiError;
use leptos::prelude::*;

use contract::stats::*;

/// Statistics for the calendar days `from..=to` (configured time zone), scoped to the viewer:
/// officers their own tasks, supervisors their team's, admins all.
#[server(prefix = "/api/fn", endpoint = "task_stats", output = crate::api::codec::JsonText)]
pub async fn task_stats(from: NaiveDate, to: NaiveDate) -> Result<TaskStatistics, ApiError> {
    use crate::server::context;
    use gad_core::services;

    context::serve(async |state, actor| {
        services::stats::for_days(state, actor, from, to, services::stats::People::Listed).await
    })
    .await
}
