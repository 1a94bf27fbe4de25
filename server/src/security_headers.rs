//! Security headers on every response GAD sends — pages, server functions, the REST API, the
//! static files, errors, health and metrics — whether or not a proxy is in front.
//!
//! The Content-Security-Policy allows scripts from GAD's own origin and inline scripts that
//! carry this response's nonce: the hydration scripts and resource data Leptos writes (they
//! read the nonce through `leptos::nonce::use_nonce`, which [`provide_nonce`] points at the one
//! in the header). No inline event handler, `javascript:` URL or injected `<script>` runs, so
//! user text that ever reached the DOM as HTML could still not execute.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;

use gad_core::config::Config;

/// The headers of one deployment; only the CSP nonce changes per response.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    /// The policy before and after the nonce.
    csp: (String, String),
    /// `Strict-Transport-Security`, when the public URL is https.
    hsts: bool,
}

/// Browser features GAD does not use, turned off for the page and anything it embeds.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), \
     publickey-credentials-get=(), screen-wake-lock=(), usb=(), xr-spatial-tracking=()";

/// One year, subdomains included (what Caddy sends for a domain with automatic HTTPS).
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        // The base map's tiles are the only images from elsewhere.
        let tiles = config.map_tile_url.as_deref().and_then(tile_source).map(|s| format!(" {s}")).unwrap_or_default();
        // `cargo leptos watch` only: its reload script talks to a WebSocket on another port.
        let reload = if std::env::var_os("LEPTOS_WATCH").is_some() { " ws: wss:" } else { "" };
        let before = "default-src 'self'; script-src 'self' 'nonce-".to_owned();
        let after = format!(
            "' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:{tiles}; font-src 'self'; \
             connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        );
        Self { csp: (before, after), hsts: config.secure_cookies() }
    }

    /// The Content-Security-Policy with `nonce`.
    pub fn content_security_policy(&self, nonce: &str) -> String {
        format!("{}{nonce}{}", self.csp.0, self.csp.1)
    }

    fn apply(&self, nonce: &Nonce, headers: &mut HeaderMap) {
        if let Ok(csp) = HeaderValue::from_str(&self.content_security_policy(nonce)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        let fixed: [(HeaderName, &'static str); 5] = [
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
            (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
            (HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY),
        ];
        for (name, value) in fixed {
            headers.insert(name, HeaderValue::from_static(value));
        }
        if self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        }
    }
}

/// The CSP source of a tile URL template: its origin, with Leaflet's `{s}` subdomain as `*`.
/// A relative template (`/tiles/…`) is GAD's own origin (`'self'`, nothing to add); a host
/// that CSP cannot express (a template in the middle of it) allows the scheme (`https:`), for
/// images only.
fn tile_source(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.strip_prefix("{s}.").map_or_else(|| host.to_owned(), |h| format!("*.{h}"));
    let valid = !host.is_empty()
        && host.trim_start_matches("*.").bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    Some(if valid { format!("{scheme}://{host}") } else { format!("{scheme}:") })
}

/// Middleware: a fresh nonce in the request's extensions (for [`provide_nonce`]), and the
/// headers on the response.
pub async fn secure(
    State(headers): State<std::sync::Arc<SecurityHeaders>>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let hashed = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    headers.apply(&nonce, response.headers_mut());
    if hashed && response.status().is_success() {
        // The name changes with the content: a browser may keep it for good.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    }
    no_store_for_data(response.headers_mut());
    response
}

/// The caching of a file whose name carries its content's hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Whether `path` names a file cargo-leptos built with its content hash in the name
/// (`/pkg/gad.<22 base64url characters>.wasm`, also `.js`, `.css`, the lazy pages' chunks and
/// their manifest, and the `.br`/`.gz` of each).
pub fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else { return false };
    let name = name.strip_suffix(".br").or_else(|| name.strip_suffix(".gz")).unwrap_or(name);
    let mut parts = name.split('.');
    let (Some(stem), Some(hash), Some(ext), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && !stem.contains('/')
        && hash.len() == 22
        && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && matches!(ext, "wasm" | "js" | "css" | "json")
}

/// Pages and data (HTML, JSON, CSV) are never kept by the browser or a proxy unless the
/// handler said otherwise: after logout, Back must not show the task list from the cache.
/// Static files (scripts, styles, images, WASM) keep their own caching.
fn no_store_for_data(headers: &mut HeaderMap) {
    if headers.contains_key(header::CACHE_CONTROL) {
        return;
    }
    let data = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.starts_with("text/html")
            || t.starts_with("application/json")
            || t.starts_with("application/problem+json")
            || t.starts_with("text/csv")
            || t.starts_with("text/plain")
    });
    if data {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Leptos context for a rendering: the nonce of the response's header, so every inline script
/// Leptos writes carries it (leptos_axum provides a nonce of its own first; this replaces it).
pub fn provide_nonce() {
    if let Some(nonce) =
        leptos::prelude::use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Nonce>().cloned())
    {
        leptos::prelude::provide_context(nonce);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{no_store_for_data, tile_source};
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn data_is_not_stored_static_files_keep_their_caching() {
        let cache = |content_type: &str, preset: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
            if let Some(p) = preset {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(p).unwrap());
            }
            no_store_for_data(&mut headers);
            headers.get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_owned())
        };
        for data in ["text/html; charset=utf-8", "application/json", "application/problem+json", "text/csv"] {
            assert_eq!(cache(data, None).as_deref(), Some("no-store"), "{data}");
        }
        for asset in ["application/wasm", "text/javascript", "text/css", "image/svg+xml"] {
            assert_eq!(cache(asset, None), None, "{asset}");
        }
        assert_eq!(
            cache("text/html", Some("max-age=60")).as_deref(),
            Some("max-age=60"),
            "a handler's own choice stays"
        );
    }

    #[test]
    fn hashed_assets_are_told_apart() {
        use super::is_hashed_asset;
        for hashed in [
            "/pkg/gad.Xq3v_9-kP0aZbC1dE2fG3h.wasm",
            "/pkg/gad.Xq3v_9-kP0aZbC1dE2fG3h.js",
            "/pkg/gad.Xq3v_9-kP0aZbC1dE2fG3h.css",
            "/pkg/gad.Xq3v_9-kP0aZbC1dE2fG3h.wasm.br",
        ] {
            assert!(is_hashed_asset(hashed), "{hashed}");
        }
        for plain in [
            "/pkg/gad.wasm",
            "/pkg/gad.css",
            "/pkg/gad.Xq3v_9-kP0aZbC1dE2fG3.wasm",
            "/pkg/gad.Xq3v_9-kP0aZbC1dE2fG3h.html",
            "/pkg/a/gad.Xq3v_9-kP0aZbC1dE2fG3h.js",
            "/vendor/gad.Xq3v_9-kP0aZbC1dE2fG3h.js",
            "/pkg/.Xq3v_9-kP0aZbC1dE2fG3h.js",
        ] {
            assert!(!is_hashed_asset(plain), "{plain}");
        }
    }

    #[test]
    fn tile_sources() {
        assert_eq!(
            tile_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png").as_deref(),
            Some("https://tile.openstreetmap.org")
        );
        assert_eq!(
            tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png").as_deref(),
            Some("https://*.tile.example.org")
        );
        assert_eq!(tile_source("http://127.0.0.1:8080/t/{z}/{x}/{y}.png").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(tile_source("https://{s}-tiles.example.org/{z}.png").as_deref(), Some("https:"));
        assert_eq!(tile_source("/tiles/{z}/{x}/{y}.png"), None);
    }
}
