//! Deadlines and escalation (SLA): the targets per task type and priority, and the overdue
//! tasks the dashboard's banner shows.

use crate::domain::{TaskPriority, TaskStatus, TaskType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which deadline: to acknowledge (an assigned officer confirms or starts), to start, to finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SlaTargetKind {
    Ack,
    Start,
    Finish,
}

impl SlaTargetKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            SlaTargetKind::Ack => "ack",
            SlaTargetKind::Start => "start",
            SlaTargetKind::Finish => "finish",
        }
    }

    pub const fn label_es(self) -> &'static str {
        match self {
            SlaTargetKind::Ack => "Confirmar recepción",
            SlaTargetKind::Start => "Iniciar",
            SlaTargetKind::Finish => "Finalizar",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ack" => Some(SlaTargetKind::Ack),
            "start" => Some(SlaTargetKind::Start),
            "finish" => Some(SlaTargetKind::Finish),
            _ => None,
        }
    }
}

/// Minutes allowed per target for a task type (`None`: every type) and priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaTarget {
    pub task_type: Option<TaskType>,
    pub priority: TaskPriority,
    pub ack_minutes: Option<i64>,
    pub start_minutes: Option<i64>,
    pub finish_minutes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlaTargetInput {
    #[serde(default)]
    pub task_type: Option<TaskType>,
    pub priority: TaskPriority,
    #[serde(default)]
    pub ack_minutes: Option<i64>,
    #[serde(default)]
    pub start_minutes: Option<i64>,
    #[serde(default)]
    pub finish_minutes: Option<i64>,
}

/// An urgent or critical task past a due time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaAlert {
    pub task_id: i64,
    pub code: String,
    pub title: String,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    pub due_at: DateTime<Utc>,
}
