//! The personal logbook (notas). Plain scalar arguments: the page's forms work without
//! JavaScript and a plain form post is sent back to `/notas`.

use contract::{ApiError, Page};
use leptos::prelude::*;

use contract::notes::*;

/// The viewer's own notes, newest first.
#[server(prefix = "/api/fn", endpoint = "list_notes", output = crate::api::codec::JsonText)]
pub async fn list_notes(cursor: Option<String>, limit: Option<u32>) -> Result<Page<Note>, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::notes::list(state, actor, cursor, limit).await).await
}

#[server(prefix = "/api/fn", endpoint = "create_note", output = crate::api::codec::JsonText)]
pub async fn create_note(body: String) -> Result<Note, ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| services::notes::create(state, actor, &meta, &body).await).await;
    crate::api::form_redirect(&meta, &result, "/notas", "/notas");
    result
}

#[server(prefix = "/api/fn", endpoint = "delete_note", output = crate::api::codec::JsonText)]
pub async fn delete_note(id: i64) -> Result<(), ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| services::notes::delete(state, actor, &meta, id).await).await;
    crate::api::form_redirect(&meta, &result, "/notas", "/notas");
    result
}
