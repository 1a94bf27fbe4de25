//! The language switch: a plain link to the server route `/idioma/{es|en}?volver=<this page>`,
//! which sets the `gad_lang` cookie and sends the browser back — with or without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::i18n::{locale, tr};

/// The link to the other language (named in that language), back to the current page.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let location = use_location();
    let other = locale().other();
    let href = move || {
        let search = location.search.get();
        let search = search.trim_start_matches('?');
        let back =
            if search.is_empty() { location.pathname.get() } else { format!("{}?{search}", location.pathname.get()) };
        format!("/idioma/{}?{}", other.code(), serde_urlencoded::to_string([("volver", back)]).unwrap_or_default())
    };
    view! {
        <a
            class="lang-switch"
            href=href
            rel="external"
            hreflang=other.code()
            lang=other.code()
            title=tr("Cambiar el idioma")
        >
            {other.name()}
        </a>
    }
}
