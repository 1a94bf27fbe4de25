//! Small pieces shared by the dashboard pages: loading the signed-in user, the error view and
//! query-string helpers.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::whoami;
use crate::i18n::{tr, tr_msg};
use crate::ui::Layout;
use contract::auth::CurrentUser;
use contract::{ApiError, ErrorCode};

/// The signed-in user, or the "sign in" error.
pub async fn signed_in() -> Result<CurrentUser, ApiError> {
    whoami().await?.ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, tr("Debe iniciar sesión.")))
}

/// Awaits the data a `Suspend` builds its view from; on the server, the view is then built once.
///
/// Before it renders a `Suspense`'s children, Leptos's server renderer walks them twice to
/// find the resources they read (`dry_resolve`), polling each `Suspend` once and dropping the
/// result. A `Suspend` whose data has arrived would build its whole view, often the whole page,
/// in each walk only to drop it: a third of the render's time. Yielding once after the data
/// has arrived leaves those walks a pending future, so the view is built by the render alone.
#[cfg(feature = "ssr")]
pub async fn loaded<F: IntoFuture>(data: F) -> F::Output {
    let value = data.await;
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
    value
}

/// In the browser the data is awaited as it is (no wrapper future in the bundle).
#[cfg(not(feature = "ssr"))]
pub fn loaded<F: IntoFuture>(data: F) -> F::IntoFuture {
    data.into_future()
}

/// A page that could not load: the Spanish message and a way on. Someone signed in (refused a
/// page their role may not see, or asking for one that does not exist) keeps the navigation
/// and is sent back to work, not offered "Ingresar"; someone signed out is offered it.
#[component]
pub fn PageError(title: &'static str, error: ApiError) -> impl IntoView {
    if error.code == ErrorCode::Unauthenticated {
        return view! {
            <main class="centered">
                <Title text=title />
                <p role="alert" class="error">
                    {tr_msg(&error.message)}
                </p>
                <a href="/login">{tr("Ingresar")}</a>
            </main>
        }
        .into_any();
    }
    let me = Resource::new(|| (), |_| whoami());
    let message = tr_msg(&error.message);
    view! {
        <Title text=title />
        <Suspense fallback=|| ()>
            {move || {
                let message = message.clone();
                Suspend::new(async move {
                    match loaded(me).await {
                        Ok(Some(user)) => view! {
                            <Layout user>
                                <h1>{title}</h1>
                                <p role="alert" class="error">{message}</p>
                                <a href="/">{tr("Volver al inicio")}</a>
                            </Layout>
                        }
                        .into_any(),
                        _ => view! {
                            <main class="centered">
                                <p role="alert" class="error">{message}</p>
                                <a href="/login">{tr("Ingresar")}</a>
                            </main>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// On the server, answers this page with 403 (the page itself says why, in Spanish).
pub fn forbidden_status() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
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

#[cfg(all(test, feature = "ssr"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::StreamExt;
    use leptos::prelude::*;

    use super::loaded;

    /// Renders a `Suspense` over a ready resource as leptos_axum does; returns how many times
    /// its `Suspend` built the view, and the HTML.
    async fn render(through_loaded: bool) -> (usize, String) {
        let _ = any_spawner::Executor::init_tokio();
        let builds = Arc::new(AtomicUsize::new(0));
        let owner = Owner::new_root(Some(Arc::new(hydration_context::SsrSharedContext::new())));
        let counter = Arc::clone(&builds);
        let html = owner.with(move || {
            let data = Resource::new(|| (), |_| async { 41_u32 + 1 });
            view! {
                <Suspense fallback=|| ()>
                    {move || {
                        let counter = Arc::clone(&counter);
                        Suspend::new(async move {
                            let n = if through_loaded { loaded(data).await } else { data.await };
                            counter.fetch_add(1, Ordering::SeqCst);
                            view! { <p>{n}</p> }
                        })
                    }}
                </Suspense>
            }
            .to_html_stream_in_order()
        });
        let html = html.collect::<String>().await;
        (builds.load(Ordering::SeqCst), html)
    }

    #[tokio::test]
    async fn a_page_view_is_built_once_on_the_server() {
        let (builds, html) = render(true).await;
        assert!(html.contains(">42<"), "{html}");
        assert_eq!(builds, 1);
        // Why `loaded` exists: awaited directly, the ready data is built into a view in each of
        // the renderer's walks too. Should Leptos stop doing that, `loaded` can go.
        let (builds, html) = render(false).await;
        assert!(html.contains(">42<"), "{html}");
        assert!(builds > 1, "a plain await built the view {builds} time(s)");
    }

    /// Every `Suspend` of the pages awaits its data through `loaded`.
    #[test]
    fn every_page_suspend_awaits_through_loaded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("ui");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with("page.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let starts = lines.iter().enumerate().filter(|(_, l)| l.contains("Suspend::new(async move"));
            for (i, _) in starts {
                seen += 1;
                let block = lines[i..lines.len().min(i + 10)].join("\n");
                assert!(block.contains("loaded("), "{}:{}: a Suspend awaits without `loaded`", path.display(), i + 1);
            }
        }
        assert!(seen > 15, "the pages' Suspends were not found ({seen})");
    }
}
