//! How every rendering shows checks, custom metrics and tags, so the terminal, the HTML page,
//! the CSV files and JUnit agree: a pass rate, a check's mark, a trend's figures in its own
//! unit, a name on one line, tags in key order.

use std::borrow::Cow;

use super::{EntryReport, RatioReport, Report, TIME_TREND, format_micros};

/// All the report's checks together, as one.
pub(crate) fn checks_total(report: &Report) -> RatioReport {
    let sum = |pick: fn(&RatioReport) -> u64| {
        (report.checks.iter())
            .map(pick)
            .fold(0_u64, u64::saturating_add)
    };
    RatioReport {
        name: String::new(),
        passes: sum(|c| c.passes),
        fails: sum(|c| c.fails),
        rate: 0.0,
    }
}

/// `97.00%`: the share of passes, from the counts rather than the report's rounded `rate`,
/// and rounded down, so a check that failed once in 100 000 never shows 100.00% beside its ✗.
pub(crate) fn pass_percent(ratio: &RatioReport) -> String {
    let total = u128::from(ratio.passes) + u128::from(ratio.fails);
    if total == 0 {
        return "0.00%".to_owned();
    }
    let hundredths = u128::from(ratio.passes) * 10_000 / total;
    format!("{}.{:02}%", hundredths / 100, hundredths % 100)
}

/// ✓ when every check passed (k6's mark), ✗ otherwise.
pub(crate) fn mark(ratio: &RatioReport) -> char {
    if ratio.fails == 0 { '✓' } else { '✗' }
}

/// `97.00% — ✓ 970 / ✗ 30`, as k6 prints a check's or a rate's counts.
pub(crate) fn ratio_counts(ratio: &RatioReport) -> String {
    format!(
        "{} — ✓ {} / ✗ {}",
        pass_percent(ratio),
        ratio.passes,
        ratio.fails
    )
}

/// Whether a trend holds times (its `_us` fields in µs) rather than plain values.
pub(crate) fn is_time(trend: &EntryReport) -> bool {
    trend.kind == TIME_TREND
}

/// One of a trend's figures (`min_us`, a percentile, `max_us`): `12.5ms` for a trend of
/// times, the number itself for one of values.
pub(crate) fn trend_value(trend: &EntryReport, value: u64) -> String {
    if is_time(trend) {
        format_micros(value)
    } else {
        value.to_string()
    }
}

/// A trend's mean, in its unit.
pub(crate) fn trend_mean(trend: &EntryReport) -> String {
    if is_time(trend) {
        format_micros(trend.mean_us.round() as u64)
    } else {
        number(trend.mean_us)
    }
}

/// A trend's percentile `q`, in its unit.
pub(crate) fn trend_percentile(trend: &EntryReport, q: f64) -> String {
    trend_value(trend, trend.percentiles_us.get(q).unwrap_or(0))
}

/// A plain number with at most 3 decimals and no trailing zeros: `2.5`, `-1`, `12`.
pub(crate) fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "" | "-0" => "0".to_owned(),
        text => text.to_owned(),
    }
}

/// `text` on one line: control characters (a line feed in a name) written as escapes, so a
/// name cannot break a table's rows or drive the terminal.
pub(crate) fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The report's requests by tag, by key and then value (the report keeps them by value
/// first), so one key's values stand together.
pub(crate) fn tags_by_key(report: &Report) -> Vec<&EntryReport> {
    let mut tags: Vec<&EntryReport> = report.tags.iter().collect();
    tags.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(passes: u64, fails: u64) -> RatioReport {
        RatioReport {
            name: String::new(),
            passes,
            fails,
            rate: 0.0,
        }
    }

    #[test]
    fn a_pass_rate_never_rounds_up_to_all() {
        assert_eq!(pass_percent(&ratio(970, 30)), "97.00%");
        assert_eq!(pass_percent(&ratio(99_999, 1)), "99.99%");
        assert_eq!(pass_percent(&ratio(3, 0)), "100.00%");
        assert_eq!(pass_percent(&ratio(0, 0)), "0.00%");
        assert_eq!(pass_percent(&ratio(u64::MAX, u64::MAX)), "50.00%");
        assert_eq!(mark(&ratio(3, 0)), '✓');
        assert_eq!(mark(&ratio(3, 1)), '✗');
    }

    #[test]
    fn numbers_and_names() {
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(-1.0), "-1");
        assert_eq!(number(-0.0001), "0");
        assert_eq!(number(50.505), "50.505");
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(one_line("a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
    }
}
