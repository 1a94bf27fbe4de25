//! Server-only glue of the shared crate (`ssr`): the Leptos request context (state, actor,
//! session, request metadata for the audit), the bot's harness and the pending two-factor
//! login. Everything else on the server side lives in the `gad_core` crate.

pub mod context;
pub mod harness;
pub mod pending_login;
