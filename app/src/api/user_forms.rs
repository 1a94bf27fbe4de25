//! Plain-form doors (default URL encoding) to the user administration that `api::users`
//! exposes as JSON: creating a user and changing a role from the `/usuarios` page.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::api::users::{CreatedUser, UserSummary};
use crate::domain::Role;

/// Creates a user; an empty password means "generate one" (returned once).
#[server(prefix = "/api/fn", endpoint = "create_user_form")]
pub async fn create_user_form(
    dni: String,
    first_name: String,
    last_name: String,
    email: String,
    #[server(default)] phone: String,
    role: Role,
    #[server(default)] password: String,
) -> Result<CreatedUser, ApiError> {
    use crate::api::users::NewUserInput;
    use crate::server::{context, services};
    let some = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let input = NewUserInput { dni, first_name, last_name, email, phone: some(phone), role, password: some(password) };
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            services::users::create(&state, &actor, &context::request_meta(), input).await
        }
        .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "set_user_role")]
pub async fn set_user_role(id: i64, role: Role) -> Result<UserSummary, ApiError> {
    use crate::api::users::UserUpdate;
    use crate::server::{context, services};
    context::respond(
        async {
            let state = context::app_state()?;
            let actor = context::current_actor().await?;
            let update = UserUpdate { role: Some(role), ..UserUpdate::default() };
            services::users::update(&state, &actor, &context::request_meta(), id, update).await
        }
        .await,
    )
}
