//! Who hears which live event. Supervisors and admins see the whole operation; an officer
//! hears about their own tasks, their own position and status, and emergencies they are sent
//! to. The realtime stream and the bot's notifier both ask here.

use crate::actor::Actor;
use crate::permissions::{Capability, allows};
use contract::events::Event;

pub fn visible_to(actor: &Actor, event: &Event) -> bool {
    if allows(actor.role, Capability::SeeAllTasks) {
        return true;
    }
    let Some(mine) = actor.officer_id else {
        return false;
    };
    match event {
        Event::TaskCreated { officer_ids, .. }
        | Event::TaskAssigned { officer_ids, .. }
        | Event::EmergencyCreated { officer_ids, .. } => officer_ids.contains(&mine),
        Event::TaskUnassigned { officer_id, .. }
        | Event::OfficerPosition { officer_id, .. }
        | Event::OfficerStatusChanged { officer_id, .. } => *officer_id == mine,
        // These carry no assignee list; officers refresh their tasks on the events above.
        Event::TaskUpdated { .. } | Event::TaskDeleted { .. } | Event::TaskStatusChanged { .. } => false,
        // Broadcasts are composed and followed by supervisors and admins.
        Event::BroadcastCreated { .. } | Event::BroadcastDelivered { .. } => false,
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
        assert!(visible_to(&actor(Role::Supervisor, None), &created));
        assert!(visible_to(&actor(Role::Admin, None), &status));
        assert!(visible_to(&actor(Role::Officer, Some(7)), &created));
        assert!(!visible_to(&actor(Role::Officer, Some(8)), &created));
        assert!(visible_to(&actor(Role::Officer, Some(8)), &status));
        assert!(!visible_to(&actor(Role::Officer, None), &status));
    }
}
