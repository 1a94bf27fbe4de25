//! GAD's shared Leptos crate.
//!
//! Compiled twice: for the server (`ssr`: UI rendering, server functions, and the service layer
//! in [`server`]) and for the browser (`hydrate`: UI and server-function clients only).
//! Data flows one way: `ui` → `api` (server functions) → `server::services` → database.

#![recursion_limit = "256"]
// A server function takes one argument per field of its form, and `#[server]` writes a
// client stub with the same arguments, which an `allow` on the function does not reach.
#![allow(clippy::too_many_arguments)]

pub mod api;
pub mod i18n;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

pub use ui::{App, shell};

/// Browser entry point, called by the `frontend` crate.
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    // Lazy pages (see `ui::lazy_pages!`) load their chunk before they hydrate.
    leptos::mount::hydrate_lazy(App);
}
