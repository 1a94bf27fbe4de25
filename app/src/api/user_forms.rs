//! Plain-form doors (default URL encoding) to the user administration that `api::users`
//! exposes as JSON: the forms of the `/usuarios` page. They only adapt the inputs; the
//! service checks every permission. With JavaScript they answer the value; after a plain
//! post (no JavaScript) they keep the outcome as a one-shot flash (`api::flash`) and redirect
//! back to the page, so generated passwords, link codes and tokens never appear in a URL.

use contract::ApiError;
use contract::domain::Role;
use contract::users::{CreatedApiToken, CreatedUser, LinkCode, UserSummary};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use contract::user_forms::*;

#[cfg(feature = "ssr")]
fn manage_page(id: i64) -> String {
    format!("{USERS_PAGE}?id={id}")
}

#[cfg(feature = "ssr")]
fn failed_or<T>(
    result: &Result<T, ApiError>,
    ok: impl FnOnce(&T) -> contract::flash::FormOutcome,
) -> contract::flash::FormOutcome {
    match result {
        Ok(value) => ok(value),
        Err(err) => contract::flash::FormOutcome::Failed(err.clone()),
    }
}

/// Creates a user; an empty password means "generate one" (returned once).
#[server(prefix = "/api/fn", endpoint = "create_user_form", output = crate::api::codec::JsonText)]
pub async fn create_user_form(
    dni: String,
    first_name: String,
    last_name: String,
    email: String,
    #[server(default)] phone: String,
    role: Role,
    #[server(default)] password: String,
    #[server(default)] officer_code: String,
    #[server(default)] officer_rank: String,
    #[server(default)] officer_unit: String,
) -> Result<CreatedUser, ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use contract::users::{NewUserInput, OfficerProfile};
    use gad_core::services;
    let some = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    // What was typed, to fill the form again if it is refused (never the password).
    let typed = vec![
        ("dni".to_owned(), dni.clone()),
        ("first_name".to_owned(), first_name.clone()),
        ("last_name".to_owned(), last_name.clone()),
        ("email".to_owned(), email.clone()),
        ("phone".to_owned(), phone.clone()),
        ("role".to_owned(), role.as_str().to_owned()),
        ("officer_code".to_owned(), officer_code.clone()),
        ("officer_rank".to_owned(), officer_rank.clone()),
        ("officer_unit".to_owned(), officer_unit.clone()),
    ];
    let officer =
        Some(OfficerProfile { code: some(officer_code), rank: officer_rank, unit: officer_unit, specialty: None });
    let input =
        NewUserInput { dni, first_name, last_name, email, phone: some(phone), role, password: some(password), officer };
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| services::users::create(state, actor, &meta, input).await).await;
    after_plain_post(&meta, USERS_PAGE, USERS_PAGE, || match &result {
        Ok(created) => FormOutcome::UserCreated(created.clone()),
        Err(error) => FormOutcome::UserNotCreated { error: error.clone(), values: typed },
    })
    .await;
    result
}

#[server(prefix = "/api/fn", endpoint = "set_user_role", output = crate::api::codec::JsonText)]
pub async fn set_user_role(id: i64, role: Role) -> Result<UserSummary, ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use contract::users::UserUpdate;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        let update = UserUpdate { role: Some(role), ..UserUpdate::default() };
        services::users::update(state, actor, &meta, id, update).await
    })
    .await;
    after_plain_post(&meta, USERS_PAGE, &manage_page(id), || {
        failed_or(&result, |u| FormOutcome::RoleChanged(u.clone()))
    })
    .await;
    result
}

/// Deactivates (`active=false`) or reactivates a user.
#[server(prefix = "/api/fn", endpoint = "set_user_active_form", output = crate::api::codec::JsonText)]
pub async fn set_user_active_form(id: i64, active: bool) -> Result<UserSummary, ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::services;
    let meta = context::request_meta();
    let result =
        context::serve(async |state, actor| services::users::set_active(state, actor, &meta, id, active).await).await;
    after_plain_post(&meta, USERS_PAGE, &manage_page(id), || {
        failed_or(&result, |u| FormOutcome::ActiveChanged(u.clone()))
    })
    .await;
    result
}

/// Resets a user's password to a generated one (returned once).
#[server(prefix = "/api/fn", endpoint = "reset_password_form", output = crate::api::codec::JsonText)]
pub async fn reset_password_form(id: i64) -> Result<Option<String>, ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        services::users::set_password(state, actor, &meta, id, None, None).await.map(|set| set.generated)
    })
    .await;
    after_plain_post(&meta, USERS_PAGE, &manage_page(id), || {
        failed_or(&result, |p| FormOutcome::PasswordReset(p.clone()))
    })
    .await;
    result
}

/// A one-time Telegram link code for a user.
#[server(prefix = "/api/fn", endpoint = "create_link_code_form", output = crate::api::codec::JsonText)]
pub async fn create_link_code_form(user_id: i64) -> Result<LinkCode, ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::services;
    let meta = context::request_meta();
    let result =
        context::serve(async |state, actor| services::users::create_link_code(state, actor, &meta, user_id).await)
            .await;
    after_plain_post(&meta, USERS_PAGE, &manage_page(user_id), || {
        failed_or(&result, |l| FormOutcome::LinkCode(l.clone()))
    })
    .await;
    result
}

/// A personal API token for a user (the secret is returned once).
#[server(prefix = "/api/fn", endpoint = "create_api_token_form", output = crate::api::codec::JsonText)]
pub async fn create_api_token_form(user_id: i64, name: String, read_only: bool) -> Result<CreatedApiToken, ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::serve(async |state, actor| {
        services::users::create_api_token(state, actor, &meta, user_id, &name, read_only, None).await
    })
    .await;
    after_plain_post(&meta, USERS_PAGE, &manage_page(user_id), || {
        failed_or(&result, |t| FormOutcome::ApiToken(t.clone()))
    })
    .await;
    result
}
