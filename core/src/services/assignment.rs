//! The assignment editor's view of the officers for one task: each officer's status, the
//! distance from their last position to the task, and their other open tasks whose time slot
//! overlaps this one (the same rule as the schema's overlap trigger: a task occupies
//! `[start, end)` with `start = COALESCE(scheduled_start, actual_start)` and
//! `end = COALESCE(scheduled_end, start + OPEN_ENDED_TASK_HOURS)` while it is scheduled, in
//! progress or paused).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::actor::Actor;
use crate::entities::{officers, task_assignments, tasks};
use crate::error::{AppError, AppResult};
use crate::permissions::{Capability, require};
use crate::services::geo::haversine_m;
use crate::services::roster;
use crate::state::AppState;
use contract::assignment::AssignmentCandidate;
use contract::domain::{Duty, TaskStatus};

/// At most this many officers are listed.
const MAX_OFFICERS: u64 = 500;

fn slot(t: &tasks::Model) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let open = matches!(t.status, TaskStatus::Scheduled | TaskStatus::InProgress | TaskStatus::Paused);
    let start = t.scheduled_start.or(t.actual_start)?;
    (open && t.deleted_at.is_none()).then_some((start, slot_end(start, t.scheduled_end)))
}

/// The end of a slot: its own, or the open-ended default.
fn slot_end(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> DateTime<Utc> {
    end.unwrap_or(start + chrono::Duration::hours(i64::from(migrations::OPEN_ENDED_TASK_HOURS)))
}

fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// The time a task occupies for shifts and leave: its slot, or from `now` for the open-ended
/// default when it has no time.
pub fn task_window(t: &tasks::Model, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = t.scheduled_start.or(t.actual_start).unwrap_or(now);
    (start, slot_end(start, t.scheduled_end))
}

/// Officers for the task's assignment editor: the assigned ones first, then those on duty and
/// not on leave during the task, then by distance (unknown last), then by code.
pub async fn candidates(state: &AppState, actor: &Actor, task_id: i64) -> AppResult<Vec<AssignmentCandidate>> {
    require(actor, Capability::ManageTasks)?;
    require(actor, Capability::SeeOfficers)?;
    let task = tasks::Entity::find_by_id(task_id)
        .filter(tasks::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let this_slot = slot(&task);
    let people = officers::Entity::find()
        .filter(officers::Column::DeletedAt.is_null())
        .order_by_asc(officers::Column::Code)
        .limit(MAX_OFFICERS)
        .all(&state.db)
        .await?;
    let ids: Vec<i64> = people.iter().map(|o| o.id).collect();
    // Every open task of these officers, with who holds it.
    let held: Vec<(task_assignments::Model, Option<tasks::Model>)> = task_assignments::Entity::find()
        .find_also_related(tasks::Entity)
        .filter(task_assignments::Column::OfficerId.is_in(ids))
        .filter(tasks::Column::DeletedAt.is_null())
        .filter(tasks::Column::Status.is_in([TaskStatus::Scheduled, TaskStatus::InProgress, TaskStatus::Paused]))
        .all(&state.db)
        .await?;
    let mut assigned_here = Vec::new();
    let mut conflicts: HashMap<i64, Vec<String>> = HashMap::new();
    for (a, other) in held {
        let Some(other) = other else { continue };
        if other.id == task_id {
            assigned_here.push(a.officer_id);
            continue;
        }
        if let (Some(mine), Some(theirs)) = (this_slot, slot(&other))
            && overlaps(mine, theirs)
        {
            conflicts.entry(a.officer_id).or_default().push(other.code);
        }
    }
    // Shifts and leave: at the task's start (now when it has no time), over its slot.
    let now = chrono::Utc::now();
    let (slot_start, slot_end) = task_window(&task, now);
    let ids: Vec<i64> = people.iter().map(|o| o.id).collect();
    let duty = roster::duty_at(&state.db, &ids, slot_start).await?;
    let mut away: HashMap<i64, String> = HashMap::new();
    for leave in roster::leave_during(&state.db, &ids, slot_start, slot_end).await? {
        away.entry(leave.officer_id).or_insert_with(|| roster::leave_words(state, &leave));
    }
    let mut out: Vec<AssignmentCandidate> = people
        .into_iter()
        .map(|o| {
            let distance_m = match (task.lat, task.lon, o.last_lat, o.last_lon) {
                (Some(tl), Some(tn), Some(ol), Some(on)) => Some(haversine_m(tl, tn, ol, on)),
                _ => None,
            };
            AssignmentCandidate {
                officer_id: o.id,
                code: o.code,
                name: format!("{} {}", o.first_name, o.last_name),
                status: o.status,
                assigned: assigned_here.contains(&o.id),
                distance_m,
                overlapping_tasks: conflicts.remove(&o.id).unwrap_or_default(),
                duty: duty.get(&o.id).copied().unwrap_or(Duty::NoRoster),
                leave: away.remove(&o.id),
            }
        })
        .collect();
    // The assigned first, then whoever is on duty, then by distance.
    out.sort_by(|a, b| {
        b.assigned
            .cmp(&a.assigned)
            .then_with(|| (b.duty.on_duty() && b.leave.is_none()).cmp(&(a.duty.on_duty() && a.leave.is_none())))
            .then_with(|| match (a.distance_m, b.distance_m) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.code.cmp(&b.code))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, h, 0, 0).unwrap()
    }

    #[test]
    fn slots_overlap_like_the_schema_trigger() {
        let slot = |start: u32, end: Option<u32>| (at(start), slot_end(at(start), end.map(at)));
        assert!(overlaps(slot(8, Some(10)), slot(9, Some(11))));
        assert!(!overlaps(slot(8, Some(10)), slot(10, Some(11))), "touching ends do not overlap");
        assert!(overlaps(slot(8, None), slot(19, Some(21))), "an open end runs twelve hours");
        assert!(!overlaps(slot(8, None), slot(20, Some(21))), "and no longer");
        assert!(!overlaps(slot(12, None), slot(8, Some(9))));
        assert!(overlaps(slot(12, None), slot(8, None)));
    }
}
