//! Durations as people write them: `500ms`, `30s`, `1.5s`, `5m`, `1h`, `1h30m`.

use std::time::Duration;

/// What a bare number means in a duration setting.
#[derive(Debug, Clone, Copy)]
pub enum DurationUnit {
    Seconds,
    /// The seed's `PT_DURATION`: "default: 10 \[minutes\]".
    Minutes,
}

/// Parses `500ms`, `30s`, `1.5s`, `5m`, `1h`, `2h30m`, or a bare number in `bare` units; at
/// most [`MAX_DURATION`](crate::limits::MAX_DURATION) (a year).
pub fn parse_duration(text: &str, bare: DurationUnit) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(number) = text.parse::<f64>() {
        let scale = match bare {
            DurationUnit::Seconds => 1.0,
            DurationUnit::Minutes => 60.0,
        };
        return seconds(number * scale);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&i| i > 0)?;
        let number: f64 = rest[..split].parse().ok()?;
        let after = &rest[split..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let scale = match &after[..unit_len] {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = &after[unit_len..];
    }
    seconds(total)
}

fn seconds(value: f64) -> Option<Duration> {
    let max = crate::limits::MAX_DURATION.as_secs_f64();
    (value.is_finite() && (0.0..=max).contains(&value)).then(|| Duration::from_secs_f64(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_the_documented_forms() {
        let m = DurationUnit::Minutes;
        assert_eq!(parse_duration("10", m), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("0.5", m), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms", m), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s", m), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.5s", m), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m", m), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h", m), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m", m), Some(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("2", DurationUnit::Seconds),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn durations_reject_garbage() {
        for bad in [
            "", "10x", "s", "-1", "1.2.3s", "abc", "5 m", "1e30", "1e20s", "9999999h", "inf",
        ] {
            assert_eq!(parse_duration(bad, DurationUnit::Minutes), None, "{bad}");
        }
    }
}
