//! The `gad` server: configuration at start-up, telemetry, the HTTP router with its
//! middleware, health checks, and the CLI commands. Business rules live in `app::server`.
// Leptos view types of the larger pages nest deeply; monomorphising them here needs more room.
#![recursion_limit = "256"]

pub mod admission;
pub mod backup;
pub mod bot;
pub mod caa;
pub mod cli;
pub mod db_logins;
pub mod feedback_webhook;
pub mod health;
pub mod idempotency;
pub mod lang;
pub mod metrics;
pub mod middleware;
pub mod oidc;
pub mod provenance;
pub mod ratelimit;
pub mod rest;
pub mod router;
pub mod security_headers;
pub mod sla;
pub mod startup;
pub mod telemetry;
pub mod verify;

pub use startup::Application;
