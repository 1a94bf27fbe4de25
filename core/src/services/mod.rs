//! The service layer: plain async functions that check permissions, validate, run one
//! transaction and return DTOs. No Leptos, no HTTP: the dashboard, the bot and the REST API
//! all end up here.

pub mod activity;
pub mod assignment;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod bot_inbox;
pub mod broadcasts;
pub mod conversations;
pub mod csv;
pub mod emergency;
pub mod feedback;
pub mod gauges;
pub mod geo;
pub mod import;
pub mod import_legacy;
pub mod notes;
pub mod notifications;
pub mod officers;
pub mod replay;
pub mod roster;
pub mod sla;
pub mod sso;
pub mod stats;
pub mod tasks;
pub mod twofactor;
pub mod users;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// Years of the calendar days a filter or a period may name. Both backends store and compare
/// these alike; PostgreSQL refuses instants before 4713 BC and SQLite compares times as text,
/// so a far-off day would be a server error on one and a wrong answer on the other.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// Whether `day` lies in [`YEARS`].
pub fn day_in_range(day: NaiveDate) -> bool {
    YEARS.contains(&day.year())
}

/// The Spanish message for a day outside [`YEARS`].
pub const DAY_OUT_OF_RANGE: &str = "La fecha debe estar entre los años 1900 y 9999.";

/// A UTC instant shown in the configured time zone, as the UI and the bot print it.
pub fn local_time(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string()
}
