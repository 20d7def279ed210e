//! The summary's blocks for checks, custom metrics and requests by tag, each printed only when
//! the trial has some, so the summary of a trial without them reads as it always did.

use std::fmt::Write;

use super::ms;
use crate::figure::rate;
use crate::report::Report;
use crate::report::figures::{
    checks_total, mark, number, one_line, pass_percent, ratio_counts, tags_by_key, trend_mean,
    trend_percentile, trend_value,
};

/// The width of a name column: its longest label, within the requests table's bounds.
fn width<'a>(labels: impl Iterator<Item = &'a str>) -> usize {
    labels
        .map(|label| label.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(20, 60)
}

/// `kind=read`, one line.
fn tag_label(kind: &str, name: &str) -> String {
    format!("{}={}", one_line(kind), one_line(name))
}

/// A row per tag (`key=value`): requests, failures, p50, p95 and p99.
pub(super) fn tags(out: &mut String, report: &Report) {
    if report.tags.is_empty() {
        return;
    }
    let tags = tags_by_key(report);
    let labels: Vec<String> = tags.iter().map(|t| tag_label(&t.kind, &t.name)).collect();
    let w = width(labels.iter().map(String::as_str));
    let _ = writeln!(out, "\nRequests by tag (times in ms)");
    let _ = writeln!(
        out,
        "{:<w$} {:>8} {:>13} | {:>8} {:>8} {:>8}",
        "Tag", "# reqs", "# fails", "p50", "p95", "p99"
    );
    for (tag, label) in tags.iter().zip(&labels) {
        let p = |q| ms(tag.percentiles_us.get(q).unwrap_or(0));
        let _ = writeln!(
            out,
            "{label:<w$} {:>8} {:>6}({:>5.2}%) | {:>8} {:>8} {:>8}",
            tag.count,
            tag.failures,
            tag.fail_ratio() * 100.0,
            p(0.5),
            p(0.95),
            p(0.99),
        );
    }
}

/// All checks together, then one line each: ✓ or ✗, the name, the pass rate and the counts.
pub(super) fn checks(out: &mut String, report: &Report) {
    if report.checks.is_empty() {
        return;
    }
    let all = checks_total(report);
    let _ = writeln!(out, "\nChecks: {}", ratio_counts(&all));
    let names: Vec<_> = report.checks.iter().map(|c| one_line(&c.name)).collect();
    let w = width(names.iter().map(|n| &**n));
    for (check, name) in report.checks.iter().zip(&names) {
        let _ = writeln!(
            out,
            "  {} {name:<w$} {:>7} — ✓ {} / ✗ {}",
            mark(check),
            pass_percent(check),
            check.passes,
            check.fails
        );
    }
}

/// Counters (sum and per second), gauges (last, min, max), rates, and trends (count, avg,
/// p50, p95, p99, max; times as times, values as numbers).
pub(super) fn metrics(out: &mut String, report: &Report) {
    let metrics = &report.metrics;
    if metrics.is_empty() {
        return;
    }
    let label = |kind: &str, name: &str| format!("{kind} {}", one_line(name));
    let counters: Vec<String> = (metrics.counters.iter())
        .map(|c| label("counter", &c.name))
        .collect();
    let gauges: Vec<String> = metrics
        .gauges
        .iter()
        .map(|g| label("gauge", &g.name))
        .collect();
    let rates: Vec<String> = metrics
        .rates
        .iter()
        .map(|r| label("rate", &r.name))
        .collect();
    let trends: Vec<String> = metrics
        .trends
        .iter()
        .map(|t| label("trend", &t.name))
        .collect();
    let all = [&counters, &gauges, &rates, &trends];
    let w = width(
        all.iter()
            .flat_map(|labels| labels.iter().map(String::as_str)),
    );
    let _ = writeln!(out, "\nCustom metrics");
    for (counter, label) in metrics.counters.iter().zip(&counters) {
        let _ = writeln!(
            out,
            "{label:<w$} {:>9} total | {}/s",
            counter.value,
            rate(counter.per_s)
        );
    }
    for (gauge, label) in metrics.gauges.iter().zip(&gauges) {
        let _ = writeln!(
            out,
            "{label:<w$} {:>9} last  | min {} | max {}",
            number(gauge.value),
            number(gauge.min),
            number(gauge.max)
        );
    }
    for (rate, label) in metrics.rates.iter().zip(&rates) {
        let _ = writeln!(
            out,
            "{label:<w$} {:>9} — ✓ {} / ✗ {}",
            pass_percent(rate),
            rate.passes,
            rate.fails
        );
    }
    for (trend, label) in metrics.trends.iter().zip(&trends) {
        let p = |q| trend_percentile(trend, q);
        let _ = writeln!(
            out,
            "{label:<w$} {:>9} count | avg {} | p50 {} | p95 {} | p99 {} | max {}",
            trend.count,
            trend_mean(trend),
            p(0.5),
            p(0.95),
            p(0.99),
            trend_value(trend, trend.max_us)
        );
    }
}
