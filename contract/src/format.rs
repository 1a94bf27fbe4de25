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

/// `1.234.567`: thousands grouped with dots.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// How long ago, for a position's age: `hace 16 min`, `hace 2 h 05 min`, `hace 1 día`.
pub fn ago(seconds: i64) -> String {
    let days = seconds / 86_400;
    match days {
        0 => format!("hace {}", duration(seconds.max(0) as f64)),
        1 => "hace 1 día".to_owned(),
        _ => format!("hace {days} días"),
    }
}

/// Why an officer is not offered to dispatch although listed: the one rule of
/// `GAD_POSITION_FRESH_MINUTES`, in words ("sin posición reciente: hace 16 min").
pub fn stale_position(seconds: i64) -> String {
    format!("sin posición reciente: {}", ago(seconds))
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

    #[test]
    fn counts_group_thousands_with_dots() {
        assert_eq!(count(7), "7");
        assert_eq!(count(1234), "1.234");
        assert_eq!(count(10_000), "10.000");
        assert_eq!(count(1_234_567), "1.234.567");
    }

    #[test]
    fn ages_read_in_minutes_hours_and_days() {
        assert_eq!(ago(16 * 60), "hace 16 min");
        assert_eq!(ago(125 * 60), "hace 2 h 05 min");
        assert_eq!(ago(86_400 + 5), "hace 1 día");
        assert_eq!(ago(3 * 86_400), "hace 3 días");
        assert_eq!(stale_position(16 * 60), "sin posición reciente: hace 16 min");
    }
}
