//! Where a request comes from, decided once, before anything else looks at it:
//! - [`client_addr`]: the client's address ([`ClientAddr`]), believing `X-Forwarded-For` only
//!   from a configured trusted proxy; rate limits and audit rows use it.
//! - [`same_origin`]: a request that changes state (anything but GET, HEAD, OPTIONS) must come
//!   from GAD's own pages. Browsers say where a request comes from in `Sec-Fetch-Site` (and
//!   `Origin`); a cross-site or same-site-but-other-origin request is refused, whatever cookies
//!   it carries. A client that sends neither header is not a browser acting for someone else
//!   (curl, the bot's Bot API, an integration with a token) and passes. Server functions also
//!   take only the two encodings our pages send, so a `text/plain` "simple request" cannot
//!   smuggle a JSON body past the browser's preflight rules.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use contract::{ApiError, ErrorCode};
use gad_core::client::{self, ClientAddr};
use gad_core::state::AppState;

use crate::rest::problem::Problem;

/// Puts the request's [`ClientAddr`] in its extensions.
pub async fn client_addr(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Some(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) {
        let forwarded = request.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let addr = client::resolve(peer, forwarded, &state.config.trusted_proxies);
        request.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(request).await
}

/// Refuses state-changing requests that do not come from our own pages, and server-function
/// calls in an encoding our pages never use.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let server_fn = path.starts_with("/api/fn/");
    if let Err(reason) = check_origin(request.headers(), state.config.public_url.as_deref()) {
        tracing::warn!(reason, "cross-origin request refused");
        let message = "La solicitud no proviene de las páginas de GAD y fue rechazada.";
        return refuse(server_fn, StatusCode::FORBIDDEN, ErrorCode::Forbidden, message);
    }
    if server_fn && !server_fn_encoding(request.headers()) {
        let message = "Tipo de contenido no admitido: use application/x-www-form-urlencoded o application/json.";
        return refuse(true, StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::Transport, message);
    }
    next.run(request).await
}

/// `Ok` when the request comes from our own origin, or from no browser at all.
fn check_origin(headers: &HeaderMap, public_url: Option<&str>) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = header("origin");
    let trusted_origin = || {
        let origin = origin?;
        let public = public_url.map(|u| u.trim_end_matches('/'));
        (public.is_some_and(|p| p.eq_ignore_ascii_case(origin)) || same_host(origin, header("host")?)).then_some(())
    };
    match header("sec-fetch-site") {
        // The user's own navigation (typed, bookmarked) or a page of ours.
        Some("same-origin" | "none") => Ok(()),
        Some(_) => trusted_origin().ok_or("sec-fetch-site"),
        None => match origin {
            None => Ok(()),
            Some(_) => trusted_origin().ok_or("origin"),
        },
    }
}

/// `https://host:port` (an `Origin`) names the same host and port as the `Host` header.
fn same_host(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    if authority.eq_ignore_ascii_case(host) {
        return true;
    }
    // A default port may be written on one side only.
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    let strip = |s: &str| s.strip_suffix(default_port).map(str::to_owned).unwrap_or_else(|| s.to_owned());
    strip(authority).eq_ignore_ascii_case(&strip(host))
}

/// Our pages post server functions URL-encoded (forms, Leptos's default) or as JSON.
fn server_fn_encoding(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/x-www-form-urlencoded" || essence == "application/json"
}

fn refuse(server_fn: bool, status: StatusCode, code: ErrorCode, message: &str) -> Response {
    if server_fn {
        return (status, axum::Json(ApiError::new(code, message))).into_response();
    }
    let mut problem = Problem::new(code, message);
    problem.status = status.as_u16();
    problem.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header"));
        }
        map
    }

    #[test]
    fn browsers_are_believed_about_where_a_request_comes_from() {
        let ok = |pairs| check_origin(&headers(pairs), None).is_ok();
        assert!(ok(&[("sec-fetch-site", "same-origin"), ("host", "gad.example")]));
        assert!(ok(&[("sec-fetch-site", "none")]));
        assert!(!ok(&[("sec-fetch-site", "cross-site"), ("host", "gad.example")]));
        // A sibling origin is "same-site" to SameSite=Lax cookies, not to us.
        assert!(!ok(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://evil.gad.example"),
            ("host", "gad.example")
        ]));
        assert!(ok(&[("sec-fetch-site", "same-site"), ("origin", "https://gad.example"), ("host", "gad.example")]));
    }

    #[test]
    fn without_fetch_metadata_the_origin_must_be_ours() {
        let ok = |pairs, public| check_origin(&headers(pairs), public).is_ok();
        assert!(ok(&[("host", "gad.example")], None), "no browser at all");
        assert!(ok(&[("origin", "https://gad.example"), ("host", "gad.example")], None));
        assert!(ok(&[("origin", "https://gad.example:443"), ("host", "gad.example")], None));
        assert!(ok(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")], None));
        assert!(!ok(&[("origin", "http://127.0.0.1:3001"), ("host", "127.0.0.1:3000")], None));
        assert!(!ok(&[("origin", "null"), ("host", "gad.example")], None));
        assert!(!ok(&[("origin", "https://evil.example"), ("host", "gad.example")], None));
        // Behind a proxy that rewrites Host, the public URL is ours too.
        assert!(ok(&[("origin", "https://gad.example"), ("host", "api:3000")], Some("https://gad.example/")));
    }

    #[test]
    fn server_functions_take_forms_and_json_only() {
        assert!(server_fn_encoding(&headers(&[("content-type", "application/x-www-form-urlencoded")])));
        assert!(server_fn_encoding(&headers(&[("content-type", "application/json; charset=utf-8")])));
        assert!(!server_fn_encoding(&headers(&[("content-type", "text/plain")])));
        assert!(!server_fn_encoding(&headers(&[("content-type", "multipart/form-data; boundary=x")])));
        assert!(!server_fn_encoding(&headers(&[])));
    }
}
