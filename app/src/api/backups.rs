//! Backups and restore drills, read-only (admins).

use contract::ApiError;
use contract::backups::BackupsOverview;
use leptos::prelude::*;

#[server(prefix = "/api/fn", endpoint = "backups_overview", name = GetBackupsOverview, output = crate::api::codec::JsonText)]
pub async fn backups_overview() -> Result<BackupsOverview, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::serve(async |state, actor| services::backups::overview(state, actor).await).await
}
