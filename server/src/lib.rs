//! The `gad` server: configuration at start-up, telemetry, the HTTP router with its
//! middleware, health checks, and the CLI commands. Business rules live in `app::server`.

pub mod backup;
pub mod bot;
pub mod cli;
pub mod health;
pub mod idempotency;
pub mod lang;
pub mod metrics;
pub mod middleware;
pub mod ratelimit;
pub mod rest;
pub mod router;
pub mod startup;
pub mod telemetry;
pub mod verify;

pub use startup::Application;
