//! The domain vocabulary (SPEC.md §3–§4): one enum per closed set of values, shared by the
//! database (TEXT columns with CHECK constraints, see `migrations::vocabulary`), the services,
//! the REST API, the dashboard and the bot.
//!
//! Compiled for the server and for the browser: plain Rust + serde here; only under the `ssr`
//! feature do the enums also derive sea-orm's `DeriveActiveEnum` (stored as their `as_str()`
//! text), so sea-orm never reaches the WASM build.
//!
//! Every enum has `as_str()` (the stored / serialized value, snake_case), `FromStr` (its
//! inverse), `Display` (= `as_str()`), `ALL` (every value in declaration order) and
//! `label_es()` (the Spanish label for the UI and the bot).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string that is not one of an enum's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind}: {value:?}")]
pub struct UnknownValue {
    /// The enum's name, e.g. `TaskStatus`.
    pub kind: &'static str,
    pub value: String,
}

/// Declares one vocabulary enum: `Variant = "stored_value" => "Etiqueta",`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
        #[cfg_attr(feature = "db", sea_orm(rs_type = "String", db_type = "Text"))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[cfg_attr(feature = "db", sea_orm(string_value = $value))]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as stored in the database and sent over the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value,)+
                }
            }

            /// The Spanish label shown to people.
            pub const fn label_es(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($value => Ok($name::$variant),)+
                    _ => Err(UnknownValue { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// What a user may do (SPEC.md §5).
    pub enum Role {
        Officer = "officer" => "Efectivo",
        Supervisor = "supervisor" => "Supervisor",
        Admin = "admin" => "Administrador",
    }
}

vocabulary! {
    /// An officer's availability.
    pub enum OfficerStatus {
        Available = "available" => "Disponible",
        OnTask = "on_task" => "En tarea",
        OffDuty = "off_duty" => "Fuera de servicio",
        Unavailable = "unavailable" => "No disponible",
    }
}

vocabulary! {
    /// Where a reported position came from.
    pub enum PositionSource {
        Telegram = "telegram" => "Telegram",
        Web = "web" => "Panel web",
        Api = "api" => "API",
    }
}

vocabulary! {
    pub enum TaskType {
        Patrol = "patrol" => "Patrullaje",
        Investigation = "investigation" => "Investigación",
        Surveillance = "surveillance" => "Vigilancia",
        Intervention = "intervention" => "Intervención",
        Administrative = "administrative" => "Administrativa",
        Training = "training" => "Capacitación",
        Emergency = "emergency" => "Emergencia",
    }
}

impl TaskType {
    /// The prefix of generated task codes, in Spanish as the dashboard speaks:
    /// `PAT-2026-0001`, `VIG-…`, `EMER-…`.
    pub const fn code_prefix(self) -> &'static str {
        match self {
            TaskType::Patrol => "PAT",
            TaskType::Investigation => "INV",
            TaskType::Surveillance => "VIG",
            TaskType::Intervention => "INT",
            TaskType::Administrative => "ADM",
            TaskType::Training => "CAP",
            TaskType::Emergency => "EMER",
        }
    }
}

vocabulary! {
    /// Ordered from least to most pressing (`Ord` follows declaration order).
    pub enum TaskPriority {
        Low = "low" => "Baja",
        Medium = "medium" => "Media",
        High = "high" => "Alta",
        Urgent = "urgent" => "Urgente",
        Critical = "critical" => "Crítica",
    }
}

vocabulary! {
    /// A task's lifecycle state (SPEC.md §4).
    pub enum TaskStatus {
        Scheduled = "scheduled" => "Programada",
        InProgress = "in_progress" => "En curso",
        Paused = "paused" => "Pausada",
        Completed = "completed" => "Finalizada",
        Cancelled = "cancelled" => "Cancelada",
    }
}

vocabulary! {
    /// The door an action came through.
    pub enum Channel {
        Web = "web" => "Panel web",
        Telegram = "telegram" => "Telegram",
        Api = "api" => "API",
        System = "system" => "Sistema",
    }
}

vocabulary! {
    pub enum BroadcastKind {
        Normal = "normal" => "Normal",
        Alert = "alert" => "Alerta",
        Urgent = "urgent" => "Urgente",
        Info = "info" => "Información",
    }
}

vocabulary! {
    pub enum FeedbackStatus {
        New = "new" => "Nueva",
        Reviewing = "reviewing" => "En revisión",
        Resolved = "resolved" => "Resuelta",
    }
}

vocabulary! {
    pub enum AuditSeverity {
        Info = "info" => "Información",
        Warning = "warning" => "Advertencia",
        Critical = "critical" => "Crítica",
    }
}

vocabulary! {
    /// Outcome of sending a broadcast to Telegram.
    pub enum DeliveryStatus {
        Pending = "pending" => "Pendiente",
        Delivered = "delivered" => "Entregado",
        Failed = "failed" => "Fallido",
    }
}

vocabulary! {
    /// Why an officer is away (licencias).
    pub enum LeaveKind {
        Vacation = "vacation" => "Vacaciones",
        Sick = "sick" => "Enfermedad",
        DayOff = "day_off" => "Franco",
        Training = "training" => "Capacitación",
    }
}

vocabulary! {
    /// Where a leave stands: requested by the officer (or for them), then decided.
    pub enum LeaveStatus {
        Requested = "requested" => "Solicitada",
        Approved = "approved" => "Aprobada",
        Rejected = "rejected" => "Rechazada",
        Cancelled = "cancelled" => "Anulada",
    }
}

vocabulary! {
    /// Whether an officer is on duty now, derived from their shifts and approved leave. An
    /// officer with no shifts on record (none ending in the last week or later) has no roster:
    /// their status alone says whether they are available.
    pub enum Duty {
        NoRoster = "no_roster" => "Sin turnos cargados",
        OnShift = "on_shift" => "De turno",
        OffShift = "off_shift" => "Fuera de turno",
        OnLeave = "on_leave" => "De licencia",
    }
}

impl Duty {
    /// Whether the officer may be offered for assignment and dispatch now.
    pub const fn on_duty(self) -> bool {
        matches!(self, Duty::NoRoster | Duty::OnShift)
    }
}

impl PartialOrd for TaskPriority {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TaskPriority {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

impl TaskStatus {
    /// Whether SPEC.md §4 allows `self → to` (who may do it is the service layer's concern).
    pub const fn can_transition_to(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        matches!(
            (self, to),
            (Scheduled, InProgress)
                | (InProgress, Paused)
                | (Paused, InProgress)
                | (InProgress | Paused, Completed)
                | (Scheduled | InProgress | Paused, Cancelled)
        )
    }

    /// The statuses reachable from `self`, in declaration order.
    pub fn next_statuses(self) -> impl Iterator<Item = TaskStatus> {
        TaskStatus::ALL.iter().copied().filter(move |to| self.can_transition_to(*to))
    }

    /// Completed and cancelled tasks never change again.
    pub const fn is_final(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Cancelled)
    }

    /// Being worked on: started and not finished (in progress or paused).
    pub const fn is_active(self) -> bool {
        matches!(self, TaskStatus::InProgress | TaskStatus::Paused)
    }

    /// Holding its officers' schedule: scheduled or active (the database's overlap rule uses
    /// exactly these).
    pub const fn is_open(self) -> bool {
        !self.is_final()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str`, serde, `FromStr` and `Display` agree for every value of every enum.
    macro_rules! check_roundtrip {
        ($($ty:ty),+) => {$(
            for value in <$ty>::ALL {
                let s = value.as_str();
                assert_eq!(s.parse::<$ty>(), Ok(*value));
                assert_eq!(value.to_string(), s);
                assert_eq!(serde_json::to_string(value).expect("serialize"), format!("\"{s}\""));
                assert_eq!(serde_json::from_str::<$ty>(&format!("\"{s}\"")).expect("deserialize"), *value);
                assert!(!value.label_es().is_empty());
            }
            assert!("nope".parse::<$ty>().is_err());
        )+};
    }

    #[test]
    fn every_value_round_trips() {
        check_roundtrip!(
            Role,
            OfficerStatus,
            PositionSource,
            TaskType,
            TaskPriority,
            TaskStatus,
            Channel,
            BroadcastKind,
            FeedbackStatus,
            AuditSeverity,
            DeliveryStatus
        );
    }

    #[test]
    fn spanish_labels() {
        assert_eq!(TaskStatus::InProgress.label_es(), "En curso");
        assert_eq!(Role::Officer.label_es(), "Efectivo");
        assert_eq!(Role::Admin.label_es(), "Administrador");
        assert_eq!(TaskPriority::Critical.label_es(), "Crítica");
        assert_eq!(TaskType::Training.label_es(), "Capacitación");
    }

    #[test]
    fn lifecycle_follows_the_spec() {
        use TaskStatus::*;
        let allowed = [
            (Scheduled, InProgress),
            (InProgress, Paused),
            (Paused, InProgress),
            (InProgress, Completed),
            (Paused, Completed),
            (Scheduled, Cancelled),
            (InProgress, Cancelled),
            (Paused, Cancelled),
        ];
        for from in TaskStatus::ALL {
            for to in TaskStatus::ALL {
                assert_eq!(from.can_transition_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
        for status in TaskStatus::ALL {
            assert_eq!(status.is_final(), status.next_statuses().next().is_none(), "{status}");
        }
        assert!(InProgress.is_active() && Paused.is_active());
        assert!(!Scheduled.is_active() && Scheduled.is_open());
    }

    #[test]
    fn priorities_are_ordered() {
        assert!(TaskPriority::Critical > TaskPriority::Urgent);
        assert!(TaskPriority::Low < TaskPriority::Medium);
    }

    /// The enums and the database's CHECK constraints list the same values.
    #[test]
    fn enums_match_the_database_vocabulary() {
        use migrations::vocabulary as db;
        fn strs<T: Copy>(all: &[T], f: fn(T) -> &'static str) -> Vec<&'static str> {
            all.iter().map(|v| f(*v)).collect()
        }
        assert_eq!(strs(Role::ALL, Role::as_str), db::ROLES);
        assert_eq!(strs(OfficerStatus::ALL, OfficerStatus::as_str), db::OFFICER_STATUSES);
        assert_eq!(strs(PositionSource::ALL, PositionSource::as_str), db::POSITION_SOURCES);
        assert_eq!(strs(TaskType::ALL, TaskType::as_str), db::TASK_TYPES);
        assert_eq!(strs(TaskPriority::ALL, TaskPriority::as_str), db::TASK_PRIORITIES);
        assert_eq!(strs(TaskStatus::ALL, TaskStatus::as_str), db::TASK_STATUSES);
        assert_eq!(strs(Channel::ALL, Channel::as_str), db::CHANNELS);
        assert_eq!(strs(BroadcastKind::ALL, BroadcastKind::as_str), db::BROADCAST_KINDS);
        assert_eq!(strs(FeedbackStatus::ALL, FeedbackStatus::as_str), db::FEEDBACK_STATUSES);
        assert_eq!(strs(AuditSeverity::ALL, AuditSeverity::as_str), db::AUDIT_SEVERITIES);
        assert_eq!(strs(DeliveryStatus::ALL, DeliveryStatus::as_str), db::DELIVERY_STATUSES);
        assert_eq!(strs(LeaveKind::ALL, LeaveKind::as_str), db::LEAVE_KINDS);
        assert_eq!(strs(LeaveStatus::ALL, LeaveStatus::as_str), db::LEAVE_STATUSES);
        let open: Vec<_> = TaskStatus::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str()).collect();
        assert_eq!(open, db::TASK_OPEN_STATUSES);
    }
}
