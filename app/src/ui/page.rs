//! Small pieces shared by the dashboard pages: loading the signed-in user, the error view and
//! query-string helpers.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::{CurrentUser, whoami};
use crate::api::{ApiError, ErrorCode};
use crate::i18n::{tr, tr_msg};

/// The signed-in user, or the "sign in" error.
pub async fn signed_in() -> Result<CurrentUser, ApiError> {
    whoami().await?.ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, tr("Debe iniciar sesión.")))
}

/// A page that could not load: the Spanish message and a way on.
#[component]
pub fn PageError(title: &'static str, error: ApiError) -> impl IntoView {
    let (href, label) = match error.code {
        ErrorCode::Unauthenticated => ("/login", tr("Ingresar")),
        _ => ("/tareas", tr("Volver a las tareas")),
    };
    view! {
        <main class="centered">
            <Title text=title />
            <p role="alert" class="error">
                {tr_msg(&error.message)}
            </p>
            <a href=href>{label}</a>
        </main>
    }
}

/// `?a=1&b=2` from the non-empty pairs (empty string when none).
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let pairs: Vec<(&str, &str)> =
        pairs.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (*k, v.as_str())).collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    }
}

/// Formats metres as `850 m` or `3,4 km`.
pub fn distance(metres: f64) -> String {
    if metres < 1000.0 { format!("{metres:.0} m") } else { format!("{:.1} km", metres / 1000.0).replace('.', ",") }
}
