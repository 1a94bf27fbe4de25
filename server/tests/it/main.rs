//! GAD's integration tests: one binary (one link of axum, sea-orm, Leptos and the AWS SDK
//! instead of one per file), one module per theme. Each test starts a real `gad` on
//! 127.0.0.1:0 against a fresh database (SQLite, or PostgreSQL+PostGIS with Redis when
//! `GAD_TEST_PG_URL` / the local services are reachable); see `common`.
//!
//! Run one theme with `cargo test -p server --test it -- tasks::`.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;
mod audit_events;
mod auth;
mod backup;
mod bot;
mod caddy;
mod dashboard;
mod dashboard_pages;
mod db_logins;
mod faults;
mod feedback_webhook;
mod health;
mod import;
mod import_legacy;
mod layers;
mod metrics;
mod observability;
mod officers_geo;
mod permissions;
mod replay;
mod replicas;
mod rest_audit_feedback;
mod rest_officers_geo;
mod rest_tasks;
mod rest_users;
mod roster;
mod security;
mod sla;
mod slice;
mod sso;
mod storage;
mod tasks;
mod verify;
