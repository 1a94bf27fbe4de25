//! Server-only code (`ssr` feature): state, identity, errors, and the service layer.

pub mod actor;
pub mod cache;
pub mod client;
pub mod config;
pub mod context;
pub mod db;
pub mod entities;
pub mod error;
pub mod events;
pub mod harness;
pub mod pending_login;
pub mod permissions;
pub mod request_user;
pub mod services;
pub mod sessions;
pub mod state;
