//! The report pages' checks, custom metrics and requests by tag: sections of the trial's page
//! and cells of the index, each only when the trial has some, so a page without them is what
//! it always was. Every name comes from user code or a file read back; maud escapes it.

use maud::{Markup, html};

use super::{entry_table_headed, figure};
use crate::report::figures::{
    checks_total, mark, number, pass_percent, tags_by_key, trend_mean, trend_percentile,
    trend_value,
};
use crate::report::{RatioReport, Report};

/// A table's spacing from the next one in the same section (the page's style has none).
const SPACED: &str = "margin-bottom:14px";

/// ✓ or ✗ as a badge: green when every check passed.
fn mark_badge(ratio: &RatioReport) -> Markup {
    html! {
        @if ratio.fails == 0 { span.badge.pass { (mark(ratio)) } } @else { span.badge.fail { (mark(ratio)) } }
    }
}

/// The headline figure of all checks: `✓ 100.00%`, `✗ 97.00%`.
pub(super) fn checks_figure(report: &Report) -> Markup {
    let all = checks_total(report);
    html! {
        @if !report.checks.is_empty() {
            (figure(format!("{} {}", mark(&all), pass_percent(&all)), "checks passed"))
        }
    }
}

/// A check per row, all of them together last.
pub(super) fn checks(report: &Report) -> Markup {
    let row = |check: &RatioReport, name: &str, total: bool| {
        html! {
            tr class=[total.then_some("total")] {
                td.l { (mark_badge(check)) " " (name) }
                td { (check.passes) } td { (check.fails) } td { (pass_percent(check)) }
            }
        }
    };
    html! {
        @if !report.checks.is_empty() {
            section #checks {
                h2 { "Checks" }
                table {
                    tr { th.l { "Check" } th { "Passes" } th { "Fails" } th { "Pass rate" } }
                    @for check in &report.checks { (row(check, &check.name, false)) }
                    (row(&checks_total(report), "All checks", true))
                }
            }
        }
    }
}

/// Requests by tag, a row per key and value, in the requests table's columns.
pub(super) fn tags(report: &Report) -> Markup {
    html! {
        @if !report.tags.is_empty() {
            section #tags {
                h2 { "Requests by tag" }
                (entry_table_headed(["Tag", "Value"], tags_by_key(report), None))
            }
        }
    }
}

/// Counters, gauges, rates and trends, a table for each kind the trial has.
pub(super) fn metrics(report: &Report) -> Markup {
    let metrics = &report.metrics;
    html! {
        @if !metrics.is_empty() {
            section #metrics {
                h2 { "Custom metrics" }
                @if !metrics.counters.is_empty() {
                    table style=(SPACED) {
                        tr { th.l { "Counter" } th { "Value" } th { "per second" } }
                        @for c in &metrics.counters {
                            tr { td.l { (c.name) } td { (c.value) } td { (crate::figure::rate(c.per_s)) } }
                        }
                    }
                }
                @if !metrics.gauges.is_empty() {
                    table style=(SPACED) {
                        tr { th.l { "Gauge" } th { "Value" } th { "Min" } th { "Max" } th { "Samples" } }
                        @for g in &metrics.gauges {
                            tr {
                                td.l { (g.name) } td { (number(g.value)) } td { (number(g.min)) }
                                td { (number(g.max)) } td { (g.samples) }
                            }
                        }
                    }
                }
                @if !metrics.rates.is_empty() {
                    table style=(SPACED) {
                        tr { th.l { "Rate" } th { "Value" } th { "True" } th { "False" } }
                        @for r in &metrics.rates {
                            tr { td.l { (r.name) } td { (pass_percent(r)) } td { (r.passes) } td { (r.fails) } }
                        }
                    }
                }
                (trends(report))
            }
        }
    }
}

fn trends(report: &Report) -> Markup {
    let trends = &report.metrics.trends;
    html! {
        @if !trends.is_empty() {
            table style=(SPACED) {
                tr {
                    th.l { "Trend" } th { "Count" } th { "Avg" } th { "Min" } th { "p50" }
                    th { "p95" } th { "p99" } th { "Max" }
                }
                @for t in trends {
                    tr {
                        td.l { (t.name) } td { (t.count) } td { (trend_mean(t)) }
                        td { (trend_value(t, t.min_us)) } td { (trend_percentile(t, 0.5)) }
                        td { (trend_percentile(t, 0.95)) } td { (trend_percentile(t, 0.99)) }
                        td { (trend_value(t, t.max_us)) }
                    }
                }
            }
            p.sub { "Trends of times in their own units (µs, ms, s); trends of values as recorded." }
        }
    }
}

/// The index's cell of a trial's checks: `✓ 100.00%`, or `-` for a trial without checks.
pub(super) fn checks_cell(report: &Report) -> Markup {
    let all = checks_total(report);
    html! {
        @if report.checks.is_empty() { "-" } @else { (mark_badge(&all)) " " (pass_percent(&all)) }
    }
}

/// The index's links to a trial's files of checks, metrics and tags, those it has.
pub(super) fn file_links(report: &Report, stem: &str) -> Markup {
    let files = [
        (!report.checks.is_empty(), "checks"),
        (!report.metrics.is_empty(), "metrics"),
        (!report.tags.is_empty(), "tags"),
    ];
    html! {
        @for (has, file) in files {
            @if has { " · " a href=(format!("{stem}_{file}.csv")) { (file) } }
        }
    }
}
