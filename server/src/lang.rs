//! `/idioma/{es|en}?volver=/path`: the dashboard's language switch. Sets the `gad_lang` cookie
//! (a preference, not a secret: readable, SameSite=Lax, one year) and sends the browser back
//! to `volver` — only a path of this site; anything else goes to `/`. A plain GET, so the
//! switch works without JavaScript.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use app::i18n::{COOKIE, Locale};
use gad_core::state::AppState;

#[derive(Deserialize)]
pub struct Back {
    volver: Option<String>,
}

const ONE_YEAR_SECONDS: u32 = 365 * 24 * 60 * 60;

pub async fn switch(State(state): State<AppState>, Path(lang): Path<String>, Query(back): Query<Back>) -> Response {
    let Some(locale) = Locale::from_code(&lang) else {
        return (StatusCode::NOT_FOUND, "Idioma desconocido / unknown language").into_response();
    };
    let target = back.volver.as_deref().filter(|p| is_local_path(p)).unwrap_or("/");
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={}; Path=/; Max-Age={ONE_YEAR_SECONDS}; SameSite=Lax{secure}", locale.code());
    let (Ok(cookie), Ok(location)) = (HeaderValue::from_str(&cookie), HeaderValue::from_str(target)) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, location)]).into_response()
}

/// A path on this site: starts with one `/`, not `//` or `/\` (another host to a browser), and
/// holds no control characters or backslashes.
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(|c| c.is_control())
        && p.len() <= 2048
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_local_paths_are_accepted() {
        for ok in ["/", "/tareas", "/tareas?status=paused&q=a%20b", "/tareas/12"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in
            ["", "https://evil.example", "//evil.example", "/\\evil.example", "tareas", "/a\nb", "javascript:alert(1)"]
        {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
