//! The dashboard's language: Spanish by default, English selectable.
//!
//! The Spanish text is the key: `tr("Tareas")` answers "Tasks" when the page is rendered in
//! English and "Tareas" otherwise; a phrase without an English entry stays Spanish. The locale
//! comes from the `gad_lang` cookie (set by the server route `/idioma/{es|en}`); on the server it
//! is read from the request, and the document says it as `<html lang>`, which the browser reads
//! back when it hydrates, so both render the same text. A change of language is a full page
//! load, so nothing here is reactive. The Telegram bot always speaks Spanish.

mod english;

pub use english::english;

/// A language of the dashboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    Es,
    En,
}

/// The cookie that remembers the chosen language (`es` / `en`).
pub const COOKIE: &str = "gad_lang";

impl Locale {
    /// The code used in the cookie, the route and `<html lang>`.
    pub const fn code(self) -> &'static str {
        match self {
            Locale::Es => "es",
            Locale::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Locale> {
        match code.trim() {
            "es" => Some(Locale::Es),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The language offered by the switch.
    pub const fn other(self) -> Locale {
        match self {
            Locale::Es => Locale::En,
            Locale::En => Locale::Es,
        }
    }

    /// The language's own name, as the switch shows it.
    pub const fn name(self) -> &'static str {
        match self {
            Locale::Es => "Español",
            Locale::En => "English",
        }
    }

    /// The locale of a request: the `gad_lang` cookie, else English when the browser's first
    /// preferred language is English, else Spanish.
    #[cfg(feature = "ssr")]
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Locale {
        use axum::http;
        let from_cookie = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .and_then(|(_, value)| Locale::from_code(value));
        from_cookie.unwrap_or_else(|| {
            let first = headers
                .get(http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(|tag| tag.trim().to_ascii_lowercase())
                .unwrap_or_default();
            if first == "en" || first.starts_with("en-") || first.starts_with("en;") { Locale::En } else { Locale::Es }
        })
    }
}

/// The locale of the page being rendered.
///
/// On the server: the locale provided by `App` for this request (or read from the request's
/// `Parts`); in the browser: `<html lang>`, written by the server.
#[inline(never)]
pub fn locale() -> Locale {
    #[cfg(feature = "hydrate")]
    {
        thread_local! {
            static BROWSER: Locale = leptos::prelude::document()
                .document_element()
                .and_then(|html| html.get_attribute("lang"))
                .and_then(|lang| Locale::from_code(&lang))
                .unwrap_or_default();
        }
        BROWSER.with(|l| *l)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        use leptos::prelude::use_context;
        if let Some(locale) = use_context::<Locale>() {
            return locale;
        }
        #[cfg(feature = "ssr")]
        if let Some(parts) = use_context::<axum::http::request::Parts>() {
            return Locale::from_headers(&parts.headers);
        }
        Locale::Es
    }
}

/// Provides the request's locale to the app (server), so `tr` need not parse the cookie.
pub fn provide_locale() {
    #[cfg(feature = "ssr")]
    leptos::prelude::provide_context(locale());
}

/// `es` in the page's language (Spanish is the key; no entry → Spanish).
#[inline(never)] // one small call per phrase, not the lookup copied into every page (WASM size)
pub fn tr(es: &'static str) -> &'static str {
    translate(locale(), es)
}

/// `es` in `locale` (no entry → Spanish).
pub fn translate(locale: Locale, es: &'static str) -> &'static str {
    match locale {
        Locale::Es => es,
        Locale::En => english(es).unwrap_or(es),
    }
}

/// Marks a phrase for translation where `tr` cannot run (a `const`, a static table); the
/// phrase is translated with `tr` where it is shown. The unit test reads these marks.
pub const fn tr_later(es: &'static str) -> &'static str {
    es
}

/// A message that is not a literal (an error from the server): translated when the table
/// knows it, else as it came.
#[inline(never)]
pub fn tr_msg(es: &str) -> String {
    match locale() {
        Locale::En => english(es).map(str::to_owned).unwrap_or_else(|| es.to_owned()),
        Locale::Es => es.to_owned(),
    }
}

/// A template with `{}` placeholders, translated, then filled in order:
/// `trf("{} tareas", &[&n.to_string()])`.
#[inline(never)]
pub fn trf(es: &'static str, args: &[&str]) -> String {
    fill(tr(es), args)
}

fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut args = args.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(args.next().copied().unwrap_or(""));
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn templates_fill_in_order() {
        assert_eq!(fill("{} de {}", &["3", "5"]), "3 de 5");
        assert_eq!(fill("sin huecos", &["x"]), "sin huecos");
        assert_eq!(fill("{} y {}", &["uno"]), "uno y ");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn locale_from_headers() {
        use axum::http;
        let mut h = http::HeaderMap::new();
        assert_eq!(Locale::from_headers(&h), Locale::Es);
        h.insert(http::header::ACCEPT_LANGUAGE, "en-US,en;q=0.9".parse().unwrap());
        assert_eq!(Locale::from_headers(&h), Locale::En);
        h.insert(http::header::COOKIE, "a=b; gad_lang=es".parse().unwrap());
        assert_eq!(Locale::from_headers(&h), Locale::Es);
        h.insert(http::header::ACCEPT_LANGUAGE, "es-AR,es;q=0.9,en;q=0.5".parse().unwrap());
        h.insert(http::header::COOKIE, "gad_lang=en".parse().unwrap());
        assert_eq!(Locale::from_headers(&h), Locale::En);
        h.insert(http::header::COOKIE, "gad_lang=fr".parse().unwrap());
        assert_eq!(Locale::from_headers(&h), Locale::Es);
    }

    /// Every string literal in `dir` (recursively), with its file. Raw strings are not used
    /// in the UI; escapes are kept as written (the table's keys are written the same way).
    fn literals(dir: &Path, skip: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                literals(&path, skip, out);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.starts_with(skip) {
                let text = std::fs::read_to_string(&path).unwrap();
                for lit in string_literals(&text) {
                    out.push((lit, path.display().to_string()));
                }
            }
        }
    }

    /// The string literals of Rust source (skips comments and char literals well enough for
    /// this code base).
    fn string_literals(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        let b = src.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'\'' => {
                    // A char literal ('"', '\'') or a lifetime.
                    if b.get(i + 2) == Some(&b'\'') {
                        i += 3;
                        continue;
                    } else if b.get(i + 1) == Some(&b'\\') && b.get(i + 3) == Some(&b'\'') {
                        i += 4;
                        continue;
                    }
                    i += 1;
                }
                b'"' => {
                    let start = i + 1;
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        if b[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    out.push(src[start..i.min(b.len())].to_owned());
                    i += 1;
                }
                _ => i += 1,
            }
        }
        out
    }

    /// The literals passed to `tr(` / `trf(` in `src`.
    fn tr_calls(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        for call in ["tr(", "trf(", "tr_later("] {
            for (at, _) in src.match_indices(call) {
                // Not the tail of another name (`attr(…)`, `str(…)`).
                let before = src[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                // The first argument, when it is a literal (rustfmt may break the line first).
                let rest = src[at + call.len()..].trim_start();
                if rest.starts_with('"')
                    && let Some(lit) = string_literals(rest).into_iter().next()
                {
                    out.push(lit);
                }
            }
        }
        out
    }

    fn src_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    /// The Spanish labels of the vocabulary shown in the UI.
    fn enum_labels() -> Vec<&'static str> {
        use contract::domain::*;
        let mut v: Vec<&'static str> = Vec::new();
        v.extend(Role::ALL.iter().map(|x| x.label_es()));
        v.extend(OfficerStatus::ALL.iter().map(|x| x.label_es()));
        v.extend(TaskType::ALL.iter().map(|x| x.label_es()));
        v.extend(TaskPriority::ALL.iter().map(|x| x.label_es()));
        v.extend(TaskStatus::ALL.iter().map(|x| x.label_es()));
        v.extend(Channel::ALL.iter().map(|x| x.label_es()));
        v.extend(BroadcastKind::ALL.iter().map(|x| x.label_es()));
        v.extend(FeedbackStatus::ALL.iter().map(|x| x.label_es()));
        v.extend(AuditSeverity::ALL.iter().map(|x| x.label_es()));
        v.extend(DeliveryStatus::ALL.iter().map(|x| x.label_es()));
        v.extend(LeaveKind::ALL.iter().map(|x| x.label_es()));
        v.extend(LeaveStatus::ALL.iter().map(|x| x.label_es()));
        v.extend(Duty::ALL.iter().map(|x| x.label_es()));
        v
    }

    #[test]
    fn every_ui_phrase_has_an_english_entry() {
        let mut missing = BTreeSet::new();
        let mut seen = 0;
        for entry in std::fs::read_dir(src_dir().join("ui")).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for lit in tr_calls(&text) {
                seen += 1;
                if english(&lit).is_none() {
                    missing.insert(format!("{}: {lit:?}", path.file_name().unwrap().to_string_lossy()));
                }
            }
        }
        assert!(seen > 200, "the ui sources were not read ({seen} phrases)");
        for label in enum_labels() {
            // Labels equal in both languages ("API", "Telegram", "Normal") may be absent.
            if english(label).is_none() && !["API", "Telegram", "Normal"].contains(&label) {
                missing.insert(format!("domain label: {label:?}"));
            }
        }
        assert!(
            missing.is_empty(),
            "phrases without an English entry:\n{}",
            missing.into_iter().collect::<Vec<_>>().join("\n")
        );
    }

    #[test]
    fn the_english_table_is_sorted_without_duplicates() {
        let table = super::english::TABLE;
        for pair in table.windows(2) {
            assert!(pair[0].0 < pair[1].0, "out of order or repeated: {:?} then {:?}", pair[0].0, pair[1].0);
        }
        assert_eq!(english("Tareas"), Some("Tasks"));
        assert_eq!(english(table[0].0), Some(table[0].1));
        assert_eq!(english(table[table.len() - 1].0), Some(table[table.len() - 1].1));
        assert_eq!(english("Frase sin traducción"), None);
    }

    #[test]
    fn every_english_entry_is_used() {
        let dir = src_dir();
        let mut used: BTreeSet<String> = BTreeSet::new();
        for entry in std::fs::read_dir(dir.join("ui")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            used.extend(tr_calls(&text));
        }
        used.extend(enum_labels().into_iter().map(str::to_owned));
        // Messages of server errors shown through `tr_msg`: literals of the server functions,
        // the Leptos glue, the core (services) and the contract.
        let mut server = Vec::new();
        literals(&dir.join("api"), &dir.join("i18n"), &mut server);
        literals(&dir.join("server"), &dir.join("i18n"), &mut server);
        for krate in ["core", "contract"] {
            literals(&dir.join("../..").join(krate).join("src"), &dir.join("i18n"), &mut server);
        }
        used.extend(server.into_iter().map(|(lit, _)| lit));
        let keys: Vec<String> = super::english::TABLE.iter().map(|(es, _)| (*es).to_owned()).collect();
        assert!(keys.len() > 100, "the table was not read ({} keys)", keys.len());
        let unused: Vec<&String> = keys.iter().filter(|k| !used.contains(*k)).collect();
        assert!(unused.is_empty(), "English entries nobody uses:\n{unused:#?}");
    }
}
