//! Domain events: what changed, published after each committed business operation and
//! delivered to every replica (Redis pub/sub) and, from there, to dashboards and the bot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{OfficerStatus, TaskPriority, TaskStatus};

/// On the wire: a JSON object whose `type` names the event, with the event's fields beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", try_from = "Wire")]
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
    /// Someone gave feedback (the outgoing feedback webhook passes it on).
    #[serde(rename = "feedback.created")]
    FeedbackCreated { feedback_id: i64 },
    /// A task passed a deadline (`target`: ack, start or finish); `level` 1–3 is the step of
    /// its escalation (its supervisor, every supervisor, the admins).
    #[serde(rename = "task.overdue")]
    TaskOverdue { task_id: i64, code: String, priority: TaskPriority, target: String, level: u8 },
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
            Event::FeedbackCreated { .. } => "feedback.created",
            Event::TaskOverdue { .. } => "task.overdue",
        }
    }
}

/// Every field of any event, read in one pass and then checked against the `type`. Serde's own
/// reading of an internally tagged enum buffers the object first, and that machinery is a
/// sizeable part of the WASM bundle, which reads every live event.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    task_id: Option<i64>,
    code: Option<String>,
    title: Option<String>,
    priority: Option<TaskPriority>,
    officer_ids: Option<Vec<i64>>,
    from: Option<TaskStatus>,
    to: Option<TaskStatus>,
    by_user_id: Option<i64>,
    officer_id: Option<i64>,
    lat: Option<f64>,
    lon: Option<f64>,
    recorded_at: Option<DateTime<Utc>>,
    status: Option<OfficerStatus>,
    broadcast_id: Option<i64>,
    group_id: Option<i64>,
    delivered: Option<bool>,
    feedback_id: Option<i64>,
    target: Option<String>,
    level: Option<u8>,
}

fn need<T>(value: Option<T>, field: &'static str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{field}`"))
}

impl TryFrom<Wire> for Event {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        Ok(match w.kind.as_str() {
            "task.created" => Event::TaskCreated {
                task_id: need(w.task_id, "task_id")?,
                code: need(w.code, "code")?,
                title: need(w.title, "title")?,
                priority: need(w.priority, "priority")?,
                officer_ids: need(w.officer_ids, "officer_ids")?,
            },
            "task.updated" => Event::TaskUpdated { task_id: need(w.task_id, "task_id")?, code: need(w.code, "code")? },
            "task.deleted" => Event::TaskDeleted { task_id: need(w.task_id, "task_id")?, code: need(w.code, "code")? },
            "task.status_changed" => Event::TaskStatusChanged {
                task_id: need(w.task_id, "task_id")?,
                code: need(w.code, "code")?,
                from: need(w.from, "from")?,
                to: need(w.to, "to")?,
                by_user_id: w.by_user_id,
            },
            "task.assigned" => Event::TaskAssigned {
                task_id: need(w.task_id, "task_id")?,
                code: need(w.code, "code")?,
                officer_ids: need(w.officer_ids, "officer_ids")?,
            },
            "task.unassigned" => Event::TaskUnassigned {
                task_id: need(w.task_id, "task_id")?,
                code: need(w.code, "code")?,
                officer_id: need(w.officer_id, "officer_id")?,
            },
            "officer.position" => Event::OfficerPosition {
                officer_id: need(w.officer_id, "officer_id")?,
                lat: need(w.lat, "lat")?,
                lon: need(w.lon, "lon")?,
                recorded_at: need(w.recorded_at, "recorded_at")?,
            },
            "officer.status" => Event::OfficerStatusChanged {
                officer_id: need(w.officer_id, "officer_id")?,
                status: need(w.status, "status")?,
            },
            "emergency.created" => Event::EmergencyCreated {
                task_id: need(w.task_id, "task_id")?,
                code: need(w.code, "code")?,
                lat: need(w.lat, "lat")?,
                lon: need(w.lon, "lon")?,
                officer_ids: need(w.officer_ids, "officer_ids")?,
            },
            "broadcast.created" => Event::BroadcastCreated {
                broadcast_id: need(w.broadcast_id, "broadcast_id")?,
                group_id: need(w.group_id, "group_id")?,
            },
            "broadcast.delivered" => Event::BroadcastDelivered {
                broadcast_id: need(w.broadcast_id, "broadcast_id")?,
                delivered: need(w.delivered, "delivered")?,
            },
            "feedback.created" => Event::FeedbackCreated { feedback_id: need(w.feedback_id, "feedback_id")? },
            "task.overdue" => Event::TaskOverdue {
                task_id: need(w.task_id, "task_id")?,
                code: need(w.code, "code")?,
                priority: need(w.priority, "priority")?,
                target: need(w.target, "target")?,
                level: need(w.level, "level")?,
            },
            other => return Err(format!("unknown event type `{other}`")),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_event_reads_back_what_it_writes() {
        let events = [
            Event::TaskCreated {
                task_id: 1,
                code: "PAT-2026-0001".into(),
                title: "Patrulla".into(),
                priority: TaskPriority::High,
                officer_ids: vec![2, 3],
            },
            Event::TaskUpdated { task_id: 1, code: "A".into() },
            Event::TaskDeleted { task_id: 1, code: "A".into() },
            Event::TaskStatusChanged {
                task_id: 1,
                code: "A".into(),
                from: TaskStatus::Scheduled,
                to: TaskStatus::InProgress,
                by_user_id: Some(4),
            },
            Event::TaskStatusChanged {
                task_id: 1,
                code: "A".into(),
                from: TaskStatus::Scheduled,
                to: TaskStatus::InProgress,
                by_user_id: None,
            },
            Event::TaskAssigned { task_id: 1, code: "A".into(), officer_ids: vec![] },
            Event::TaskUnassigned { task_id: 1, code: "A".into(), officer_id: 2 },
            Event::OfficerPosition {
                officer_id: 2,
                lat: -34.6,
                lon: -58.38,
                recorded_at: Utc.with_ymd_and_hms(2026, 11, 29, 4, 0, 0).unwrap(),
            },
            Event::OfficerStatusChanged { officer_id: 2, status: OfficerStatus::Available },
            Event::EmergencyCreated { task_id: 1, code: "A".into(), lat: -34.6, lon: -58.38, officer_ids: vec![2] },
            Event::BroadcastCreated { broadcast_id: 1, group_id: 2 },
            Event::BroadcastDelivered { broadcast_id: 1, delivered: true },
            Event::FeedbackCreated { feedback_id: 3 },
        ];
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            assert!(json.contains(&format!("\"type\":\"{}\"", event.kind())), "{json}");
            assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event, "{json}");
        }
    }

    #[test]
    fn a_missing_field_or_an_unknown_type_is_refused() {
        let missing = serde_json::from_str::<Event>(r#"{"type":"task.updated","task_id":1}"#).unwrap_err();
        assert!(missing.to_string().contains("missing field `code`"), "{missing}");
        let unknown = serde_json::from_str::<Event>(r#"{"type":"task.exploded","task_id":1}"#).unwrap_err();
        assert!(unknown.to_string().contains("unknown event type"), "{unknown}");
        assert!(serde_json::from_str::<Event>(r#"{"task_id":1}"#).is_err(), "the type is required");
    }
}
