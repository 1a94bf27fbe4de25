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

/// `dd/mm/yyyy HH:MM`
pub fn date_time<T: Datelike + Timelike>(t: &T) -> String {
    format!("{} {:02}:{:02}", date(t), t.hour(), t.minute())
}

/// `dd/mm/yyyy HH:MM:SS`
pub fn date_time_seconds<T: Datelike + Timelike>(t: &T) -> String {
    format!("{}:{:02}", date_time(t), t.second())
}

/// `dd/mm HH:MM`
pub fn day_month_time<T: Datelike + Timelike>(t: &T) -> String {
    format!("{} {:02}:{:02}", day_month(t), t.hour(), t.minute())
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
        assert_eq!(date_time(&t), t.format("%d/%m/%Y %H:%M").to_string());
        assert_eq!(date_time_seconds(&t), t.format("%d/%m/%Y %H:%M:%S").to_string());
        assert_eq!(day_month_time(&t), t.format("%d/%m %H:%M").to_string());
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
