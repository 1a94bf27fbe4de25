//! Single sign-on with OpenID Connect (`GAD_OIDC_*`): authorization code with PKCE, by the
//! `openidconnect` crate. `/auth/oidc/login` sends the browser to the provider with a fresh
//! state, nonce and PKCE challenge kept in the session; `/auth/oidc/callback` checks the state,
//! exchanges the code (with the verifier), verifies the ID token (signature by the provider's
//! keys, issuer, audience, expiry, nonce) and hands who it names to `services::sso`, which
//! decides the GAD user and role. Local accounts keep signing in with their password.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use gad_core::config::OidcConfig;
use gad_core::services::sso::{self, Identity};
use gad_core::state::AppState;

/// What the login step leaves in the session for the callback.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    /// Unix seconds: a callback more than [`PENDING_SECONDS`] later is refused.
    at: i64,
}

const PENDING_KEY: &str = "oidc_pending";
const PENDING_SECONDS: i64 = 600;

fn http() -> Result<reqwest::Client, String> {
    // No redirects: a provider's answer that redirects is refused (no SSRF through it).
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())
}

/// The login page with a message: the flow failed or was refused.
fn back_to_login(code: &str) -> Response {
    Redirect::to(&format!("/login?sso={code}")).into_response()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Discovery, then the client (discovery is asked on each sign-in: a provider's keys rotate).
async fn client(
    config: &OidcConfig,
    http: &reqwest::Client,
) -> Result<
    openidconnect::Client<
        openidconnect::EmptyAdditionalClaims,
        openidconnect::core::CoreAuthDisplay,
        openidconnect::core::CoreGenderClaim,
        openidconnect::core::CoreJweContentEncryptionAlgorithm,
        openidconnect::core::CoreJsonWebKey,
        openidconnect::core::CoreAuthPrompt,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
        openidconnect::core::CoreTokenResponse,
        openidconnect::core::CoreTokenIntrospectionResponse,
        openidconnect::core::CoreRevocableToken,
        openidconnect::core::CoreRevocationErrorResponse,
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    String,
> {
    let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| e.to_string())?;
    let metadata = CoreProviderMetadata::discover_async(issuer, http).await.map_err(|e| e.to_string())?;
    let redirect = RedirectUrl::new(config.redirect_url.clone()).map_err(|e| e.to_string())?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        config.client_secret.as_ref().map(|s| ClientSecret::new(s.expose().to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// `GET /auth/oidc/login`: to the provider.
pub async fn login(State(state): State<AppState>, session: Session) -> Response {
    let Some(config) = &state.config.oidc else { return StatusCode::NOT_FOUND.into_response() };
    let http = match http() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "single sign-on: no HTTP client");
            return back_to_login("unavailable");
        }
    };
    let client = match client(config, &http).await {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "single sign-on: the provider's discovery failed");
            return back_to_login("unavailable");
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        at: now(),
    };
    if let Err(error) = session.insert(PENDING_KEY, pending).await {
        tracing::error!(%error, "single sign-on: the session could not be written");
        return back_to_login("unavailable");
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/oidc/callback`: back from the provider; signs in and goes home.
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    Query(answer): Query<Callback>,
) -> Response {
    let Some(config) = &state.config.oidc else { return StatusCode::NOT_FOUND.into_response() };
    // Taken once: a replayed callback finds nothing.
    let pending: Option<Pending> = session.remove(PENDING_KEY).await.ok().flatten();
    let Some(pending) = pending.filter(|p| now() - p.at <= PENDING_SECONDS) else {
        return back_to_login("expired");
    };
    if answer.error.is_some() {
        return back_to_login("refused");
    }
    let (Some(code), Some(returned)) = (answer.code, answer.state) else { return back_to_login("refused") };
    // Constant-time comparison is not needed: the state is single-use and session-bound.
    if returned != pending.state {
        tracing::warn!("single sign-on: the state did not match");
        return back_to_login("refused");
    }
    let identity = match exchange(config, code, &pending).await {
        Ok(identity) => identity,
        Err(error) => {
            tracing::warn!(%error, "single sign-on: the code exchange or the ID token failed");
            return back_to_login("refused");
        }
    };
    let meta = {
        let mut meta = crate::rest::auth::meta_from(&parts);
        meta.channel = contract::domain::Channel::Web;
        meta
    };
    match sso::sign_in(&state, &meta, identity).await {
        Ok(user) => {
            // The provider's word is one factor: a user with two-factor sign-in gives a code
            // too, on the same page as after a password.
            let next = match gad_core::services::twofactor::is_active(&state, user.id).await {
                Ok(true) => app::server::pending_login::begin(&session, user.id)
                    .await
                    .map(|()| contract::twofactor::LOGIN_CODE_PAGE),
                Ok(false) => {
                    gad_core::signin::start_session(&session, &user).await.map(|()| contract::auth::home_for(user.role))
                }
                Err(error) => Err(error),
            };
            match next {
                Ok(next) => Redirect::to(next).into_response(),
                Err(error) => {
                    tracing::error!(%error, "single sign-on: the session could not be started");
                    back_to_login("unavailable")
                }
            }
        }
        Err(gad_core::error::AppError::Validation(fields)) => {
            back_to_login(match fields.first().map(|f| f.field.as_str()) {
                Some("role") => "no_role",
                Some("local_account") => "local",
                Some("inactive") => "inactive",
                Some("other_subject") => "other_subject",
                Some("last_admin") => "last_admin",
                _ => "no_email",
            })
        }
        Err(error) => {
            tracing::error!(%error, "single sign-on failed");
            back_to_login("unavailable")
        }
    }
}

async fn exchange(config: &OidcConfig, code: String, pending: &Pending) -> Result<Identity, String> {
    let http = http()?;
    let client = client(config, &http).await?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| e.to_string())?;
    let id_token = token.id_token().ok_or("no ID token")?;
    let claims =
        id_token.claims(&client.id_token_verifier(), &Nonce::new(pending.nonce.clone())).map_err(|e| e.to_string())?;
    // The role claim has a configured name: read from the token's payload, which the line
    // above has verified.
    let raw = serde_json::to_value(id_token).map_err(|e| e.to_string())?;
    let payload = raw
        .as_str()
        .and_then(|jwt| jwt.split('.').nth(1))
        .and_then(base64_url)
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .ok_or("unreadable ID token payload")?;
    let role_values = match payload.get(&config.role_claim) {
        Some(serde_json::Value::String(v)) => vec![v.clone()],
        Some(serde_json::Value::Array(values)) => {
            values.iter().filter_map(|v| v.as_str().map(str::to_owned)).take(50).collect()
        }
        _ => Vec::new(),
    };
    let name = |n: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserGivenName>>| {
        n.and_then(|n| n.get(None)).map(|v| v.as_str().to_owned())
    };
    Ok(Identity {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        // An address the provider says it has not verified names nobody (anyone can register
        // someone else's there); a provider that does not say is believed.
        email: claims.email().filter(|_| claims.email_verified() != Some(false)).map(|e| e.as_str().to_owned()),
        given_name: name(claims.given_name()),
        family_name: claims.family_name().and_then(|n| n.get(None)).map(|v| v.as_str().to_owned()),
        role_values,
    })
}

/// Base64url without padding, as JWTs write their parts.
fn base64_url(part: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()
}
