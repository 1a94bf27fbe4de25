//! How figures read, in the dashboard and in the bot alike (Argentine Spanish: decimal comma).

/// `850 m`, `3,4 km`.
pub fn distance(metres: f64) -> String {
    if metres < 1000.0 { format!("{metres:.0} m") } else { format!("{:.1} km", metres / 1000.0).replace('.', ",") }
}

/// `12 min`, `1 h 05 min`.
pub fn duration(seconds: f64) -> String {
    let minutes = (seconds / 60.0).round() as i64;
    if minutes < 60 { format!("{minutes} min") } else { format!("{} h {:02} min", minutes / 60, minutes % 60) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_use_the_decimal_comma() {
        assert_eq!(distance(850.4), "850 m");
        assert_eq!(distance(3420.0), "3,4 km");
        assert_eq!(distance(12_000.0), "12,0 km");
    }

    #[test]
    fn durations_in_minutes_then_hours() {
        assert_eq!(duration(12.0 * 60.0), "12 min");
        assert_eq!(duration(65.0 * 60.0), "1 h 05 min");
        assert_eq!(duration(29.0), "0 min");
    }
}
