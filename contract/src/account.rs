//! The signed-in user's own account (`/cuenta`): changing one's password. A plain HTML
//! form: with JavaScript the server function answers in place; without it the outcome is
//! kept as a one-shot flash (`api::flash`) and the browser is sent back to the page.

/// The own-account page (and the key of its flash). A user whose password an admin reset is
/// sent here by the page guard until they change it.
pub const ACCOUNT_PAGE: &str = "/cuenta";
