//! Login, logout and "who am I".

use contract::ApiError;
use leptos::prelude::*;

use contract::auth::*;

/// Checks the credentials and opens a session. On success the browser is sent to the role's
/// home ([`home_for`]: the live map, or an officer's tasks) (or to `/cuenta/2fa` when the role requires two-factor sign-in and the user has not
/// enrolled yet). A user with two-factor sign-in is not signed in yet: the session waits for
/// the code and the browser goes to `/login/2fa`. A plain form post (no JavaScript) that
/// fails is sent back to `/login?error=<code>`.
#[server(prefix = "/api/fn", endpoint = "login", output = crate::api::codec::JsonText)]
pub async fn login(email: String, password: String) -> Result<(), ApiError> {
    use crate::server::{context, pending_login};
    use contract::twofactor::{LOGIN_CODE_PAGE, TWO_FACTOR_PAGE};
    use gad_core::services;
    use gad_core::services::auth::LoginOutcome;

    let meta = context::request_meta();
    let result = async {
        let state = context::app_state()?;
        let session = context::session().await?;
        match services::auth::login(&state, &email, &password, &meta).await? {
            LoginOutcome::SignedIn(user) => {
                gad_core::signin::start_session(&session, &user).await?;
                let enrol = services::twofactor::require_enrolled(&state, &user).await.is_err();
                Ok(if enrol { TWO_FACTOR_PAGE } else { home_for(user.role) })
            }
            LoginOutcome::SecondFactor(user) => {
                pending_login::begin(&session, user.id).await?;
                Ok(LOGIN_CODE_PAGE)
            }
        }
    }
    .await;
    let result = context::respond(result);
    match &result {
        Ok(next) => leptos_axum::redirect(next),
        Err(err) if meta.plain_form_post => {
            let code =
                serde_json::to_value(err.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            leptos_axum::redirect(&format!("/login?error={code}"));
        }
        Err(_) => {}
    }
    result.map(|_| ())
}

/// Ends the session and returns to the login page.
#[server(prefix = "/api/fn", endpoint = "logout", output = crate::api::codec::JsonText)]
pub async fn logout() -> Result<(), ApiError> {
    use crate::server::context;

    let result = async {
        let session = context::session().await?;
        // Signing out is audited when there was someone signed in.
        if let Ok(actor) = context::current_actor_for_password_change().await {
            let state = context::app_state()?;
            gad_core::services::auth::audit_logout(&state, &actor, &context::request_meta()).await?;
        }
        gad_core::signin::end_session(&session).await
    }
    .await;
    let result = context::respond(result);
    if result.is_ok() {
        leptos_axum::redirect("/login");
    }
    result
}

/// The current user, or `None` for an anonymous visitor.
#[server(prefix = "/api/fn", endpoint = "whoami", output = crate::api::codec::JsonText)]
pub async fn whoami() -> Result<Option<CurrentUser>, ApiError> {
    use crate::server::context;
    use gad_core::error::AppError;
    use gad_core::services;

    context::respond(
        async {
            match context::current_actor_for_password_change().await {
                Ok(actor) => Ok(Some(services::users::current_user(&actor))),
                Err(AppError::Unauthenticated) => Ok(None),
                Err(err) => Err(err),
            }
        }
        .await,
    )
}

/// The label of the single sign-on button, when single sign-on is configured (`GAD_OIDC_*`).
#[server(prefix = "/api/fn", endpoint = "sso_label", output = crate::api::codec::JsonText)]
pub async fn sso_label() -> Result<Option<String>, ApiError> {
    use crate::server::context;
    let state = context::respond(context::app_state())?;
    Ok(state.config.oidc.as_ref().map(|o| o.label.clone()))
}
