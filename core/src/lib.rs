//! GAD's core, server only: configuration, application state, identity, permissions, the
//! database entities and the service layer.
//!
//! Every door (the dashboard's server functions in `app`, the REST API and the Telegram bot in
//! `server`) resolves who is calling, builds an [`meta::AuditMeta`] and calls a service here.
//! This crate knows no Leptos and no door: it imports the contract (DTOs, errors, events) and
//! nothing above it, which the crate graph enforces.

pub mod actor;
pub mod admission;
pub mod bounded;
pub mod cache;
pub mod client;
pub mod config;
pub mod db;
pub mod demo;
pub mod entities;
pub mod error;
pub mod events;
pub mod meta;
pub mod permissions;
pub mod ratelimit;
pub mod redis_pool;
pub mod request_user;
pub mod sealer;
pub mod services;
pub mod sessions;
pub mod signin;
pub mod state;
pub mod validate;
pub mod visibility;
