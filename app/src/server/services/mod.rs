//! The service layer: plain async functions that check permissions, validate, run one
//! transaction and return DTOs. No Leptos, no HTTP: the dashboard, the bot and the REST API
//! all end up here.

pub mod audit;
pub mod auth;
pub mod demo;
pub mod emergency;
pub mod feedback;
pub mod geo;
pub mod officers;
pub mod realtime;
pub mod stats;
pub mod tasks;
pub mod users;

use chrono::{DateTime, Utc};

/// A UTC instant shown in the configured time zone, as the UI and the bot print it.
pub fn local_time(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string()
}
