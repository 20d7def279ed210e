//! The CSV files of checks, custom metrics and requests by tag, beside Locust's (which they
//! leave as they are): `_checks.csv`, `_metrics.csv`, and `_tags.csv` in `_stats.csv`'s
//! columns with the tag's key as the Type and its value as the Name.

use super::{ms, stats_header, stats_row, to_bytes};
use crate::report::figures::{is_time, number, tags_by_key};
use crate::report::{EntryReport, Report};

pub const CHECKS_HEADER: [&str; 4] = ["Name", "Passes", "Fails", "Pass rate"];

pub const METRICS_HEADER: [&str; 10] = [
    "Type", "Name", "Count", "Value", "Min", "Max", "Avg", "50%", "95%", "99%",
];

/// The percentiles of `_metrics.csv`, in its column order.
const METRIC_PERCENTILES: [f64; 3] = [0.5, 0.95, 0.99];

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

/// One row a check: its passes, its fails, and the share that passed (0 to 1, the report's
/// `rate`).
pub fn checks_csv(report: &Report) -> Vec<u8> {
    let rows = report
        .checks
        .iter()
        .map(|check| {
            vec![
                check.name.clone(),
                check.passes.to_string(),
                check.fails.to_string(),
                check.rate.to_string(),
            ]
        })
        .collect();
    to_bytes(&header(&CHECKS_HEADER), rows)
}

/// A row of `_metrics.csv`: type, name, count and value, then the cells after them.
fn metric_row(
    kind: &str,
    name: &str,
    count: String,
    value: String,
    rest: [String; 6],
) -> Vec<String> {
    let mut row = vec![kind.to_owned(), name.to_owned(), count, value];
    row.extend(rest);
    row
}

/// A trend's row: times in milliseconds, as Locust's files hold them (with up to 3 decimals,
/// since a trend of times can be sub-millisecond), values as they were recorded; `N/A`
/// percentiles for a trend without values, as Locust writes them.
fn trend_row(trend: &EntryReport) -> Vec<String> {
    let time = is_time(trend);
    let show = |value: f64| if time { ms(value) } else { number(value) };
    let percentile = |q| match trend.percentiles_us.get(q) {
        Some(value) if trend.count > 0 => show(value as f64),
        _ => "N/A".to_owned(),
    };
    let kind = if time { "trend (time)" } else { "trend" };
    let [p50, p95, p99] = METRIC_PERCENTILES.map(percentile);
    let rest = [
        show(trend.min_us as f64),
        show(trend.max_us as f64),
        show(trend.mean_us),
        p50,
        p95,
        p99,
    ];
    metric_row(
        kind,
        &trend.name,
        trend.count.to_string(),
        String::new(),
        rest,
    )
}

/// Counters (Value: the sum), gauges (Count: how often set, Value: the last, its Min and
/// Max), rates (Count: the samples, Value: the share that was true, 0 to 1) and trends (their
/// Min, Max, Avg and percentiles), each kind by name.
pub fn metrics_csv(report: &Report) -> Vec<u8> {
    let metrics = &report.metrics;
    let none = || std::array::from_fn::<String, 6, _>(|_| String::new());
    let counters = metrics.counters.iter().map(|c| {
        metric_row(
            "counter",
            &c.name,
            String::new(),
            c.value.to_string(),
            none(),
        )
    });
    let gauges = metrics.gauges.iter().map(|g| {
        let mut rest = none();
        rest[0] = number(g.min);
        rest[1] = number(g.max);
        metric_row(
            "gauge",
            &g.name,
            g.samples.to_string(),
            number(g.value),
            rest,
        )
    });
    let rates = metrics.rates.iter().map(|r| {
        let samples = r.passes.saturating_add(r.fails).to_string();
        metric_row("rate", &r.name, samples, r.rate.to_string(), none())
    });
    let trends = metrics.trends.iter().map(trend_row);
    let rows = counters.chain(gauges).chain(rates).chain(trends).collect();
    to_bytes(&header(&METRICS_HEADER), rows)
}

/// Requests by tag in `_stats.csv`'s columns, by key then value; no Aggregated row, since a
/// request with two tags counts under both.
pub fn tags_csv(report: &Report) -> Vec<u8> {
    let rows = tags_by_key(report).into_iter().map(stats_row).collect();
    to_bytes(&stats_header(), rows)
}
