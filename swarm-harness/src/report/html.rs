//! Self-contained HTML reports built from the JSON alone: `<trial>.html` with charts (requests
//! and failures per second, users, p50/p95/p99 over time, the response-time distribution) and
//! tables, and `index.html` over all trials of a run.
//!
//! Charts are drawn by Chartist (SVG), embedded inline with its stylesheet, so a page opens
//! offline and makes no network request. Markup comes from `maud`, which escapes every value.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::json;

use super::{EntryReport, Report, file_stem, format_micros};

const CHARTIST_JS: &str = include_str!("../../assets/chartist/chartist.umd.js");
const CHARTIST_CSS: &str = include_str!("../../assets/chartist/chartist.css");

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2430; background: #f5f6f8; }
header { background: #1d2430; color: #fff; padding: 16px 28px; }
header h1 { margin: 0; font-size: 20px; }
header .sub { color: #b8c0cc; font-size: 13px; }
main { padding: 18px 28px 40px; max-width: 1280px; }
section { background: #fff; border-radius: 8px; padding: 14px 18px; margin-bottom: 18px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { font-size: 16px; margin: 0 0 10px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.pass { background: #d9f2e0; color: #146c2e; } .fail { background: #fbdcdc; color: #a11919; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; }
.figure { background: #f0f2f5; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.figure b { display: block; font-size: 18px; }
.figure span { color: #5b6574; font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 18px; }
.charts section { margin: 0; }
.ct-chart { height: 240px; }
.legend span { margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 5px 8px; border-bottom: 1px solid #e6e8ec; text-align: right; white-space: nowrap; }
th { background: #f0f2f5; font-weight: 600; }
td.l, th.l { text-align: left; white-space: normal; }
tr.total td { font-weight: 600; }
pre { background: #f0f2f5; padding: 6px 8px; margin: 4px 0 0; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
.verdict { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 12px; }
a { color: #1f5fbf; }
"#;

/// Chartist's default series colours, for the hand-made legends.
const SERIES_COLORS: [&str; 3] = ["#d70206", "#f05b4f", "#f4c63d"];

fn page(title: &str, body: Markup, script: Option<PreEscaped<String>>) -> String {
    document(title, "", body, script)
}

/// A self-contained page: Chartist's and our styles (plus `style`) inline, and Chartist with
/// `script` when there is one. Shared by the reports and the live web UI.
pub fn document(
    title: &str,
    style: &str,
    body: Markup,
    script: Option<PreEscaped<String>>,
) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No favicon request either.
                link rel="icon" href="data:,";
                title { (title) }
                style { (PreEscaped(CHARTIST_CSS)) (PreEscaped(STYLE)) (PreEscaped(style)) }
            }
            body {
                (body)
                @if let Some(script) = script {
                    script { (PreEscaped(CHARTIST_JS)) }
                    script { (script) }
                }
            }
        }
    }
    .into_string()
}

fn badge(report: &Report) -> Markup {
    html! {
        @if report.passed { span.badge.pass { "PASS" } } @else { span.badge.fail { "FAIL" } }
    }
}

fn ms(micros: u64) -> String {
    format!("{:.1}", micros as f64 / 1e3)
}

fn figure(value: String, label: &str) -> Markup {
    html! { div.figure { b { (value) } span { (label) } } }
}

fn entry_table(entries: &[EntryReport], total: Option<&EntryReport>) -> Markup {
    html! {
        table {
            tr {
                th.l { "Type" } th.l { "Name" } th { "# reqs" } th { "# fails" } th { "Median" }
                th { "Average" } th { "Min" } th { "Max" } th { "p90" } th { "p95" } th { "p99" }
                th { "p99.9" } th { "req/s" } th { "fail/s" } th { "Avg size (B)" }
            }
            @for entry in entries { (entry_row(entry, false)) }
            @if let Some(total) = total { (entry_row(total, true)) }
        }
        p.sub { "Times in milliseconds." }
    }
}

fn entry_row(entry: &EntryReport, total: bool) -> Markup {
    let p = |q: f64| ms(entry.percentiles_us.get(q).unwrap_or(0));
    html! {
        tr class=[total.then_some("total")] {
            td.l { (entry.kind) } td.l { (entry.name) } td { (entry.count) }
            td { (entry.failures) " (" (format!("{:.2}", entry.fail_ratio() * 100.0)) "%)" }
            td { (ms(entry.median_us())) } td { (format!("{:.1}", entry.mean_us / 1e3)) }
            td { (ms(entry.min_us)) } td { (ms(entry.max_us)) } td { (p(0.9)) } td { (p(0.95)) }
            td { (p(0.99)) } td { (p(0.999)) } td { (format!("{:.2}", entry.rps)) }
            td { (format!("{:.2}", entry.failures_per_s)) } td { (format!("{:.0}", entry.avg_content_bytes)) }
        }
    }
}

/// The response-time distribution of all requests: log-spaced buckets between the fastest
/// and the slowest request, from the HDR histogram.
fn distribution(total: &EntryReport) -> (Vec<String>, Vec<u64>) {
    let Ok(histogram) = total.decode_histogram() else {
        return (Vec::new(), Vec::new());
    };
    if histogram.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let first = histogram.min().max(1);
    let mut labels = Vec::new();
    let mut counts = Vec::new();
    for step in histogram.iter_log(first, std::f64::consts::SQRT_2) {
        labels.push(format!("≤{}", format_micros(step.value_iterated_to())));
        counts.push(step.count_since_last_iteration());
    }
    (labels, counts)
}

/// The timeline's chart series: seconds, users, requests and failures per second, and the
/// p50/p95/p99 of each interval in ms. Shared by the report and the live page.
pub(crate) fn timeline_series(timeline: &[crate::stats::TimelinePoint]) -> serde_json::Value {
    let at = |index: usize| -> Vec<f64> {
        timeline
            .iter()
            .map(|p| p.percentiles_us.get(index).copied().unwrap_or(0) as f64 / 1e3)
            .collect()
    };
    json!({
        "t": timeline.iter().map(|p| p.t).collect::<Vec<_>>(),
        "users": timeline.iter().map(|p| p.users).collect::<Vec<_>>(),
        "rps": timeline.iter().map(|p| p.rps).collect::<Vec<_>>(),
        "fps": timeline.iter().map(|p| p.failures_per_s).collect::<Vec<_>>(),
        "p50": at(0),
        "p95": at(5),
        "p99": at(7),
    })
}

fn chart_data(report: &Report) -> String {
    let timeline = &report.timeline;
    let latency_at = |index: usize| -> Vec<f64> {
        timeline
            .iter()
            .map(|p| p.latency_percentiles_us.get(index).copied().unwrap_or(0) as f64 / 1e3)
            .collect()
    };
    let (labels, counts) = distribution(&report.requests_total);
    let mut data = timeline_series(timeline);
    let extra = json!({
        "latency": !report.task_latency.is_empty(),
        "l50": latency_at(0),
        "l95": latency_at(5),
        "l99": latency_at(7),
        "dist": { "labels": labels, "counts": counts },
    });
    if let (Some(data), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    script_json(&data)
}

/// JSON to embed in a `<script>` element. In JSON a `<` can only stand inside a string, where
/// `\u003c` means the same; so no text of a report (a request name, an error) can end the
/// element (`</script>`), open a comment that swallows it (`<!--`), or open a tag. `>` and `&`
/// go the same way, for parsers that look for `-->` or entities.
pub fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

const CHART_SCRIPT: &str = r#"
(function () {
  var d = JSON.parse(document.getElementById('chart-data').textContent);
  function xy(ys) { return ys.map(function (y, i) { return { x: d.t[i], y: y }; }); }
  var line = { axisX: { type: Chartist.AutoScaleAxis, onlyInteger: true }, showPoint: d.t.length < 3,
               lineSmooth: false, chartPadding: { left: 10, right: 20 }, low: 0 };
  new Chartist.LineChart('#chart-rps', { series: [{ name: 'requests/s', data: xy(d.rps) }, { name: 'failures/s', data: xy(d.fps) }] }, line);
  new Chartist.LineChart('#chart-users', { series: [{ name: 'users', data: xy(d.users) }] }, line);
  // With intended-start latency, the chart shows what users felt; service time is below.
  var lat = d.latency ? [d.l50, d.l95, d.l99] : [d.p50, d.p95, d.p99];
  new Chartist.LineChart('#chart-latency', { series: [{ name: 'p50', data: xy(lat[0]) }, { name: 'p95', data: xy(lat[1]) }, { name: 'p99', data: xy(lat[2]) }] }, line);
  if (d.latency) {
    new Chartist.LineChart('#chart-service', { series: [{ name: 'p50', data: xy(d.p50) }, { name: 'p95', data: xy(d.p95) }, { name: 'p99', data: xy(d.p99) }] }, line);
  }
  // At most eight labels on the axis, so they never overlap.
  var every = Math.max(1, Math.ceil(d.dist.labels.length / 8));
  new Chartist.BarChart('#chart-dist', { labels: d.dist.labels, series: [d.dist.counts] },
    { chartPadding: { left: 10, right: 20, bottom: 10 }, axisX: { labelInterpolationFnc: function (v, i) { return i % every === 0 ? v : null; } } });
})();
"#;

pub fn legend(names: &[&str]) -> Markup {
    html! {
        div.legend {
            @for (name, color) in names.iter().zip(SERIES_COLORS) {
                span { i style=(format!("background:{color}")) {} (name) }
            }
        }
    }
}

/// The page of one trial.
pub fn trial_page(report: &Report) -> String {
    let total = &report.requests_total;
    let p = |q: f64| format_micros(total.percentiles_us.get(q).unwrap_or(0));
    let latency = report.latency_total();
    let lp = |q: f64| {
        latency.as_ref().map_or(String::new(), |l| {
            format_micros(l.percentiles_us.get(q).unwrap_or(0))
        })
    };
    let body = html! {
        header {
            h1 { (report.identity.trial) " " (badge(report)) }
            div.sub {
                "started " (report.started_at) " · " (format!("{:.1}", report.duration_s)) " s · outcome "
                (format!("{:?}", report.outcome).to_lowercase()) " · " a href="index.html" style="color:#9cc3ff" { "all trials" }
            }
        }
        main {
            section {
                div.figures {
                    @if latency.is_some() {
                        (figure(lp(0.5), "latency p50")) (figure(lp(0.95), "latency p95")) (figure(lp(0.99), "latency p99"))
                    }
                    (figure(total.count.to_string(), "requests"))
                    (figure(format!("{} ({:.2}%)", total.failures, total.fail_ratio() * 100.0), "failures"))
                    (figure(format!("{:.1}", total.rps), "requests/s"))
                    @if latency.is_some() {
                        (figure(p(0.5), "service p50")) (figure(p(0.95), "service p95")) (figure(p(0.99), "service p99"))
                    } @else {
                        (figure(p(0.5), "p50")) (figure(p(0.95), "p95")) (figure(p(0.99), "p99"))
                    }
                    (figure(report.peak_users.to_string(), "peak users"))
                    @if report.dropped_iterations > 0 {
                        (figure(report.dropped_iterations.to_string(), "dropped iterations"))
                    }
                }
                @if latency.is_some() {
                    p.sub { "Latency: from each task's intended start (coordinated omission corrected), what users felt. Service time: from each request's actual start." }
                }
                @if let Some(verdict) = &report.verdict { p.verdict { (verdict) } }
                @for error in &report.errors { p.verdict { "error: " (error) } }
                @for warning in &report.warnings { p.verdict { "warning: " (warning) } }
                @if let Some(cancelled) = report.cancelled_summary() { p.verdict { (cancelled) } }
            }
            div.charts {
                section { h2 { "Requests and failures per second" } (legend(&["requests/s", "failures/s"])) div #chart-rps .ct-chart {} }
                section { h2 { "Users" } (legend(&["users"])) div #chart-users .ct-chart {} }
                @if latency.is_some() {
                    section { h2 { "Latency from the intended start (ms)" } (legend(&["p50", "p95", "p99"])) div #chart-latency .ct-chart {} }
                    section { h2 { "Service time: response time percentiles (ms)" } (legend(&["p50", "p95", "p99"])) div #chart-service .ct-chart {} }
                } @else {
                    section { h2 { "Response time percentiles (ms)" } (legend(&["p50", "p95", "p99"])) div #chart-latency .ct-chart {} }
                }
                section { h2 { "Response time distribution (requests)" } div #chart-dist .ct-chart {} }
            }
            @if !report.thresholds.is_empty() {
                section {
                    h2 { "Thresholds" }
                    table {
                        tr { th.l { "Threshold" } th { "Observed" } th { "Verdict" } }
                        @for verdict in &report.thresholds {
                            tr {
                                td.l { (verdict.expression) } td { (verdict.observed_text) }
                                td { @if verdict.pass { span.badge.pass { "pass" } } @else { span.badge.fail { "breached" } } }
                            }
                        }
                    }
                }
            }
            @if !report.task_latency.is_empty() {
                section #task-latency {
                    h2 { "Task latency from the intended start (coordinated omission corrected)" }
                    (entry_table(&report.task_latency, None))
                }
            }
            section #requests { h2 { "Requests" } (entry_table(&report.requests, Some(total))) }
            section #tasks { h2 { "Tasks (service time: from each task's actual start)" } (entry_table(&report.tasks, None)) }
            @if !report.failures.is_empty() {
                section #failures {
                    h2 { "Failures" }
                    table {
                        tr { th { "Occurrences" } th.l { "Type" } th.l { "Name" } th.l { "Error and sample response" } }
                        @for failure in &report.failures {
                            tr {
                                td { (failure.occurrences) } td.l { (failure.kind) } td.l { (failure.name) }
                                td.l {
                                    (failure.error)
                                    @if let Some(sample) = &failure.sample {
                                        pre {
                                            @if let Some(url) = &sample.url { (url) "\n" }
                                            @if let Some(status) = sample.status { "HTTP " (status) "\n" }
                                            @if let Some(body) = &sample.body { (body) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !report.cancelled.is_empty() {
                section #cancelled {
                    h2 { "Cut off before completing (not failures)" }
                    table {
                        tr { th { "Occurrences" } th.l { "Type" } th.l { "Name" } th.l { "Why" } }
                        @for cancelled in &report.cancelled {
                            tr {
                                td { (cancelled.occurrences) } td.l { (cancelled.kind) }
                                td.l { (cancelled.name) } td.l { (cancelled.error) }
                            }
                        }
                    }
                }
            }
            script #chart-data type="application/json" { (PreEscaped(chart_data(report))) }
        }
    };
    page(
        &format!("{} · swarm-harness", report.identity.trial),
        body,
        Some(PreEscaped(CHART_SCRIPT.to_owned())),
    )
}

/// The page over all trials of a run.
pub fn index_page(reports: &[Report]) -> String {
    let passed = reports.iter().filter(|r| r.passed).count();
    let body = html! {
        header {
            h1 { "Stress run" }
            div.sub { (passed) " of " (reports.len()) " trials passed" }
        }
        main {
            section {
                table {
                    tr {
                        th.l { "Trial" } th { "Verdict" } th { "Outcome" } th { "Requests" } th { "Failures" }
                        th { "req/s" } th { "p50" } th { "p95" } th { "p99" } th { "Duration" } th.l { "Files" }
                    }
                    @for report in reports {
                        @let total = &report.requests_total;
                        @let stem = file_stem(&report.identity.trial);
                        tr {
                            td.l { a href=(format!("{stem}.html")) { (report.identity.trial) } }
                            td { (badge(report)) }
                            td { (format!("{:?}", report.outcome).to_lowercase()) }
                            td { (total.count) } td { (total.failures) } td { (format!("{:.1}", total.rps)) }
                            td { (format_micros(total.percentiles_us.get(0.5).unwrap_or(0))) }
                            td { (format_micros(total.percentiles_us.get(0.95).unwrap_or(0))) }
                            td { (format_micros(total.percentiles_us.get(0.99).unwrap_or(0))) }
                            td { (format!("{:.1}s", report.duration_s)) }
                            td.l {
                                a href=(format!("{stem}.json")) { "json" } " · "
                                a href=(format!("{stem}_stats.csv")) { "csv" } " · "
                                a href=(format!("{stem}_stats_history.csv")) { "history" } " · "
                                a href=(format!("{stem}_failures.csv")) { "failures" }
                            }
                        }
                    }
                }
                p { a href="junit.xml" { "junit.xml" } }
            }
        }
    };
    page("Stress run · swarm-harness", body, None)
}

#[cfg(test)]
mod tests {
    use super::script_json;
    use proptest::prelude::*;

    #[test]
    fn report_text_cannot_leave_the_script_element() {
        let hostile = serde_json::json!({
            "name": "</script><script>alert(1)</script>",
            "error": "<!-- swallow the rest --> & <b>",
        });
        let text = script_json(&hostile);
        for marker in ["<", ">", "&"] {
            assert!(!text.contains(marker), "{text}");
        }
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, hostile);
    }

    proptest! {
        #[test]
        fn any_text_round_trips_without_markup(name in any::<String>()) {
            let value = serde_json::json!({ "name": name });
            let text = script_json(&value);
            prop_assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
            prop_assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
        }
    }
}
