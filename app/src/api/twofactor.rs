//! Two-factor sign-in: the second step of the login (`/login/2fa`), the user's own settings
//! (`/cuenta/2fa`: enrol, confirm, regenerate recovery codes, disable) and an admin's reset of
//! another user's. Plain forms: without JavaScript each post redirects back (one-time recovery
//! codes travel in the session's flash, never in a URL); with JavaScript the answer is the
//! value. The rules live in `services::twofactor`.

use contract::ApiError;
use leptos::prelude::*;

use contract::twofactor::*;

/// The signed-in account for its own two-factor settings: the session's user, enrolled or
/// not (a required user without 2FA is nobody everywhere else). Never the bot.
#[cfg(feature = "ssr")]
async fn account() -> gad_core::error::AppResult<(gad_core::state::AppState, gad_core::actor::Actor)> {
    use crate::server::context;
    use gad_core::error::AppError;
    if use_context::<crate::server::harness::BotActor>().is_some() {
        return Err(AppError::Forbidden);
    }
    let state = context::app_state()?;
    let session = context::session().await?;
    let user_id = gad_core::signin::session_user_id(&state, &session).await?;
    let actor = gad_core::services::twofactor::account_actor(&state, user_id).await?;
    Ok((state, actor))
}

/// After a plain form post of the account page: keeps the outcome (the error, or what `ok`
/// makes of the value) and goes back to the page.
#[cfg(feature = "ssr")]
async fn back_to_page<T>(
    meta: &crate::server::context::RequestMeta,
    result: &Result<T, ApiError>,
    ok: impl FnOnce(&T) -> Option<contract::flash::FormOutcome>,
) {
    use contract::flash::FormOutcome;
    if !meta.plain_form_post {
        return;
    }
    let outcome = match result {
        Ok(value) => ok(value),
        Err(err) => Some(FormOutcome::Failed(err.clone())),
    };
    if let Some(outcome) = outcome
        && let Err(err) = crate::server::context::put_flash(TWO_FACTOR_PAGE, outcome).await
    {
        tracing::error!(error = %err, "could not keep the outcome of a form post");
    }
    leptos_axum::redirect(TWO_FACTOR_PAGE);
}

/// The signed-in user's two-factor state (and the enrolment under way, if any).
#[server(prefix = "/api/fn", endpoint = "two_factor_status", output = crate::api::codec::JsonText)]
pub async fn two_factor_status() -> Result<TwoFactorInfo, ApiError> {
    use crate::server::context;
    use gad_core::services;
    context::respond(
        async {
            let (state, actor) = account().await?;
            services::twofactor::status(&state, &actor).await
        }
        .await,
    )
}

/// Starts enrolment with a fresh secret (QR code and text). Refused while 2FA is active.
#[server(prefix = "/api/fn", endpoint = "begin_two_factor", output = crate::api::codec::JsonText)]
pub async fn begin_two_factor() -> Result<Enrolment, ApiError> {
    use crate::server::context;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::respond(
        async {
            let (state, actor) = account().await?;
            context::as_writer(&state, &actor, services::twofactor::begin(&state, &actor, &meta)).await
        }
        .await,
    );
    back_to_page(&meta, &result, |_| None).await;
    result
}

/// Activates the enrolment with a current code and the password; the recovery codes are
/// returned once.
#[server(prefix = "/api/fn", endpoint = "confirm_two_factor", output = crate::api::codec::JsonText)]
pub async fn confirm_two_factor(code: String, password: String) -> Result<Vec<String>, ApiError> {
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::respond(
        async {
            let (state, actor) = account().await?;
            let session = context::session().await?;
            let signed_in_at = gad_core::signin::signed_in(&state, &session).await?.map(|record| record.since);
            let confirm = services::twofactor::confirm(&state, &actor, &meta, &code, &password, signed_in_at);
            context::as_writer(&state, &actor, confirm).await
        }
        .await,
    );
    back_to_page(&meta, &result, |codes| Some(FormOutcome::RecoveryCodes(codes.clone()))).await;
    result
}

/// New recovery codes (the old ones stop working), with the password or a current code.
#[server(prefix = "/api/fn", endpoint = "regenerate_recovery_codes", output = crate::api::codec::JsonText)]
pub async fn regenerate_recovery_codes(
    #[server(default)] password: String,
    #[server(default)] code: String,
) -> Result<Vec<String>, ApiError> {
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::respond(
        async {
            let (state, actor) = account().await?;
            let regenerate = services::twofactor::regenerate_recovery_codes(&state, &actor, &meta, &password, &code);
            context::as_writer(&state, &actor, regenerate).await
        }
        .await,
    );
    back_to_page(&meta, &result, |codes| Some(FormOutcome::RecoveryCodes(codes.clone()))).await;
    result
}

/// Turns the user's own two-factor sign-in off, with the password or a current code.
#[server(prefix = "/api/fn", endpoint = "disable_two_factor", output = crate::api::codec::JsonText)]
pub async fn disable_two_factor(
    #[server(default)] password: String,
    #[server(default)] code: String,
) -> Result<(), ApiError> {
    use crate::server::context;
    use contract::flash::FormOutcome;
    use gad_core::services;
    let meta = context::request_meta();
    let result = context::respond(
        async {
            let (state, actor) = account().await?;
            context::as_writer(&state, &actor, services::twofactor::disable(&state, &actor, &meta, &password, &code))
                .await
        }
        .await,
    );
    back_to_page(&meta, &result, |_| Some(FormOutcome::TwoFactorDisabled)).await;
    result
}

/// An admin removes another user's second factor (audited). Back to the users page.
#[server(prefix = "/api/fn", endpoint = "reset_two_factor", output = crate::api::codec::JsonText)]
pub async fn reset_two_factor(user_id: i64) -> Result<(), ApiError> {
    use crate::api::flash::after_plain_post;
    use crate::server::context;
    use contract::flash::FormOutcome;
    use contract::user_forms::USERS_PAGE;
    use gad_core::services;
    let meta = context::request_meta();
    let result =
        context::serve(async |state, actor| services::twofactor::reset(state, actor, &meta, user_id).await).await;
    after_plain_post(&meta, USERS_PAGE, &format!("{USERS_PAGE}?id={user_id}"), || match &result {
        Ok(()) => FormOutcome::TwoFactorReset,
        Err(err) => FormOutcome::Failed(err.clone()),
    })
    .await;
    result
}

/// The second step of the login: a current code of the authenticator app, or a recovery
/// code. Only a session whose password step passed (within five minutes) may ask; a wrong
/// code counts toward the lockout. Success starts the session and goes to the dashboard.
#[server(prefix = "/api/fn", endpoint = "verify_login_code", output = crate::api::codec::JsonText)]
pub async fn verify_login_code(code: String) -> Result<(), ApiError> {
    use crate::server::{context, pending_login};
    use contract::ErrorCode;
    use gad_core::error::AppError;
    use gad_core::services;

    let meta = context::request_meta();
    let result = async {
        let state = context::app_state()?;
        let session = context::session().await?;
        let user_id = pending_login::user(&session).await?.ok_or(AppError::Unauthenticated)?;
        match services::twofactor::verify_login(&state, user_id, &code, &meta).await {
            Ok(user) => {
                pending_login::clear(&session).await?;
                gad_core::signin::start_session(&session, &user).await?;
                Ok(contract::auth::home_for(user.role))
            }
            Err(err) => {
                // A locked account starts again from the password.
                if matches!(err, AppError::Locked | AppError::Unauthenticated) {
                    pending_login::clear(&session).await?;
                }
                Err(err)
            }
        }
    }
    .await;
    let result = context::respond(result);
    match &result {
        Ok(home) => leptos_axum::redirect(home),
        Err(err) if meta.plain_form_post => match err.code {
            ErrorCode::Unauthenticated => leptos_axum::redirect("/login?error=expired"),
            ErrorCode::Locked => leptos_axum::redirect("/login?error=locked"),
            _ => {
                let code =
                    serde_json::to_value(err.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                leptos_axum::redirect(&format!("{LOGIN_CODE_PAGE}?error={code}"));
            }
        },
        Err(_) => {}
    }
    result.map(|_| ())
}
