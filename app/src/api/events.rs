//! Domain events: what changed, published after each committed business operation and
//! delivered to every replica (Redis pub/sub) and, from there, to dashboards and the bot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{OfficerStatus, TaskPriority, TaskStatus};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "task.created")]
    TaskCreated { task_id: i64, code: String, title: String, priority: TaskPriority, officer_ids: Vec<i64> },
    #[serde(rename = "task.updated")]
    TaskUpdated { task_id: i64, code: String },
    #[serde(rename = "task.deleted")]
    TaskDeleted { task_id: i64, code: String },
    #[serde(rename = "task.status_changed")]
    TaskStatusChanged { task_id: i64, code: String, from: TaskStatus, to: TaskStatus, by_user_id: Option<i64> },
    #[serde(rename = "task.assigned")]
    TaskAssigned { task_id: i64, code: String, officer_ids: Vec<i64> },
    #[serde(rename = "task.unassigned")]
    TaskUnassigned { task_id: i64, code: String, officer_id: i64 },
    #[serde(rename = "officer.position")]
    OfficerPosition { officer_id: i64, lat: f64, lon: f64, recorded_at: DateTime<Utc> },
    #[serde(rename = "officer.status")]
    OfficerStatusChanged { officer_id: i64, status: OfficerStatus },
    #[serde(rename = "emergency.created")]
    EmergencyCreated { task_id: i64, code: String, lat: f64, lon: f64, officer_ids: Vec<i64> },
    /// A broadcast was queued for its Telegram group (the bot process delivers it).
    #[serde(rename = "broadcast.created")]
    BroadcastCreated { broadcast_id: i64, group_id: i64 },
    /// A broadcast's delivery was recorded (delivered or failed).
    #[serde(rename = "broadcast.delivered")]
    BroadcastDelivered { broadcast_id: i64, delivered: bool },
}

impl Event {
    /// The event's type name, e.g. `task.created`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::TaskCreated { .. } => "task.created",
            Event::TaskUpdated { .. } => "task.updated",
            Event::TaskDeleted { .. } => "task.deleted",
            Event::TaskStatusChanged { .. } => "task.status_changed",
            Event::TaskAssigned { .. } => "task.assigned",
            Event::TaskUnassigned { .. } => "task.unassigned",
            Event::OfficerPosition { .. } => "officer.position",
            Event::OfficerStatusChanged { .. } => "officer.status",
            Event::EmergencyCreated { .. } => "emergency.created",
            Event::BroadcastCreated { .. } => "broadcast.created",
            Event::BroadcastDelivered { .. } => "broadcast.delivered",
        }
    }
}
