//! One rule, one home: which tasks a caller may see (SPEC §5). Everyone with
//! [`Capability::SeeAllTasks`] sees every task; anyone else only the tasks assigned to their
//! officer profile; a user with neither sees none. Every task query (lists, detail, the map,
//! the overview and the bell, statistics) and the live stream ask here, as a sea-query
//! condition, as SQL for the hand-written PostGIS queries, or for one task or event.

use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use contract::events::Event;

use crate::actor::Actor;
use crate::entities::{task_assignments, tasks};
use crate::error::AppResult;
use crate::permissions::{Capability, require};

/// Which tasks a caller may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskVisibility {
    All,
    AssignedTo(i64),
    Nothing,
}

impl TaskVisibility {
    pub fn of(actor: &Actor) -> Self {
        if require(actor, Capability::SeeAllTasks).is_ok() {
            TaskVisibility::All
        } else {
            actor.officer_id.map_or(TaskVisibility::Nothing, TaskVisibility::AssignedTo)
        }
    }

    /// The condition on `tasks` (`None`: every task; `Nothing` gives a condition no row meets).
    pub fn condition(self) -> Option<SimpleExpr> {
        match self {
            TaskVisibility::All => None,
            TaskVisibility::AssignedTo(officer_id) => Some(assigned_to(officer_id)),
            TaskVisibility::Nothing => Some(tasks::Column::Id.is_in(Vec::<i64>::new())),
        }
    }

    /// The same condition in SQL over `tasks` aliased `t`, for the hand-written queries; the
    /// officer id is bound by `bind` (which returns its placeholder). `None`: every task.
    pub fn sql(self, bind: impl FnOnce(i64) -> String) -> Option<String> {
        match self {
            TaskVisibility::All => None,
            TaskVisibility::AssignedTo(officer_id) => Some(format!(
                "t.id IN (SELECT a.task_id FROM task_assignments a WHERE a.officer_id = {})",
                bind(officer_id)
            )),
            TaskVisibility::Nothing => Some("FALSE".to_owned()),
        }
    }

    /// Whether the caller may see task `task_id` (which exists).
    pub async fn allows(self, db: &impl ConnectionTrait, task_id: i64) -> AppResult<bool> {
        Ok(match self {
            TaskVisibility::All => true,
            TaskVisibility::AssignedTo(officer_id) => is_assigned(db, task_id, officer_id).await?,
            TaskVisibility::Nothing => false,
        })
    }
}

/// `tasks.id IN (tasks assigned to officer_id)`.
pub fn assigned_to(officer_id: i64) -> SimpleExpr {
    tasks::Column::Id.in_subquery(
        Query::select()
            .column(task_assignments::Column::TaskId)
            .from(task_assignments::Entity)
            .and_where(task_assignments::Column::OfficerId.eq(officer_id))
            .to_owned(),
    )
}

/// Whether officer `officer_id` is assigned to task `task_id`.
pub async fn is_assigned(db: &impl ConnectionTrait, task_id: i64, officer_id: i64) -> AppResult<bool> {
    Ok(task_assignments::Entity::find()
        .filter(task_assignments::Column::TaskId.eq(task_id))
        .filter(task_assignments::Column::OfficerId.eq(officer_id))
        .one(db)
        .await?
        .is_some())
}

/// Whether a live event may reach the caller: everything for those who see every task (and
/// every officer); for officers only the events about their own tasks and their own profile.
pub fn event_visible(actor: &Actor, event: &Event) -> bool {
    let mine = match TaskVisibility::of(actor) {
        TaskVisibility::All => return true,
        TaskVisibility::AssignedTo(officer_id) => officer_id,
        TaskVisibility::Nothing => return false,
    };
    match event {
        Event::TaskCreated { officer_ids, .. }
        | Event::TaskAssigned { officer_ids, .. }
        | Event::EmergencyCreated { officer_ids, .. } => officer_ids.contains(&mine),
        Event::TaskUnassigned { officer_id, .. }
        | Event::OfficerPosition { officer_id, .. }
        | Event::OfficerStatusChanged { officer_id, .. } => *officer_id == mine,
        // These carry no assignee list; officers refresh their tasks on the events above.
        Event::TaskUpdated { .. }
        | Event::TaskDeleted { .. }
        | Event::TaskStatusChanged { .. }
        | Event::TaskOverdue { .. } => false,
        // Broadcasts are composed and followed by supervisors and admins.
        Event::BroadcastCreated { .. } | Event::BroadcastDelivered { .. } => false,
        // Feedback is reviewed by supervisors and admins.
        Event::FeedbackCreated { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::domain::{Channel, OfficerStatus, Role, TaskPriority};

    fn actor(role: Role, officer_id: Option<i64>) -> Actor {
        Actor {
            user_id: 1,
            role,
            full_name: "Prueba".into(),
            email: "prueba@gad.local".into(),
            officer_id,
            telegram_user_id: None,
            channel: Channel::Web,
            read_only: false,
            via_token: false,
            credential_epoch: 0,
            must_change_password: false,
        }
    }

    #[test]
    fn officers_hear_only_about_themselves() {
        let created = Event::TaskCreated {
            task_id: 1,
            code: "PATROL-2026-0001".into(),
            title: "t".into(),
            priority: TaskPriority::Low,
            officer_ids: vec![7],
        };
        let status = Event::OfficerStatusChanged { officer_id: 8, status: OfficerStatus::OffDuty };
        assert!(event_visible(&actor(Role::Supervisor, None), &created));
        assert!(event_visible(&actor(Role::Admin, None), &status));
        assert!(event_visible(&actor(Role::Officer, Some(7)), &created));
        assert!(!event_visible(&actor(Role::Officer, Some(8)), &created));
        assert!(event_visible(&actor(Role::Officer, Some(8)), &status));
        assert!(!event_visible(&actor(Role::Officer, None), &status));
    }
}
