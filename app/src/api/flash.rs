//! One-shot outcomes of plain form posts (no JavaScript). A form door that answers a plain
//! post keeps what happened in the session and redirects back to its page; the page's loader
//! takes it (read and removed), so it is shown exactly once. One-time secrets (a generated
//! password, a Telegram link code, an API token) travel this way, never in a URL. With
//! JavaScript the same outcome is the server function's answer, shown at once.

use contract::ApiError;
use leptos::prelude::*;

use contract::flash::*;

/// Takes (reads and removes) the outcome that a plain form post left for `page` (a path such
/// as `/usuarios`). An outcome left for another page is dropped, so nothing shows up late.
#[server(prefix = "/api/fn", endpoint = "take_flash", output = crate::api::codec::JsonText)]
pub async fn take_flash(page: String) -> Result<Option<FormOutcome>, ApiError> {
    use crate::server::context;
    context::respond(context::take_flash(&page).await)
}

/// After a plain form post: keeps `outcome` for `page` and redirects to `to`. A hydrated
/// client or the bot gets the server function's answer instead, and nothing is kept.
#[cfg(feature = "ssr")]
pub(crate) async fn after_plain_post(
    meta: &crate::server::context::RequestMeta,
    page: &str,
    to: &str,
    outcome: impl FnOnce() -> FormOutcome,
) {
    if !meta.plain_form_post {
        return;
    }
    if let Err(err) = crate::server::context::put_flash(page, outcome()).await {
        tracing::error!(error = %err, "could not keep the outcome of a form post");
    }
    leptos_axum::redirect(to);
}
