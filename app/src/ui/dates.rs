//! Dates and times as the dashboard prints them (`dd/mm/yyyy HH:MM`, …), written out by hand:
//! chrono's format-string interpreter would add itself to the WASM bundle for these few
//! fixed shapes.

use chrono::{Datelike, Timelike};

/// `dd/mm`
pub fn day_month(d: &impl Datelike) -> String {
    format!("{:02}/{:02}", d.day(), d.month())
}

/// `dd/mm/yyyy`
pub fn date(d: &impl Datelike) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year())
}

/// The IANA name of the zone every time is shown in (`GAD_TIMEZONE`): the server's setting,
/// which the page carries to the browser as `<html data-tz>`.
pub fn zone_name() -> String {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<gad_core::state::AppState>()
            .map_or_else(|| "UTC".to_owned(), |state| state.config.timezone.name().to_owned())
    }
    #[cfg(feature = "hydrate")]
    {
        thread_local! {
            static ZONE: String = leptos::prelude::document()
                .document_element()
                .and_then(|html| html.get_attribute("data-tz"))
                .unwrap_or_else(|| "UTC".to_owned());
        }
        ZONE.with(Clone::clone)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        "UTC".to_owned()
    }
}

/// How times are labelled: "hora de Buenos Aires" (the zone's city), "UTC".
pub fn zone_label() -> String {
    let name = zone_name();
    match name.rsplit('/').next() {
        Some(city) if name.contains('/') => crate::i18n::trf("hora de {}", &[&city.replace('_', " ")]),
        _ => name,
    }
}

/// `dd/mm/yyyy HH:MM` of an instant in the configured zone.
pub fn local_date_time(at: &chrono::DateTime<chrono::Utc>) -> String {
    let (d, m, y, h, min, _) = local_parts(at);
    format!("{d:02}/{m:02}/{y:04} {h:02}:{min:02}")
}

/// `dd/mm/yyyy HH:MM:SS` of an instant in the configured zone.
pub fn local_date_time_seconds(at: &chrono::DateTime<chrono::Utc>) -> String {
    let (d, m, y, h, min, sec) = local_parts(at);
    format!("{d:02}/{m:02}/{y:04} {h:02}:{min:02}:{sec:02}")
}

/// `dd/mm HH:MM` of an instant in the configured zone.
pub fn local_day_month_time(at: &chrono::DateTime<chrono::Utc>) -> String {
    let (d, m, _, h, min, _) = local_parts(at);
    format!("{d:02}/{m:02} {h:02}:{min:02}")
}

/// Day, month, year, hour and minute of `at` in the configured zone: chrono-tz on the server,
/// the browser's own time-zone data (`Intl`) in the browser (no zone database in the bundle).
#[cfg(feature = "ssr")]
fn local_parts(at: &chrono::DateTime<chrono::Utc>) -> (u32, u32, i32, u32, u32, u32) {
    let tz: chrono_tz::Tz = zone_name().parse().unwrap_or(chrono_tz::UTC);
    let t = at.with_timezone(&tz);
    (t.day(), t.month(), t.year(), t.hour(), t.minute(), t.second())
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn local_parts(at: &chrono::DateTime<chrono::Utc>) -> (u32, u32, i32, u32, u32, u32) {
    (at.day(), at.month(), at.year(), at.hour(), at.minute(), at.second())
}

#[cfg(feature = "hydrate")]
fn local_parts(at: &chrono::DateTime<chrono::Utc>) -> (u32, u32, i32, u32, u32, u32) {
    use js_sys::{Array, Date, Intl, Object, Reflect};
    use wasm_bindgen::JsValue;
    let fallback = (at.day(), at.month(), at.year(), at.hour(), at.minute(), at.second());
    let options = Object::new();
    let set = |k: &str, v: &str| Reflect::set(&options, &JsValue::from_str(k), &JsValue::from_str(v)).is_ok();
    let ok = set("timeZone", &zone_name())
        && ["year", "month", "day", "hour", "minute", "second"].iter().all(|k| set(k, "numeric"))
        && set("hourCycle", "h23");
    if !ok {
        return fallback;
    }
    let format = Intl::DateTimeFormat::new(&Array::of1(&JsValue::from_str("en-GB")), &options);
    let date = Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
    let mut parts = fallback;
    for part in format.format_to_parts(&date).iter() {
        let get = |k: &str| Reflect::get(&part, &JsValue::from_str(k)).ok().and_then(|v| v.as_string());
        let (Some(kind), Some(value)) = (get("type"), get("value")) else { continue };
        let n: i64 = value.parse().unwrap_or(-1);
        if n < 0 {
            continue;
        }
        match kind.as_str() {
            "day" => parts.0 = n as u32,
            "month" => parts.1 = n as u32,
            "year" => parts.2 = n as i32,
            "hour" => parts.3 = (n % 24) as u32,
            "minute" => parts.4 = n as u32,
            "second" => parts.5 = n as u32,
            _ => {}
        }
    }
    parts
}

/// `dd/mm/yyyy HH:MM` (how the server prints local times) → `yyyy-mm-ddTHH:MM` (the value of
/// a `datetime-local` input); anything else → empty.
pub fn to_input_time(local: &str) -> String {
    let b = local.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shaped = b.len() == 16
        && [b[2], b[5], b[10], b[13]] == [b'/', b'/', b' ', b':']
        && digits(0..2)
        && digits(3..5)
        && digits(6..10)
        && digits(11..13)
        && digits(14..16);
    if !shaped {
        return String::new();
    }
    format!("{}-{}-{}T{}", &local[6..10], &local[3..5], &local[0..2], &local[11..16])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn the_same_text_as_chrono_formats() {
        let t = Utc.with_ymd_and_hms(2026, 3, 7, 9, 5, 4).unwrap();
        // Outside a request the zone is UTC.
        assert_eq!(local_date_time(&t), t.format("%d/%m/%Y %H:%M").to_string());
        assert_eq!(local_date_time_seconds(&t), t.format("%d/%m/%Y %H:%M:%S").to_string());
        assert_eq!(local_day_month_time(&t), t.format("%d/%m %H:%M").to_string());
        let d = NaiveDate::from_ymd_opt(812, 12, 31).unwrap();
        assert_eq!(date(&d), d.format("%d/%m/%Y").to_string());
        assert_eq!(day_month(&d), d.format("%d/%m").to_string());
    }

    #[test]
    fn input_times() {
        assert_eq!(to_input_time("07/03/2026 09:05"), "2026-03-07T09:05");
        for bad in ["", "7/3/2026 09:05", "07/03/2026 09:5x", "07-03-2026 09:05", "07/03/2026 09:05 "] {
            assert_eq!(to_input_time(bad), "", "{bad:?}");
        }
    }
}
