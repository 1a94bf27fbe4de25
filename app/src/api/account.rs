//! The signed-in user's own account (`/cuenta`): changing one's password. A plain HTML
//! form: with JavaScript the server function answers in place; without it the outcome is
//! kept as a one-shot flash (`api::flash`) and the browser is sent back to the page.

use contract::ApiError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use contract::account::*;

/// Changes the signed-in user's password: the current one is required, the new one typed
/// twice. Every other session and API token of the user ends; this session stays signed in.
#[server(prefix = "/api/fn", endpoint = "change_password", output = crate::api::codec::JsonText)]
pub async fn change_password(
    current_password: String,
    password: String,
    password_confirm: String,
) -> Result<(), ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::error::AppError;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::respond(
        async {
            if password != password_confirm {
                return Err(AppError::validation("password_confirm", "Las contraseñas nuevas no coinciden."));
            }
            let state = context::app_state()?;
            let actor = context::current_actor_for_password_change().await?;
            let id = actor.user_id;
            let change =
                services::users::set_password(&state, &actor, &meta, id, Some(current_password), Some(password));
            let set = context::as_writer(&state, &actor, change).await?;
            if let Some(epoch) = set.own_epoch {
                context::restamp_current_session(epoch).await?;
            }
            Ok(())
        }
        .await,
    );
    after_plain_post(&meta, ACCOUNT_PAGE, ACCOUNT_PAGE, || match &result {
        Ok(()) => FormOutcome::PasswordChanged,
        Err(error) => FormOutcome::Failed(error.clone()),
    })
    .await;
    result
}
