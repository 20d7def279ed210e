//! Self-contained HTML reports built from the JSON alone: `<trial>.html` with charts (requests
//! and failures per second, users, p50/p95/p99 over time, the response-time distribution) and
//! tables (checks, custom metrics and requests by tag among them when the trial has some:
//! `custom`), and `index.html` over all trials of a run.
//!
//! Charts are drawn by Chartist (SVG), embedded inline with its stylesheet, so a page opens
//! offline and makes no network request. Markup comes from `maud`, which escapes every value.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

mod custom;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::json;

use super::{EntryReport, Report, file_stem, format_micros};
use crate::figure::rate;

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

/// A whole number of µs in a column of milliseconds, by the one figure rule.
fn ms(micros: u64) -> String {
    crate::figure::ms(micros as f64)
}

/// How long the trial ran, by the figure rule: `12.0s`, `300s`.
fn duration(report: &Report) -> String {
    crate::figure::time(report.duration_s * 1e6)
}

fn figure(value: String, label: &str) -> Markup {
    html! { div.figure { b { (value) } span { (label) } } }
}

fn entry_table(entries: &[EntryReport], total: Option<&EntryReport>) -> Markup {
    entry_table_headed(["Type", "Name"], entries, total)
}

/// [`entry_table`] with other headings for its first two columns (`Tag`, `Value`).
fn entry_table_headed<'a>(
    headings: [&str; 2],
    entries: impl IntoIterator<Item = &'a EntryReport>,
    total: Option<&EntryReport>,
) -> Markup {
    html! {
        table {
            tr {
                th.l { (headings[0]) } th.l { (headings[1]) } th { "# reqs" } th { "# fails" } th { "Median" }
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
            td { (ms(entry.median_us())) } td { (crate::figure::ms(entry.mean_us)) }
            td { (ms(entry.min_us)) } td { (ms(entry.max_us)) } td { (p(0.9)) } td { (p(0.95)) }
            td { (p(0.99)) } td { (p(0.999)) } td { (rate(entry.rps)) }
            td { (rate(entry.failures_per_s)) } td { (format!("{:.0}", entry.avg_content_bytes)) }
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
    let latency = report.latency_total();
    let body = html! {
        header {
            h1 { (report.identity.trial) " " (badge(report)) }
            div.sub {
                "started " (report.started_at) " · " (duration(report)) " · outcome "
                (format!("{:?}", report.outcome).to_lowercase()) " · " a href="index.html" style="color:#9cc3ff" { "all trials" }
            }
        }
        main {
            (overview(report, latency.as_ref()))
            (charts(latency.is_some()))
            (thresholds(report))
            (custom::checks(report))
            @if !report.task_latency.is_empty() {
                section #task-latency {
                    h2 { "Task latency from the intended start (coordinated omission corrected)" }
                    (entry_table(&report.task_latency, None))
                }
            }
            section #requests { h2 { "Requests" } (entry_table(&report.requests, Some(&report.requests_total))) }
            (custom::tags(report))
            section #tasks { h2 { "Tasks (service time: from each task's actual start)" } (entry_table(&report.tasks, None)) }
            (custom::metrics(report))
            (failures(report))
            (cancelled(report))
            script #chart-data type="application/json" { (PreEscaped(chart_data(report))) }
        }
    };
    page(
        &format!("{} · swarm-harness", report.identity.trial),
        body,
        Some(PreEscaped(CHART_SCRIPT.to_owned())),
    )
}

/// The headline figures, and the verdict, errors, warnings and cut-off work under them.
fn overview(report: &Report, latency: Option<&EntryReport>) -> Markup {
    let total = &report.requests_total;
    let p = |q: f64| format_micros(total.percentiles_us.get(q).unwrap_or(0));
    let lp = |q: f64| {
        latency.map_or(String::new(), |l| {
            format_micros(l.percentiles_us.get(q).unwrap_or(0))
        })
    };
    html! {
        section {
            div.figures {
                @if latency.is_some() {
                    (figure(lp(0.5), "latency p50")) (figure(lp(0.95), "latency p95")) (figure(lp(0.99), "latency p99"))
                }
                (figure(total.count.to_string(), "requests"))
                (figure(format!("{} ({:.2}%)", total.failures, total.fail_ratio() * 100.0), "failures"))
                (figure(rate(total.rps), "requests/s"))
                @if latency.is_some() {
                    (figure(p(0.5), "service p50")) (figure(p(0.95), "service p95")) (figure(p(0.99), "service p99"))
                } @else {
                    (figure(p(0.5), "p50")) (figure(p(0.95), "p95")) (figure(p(0.99), "p99"))
                }
                (figure(report.peak_users.to_string(), "peak users"))
                @if report.dropped_iterations > 0 {
                    (figure(report.dropped_iterations.to_string(), "dropped iterations"))
                }
                (custom::checks_figure(report))
            }
            @if latency.is_some() {
                p.sub { "Latency: from each task's intended start (coordinated omission corrected), what users felt. Service time: from each request's actual start." }
            }
            @if let Some(verdict) = &report.verdict { p.verdict { (verdict) } }
            @for error in &report.errors { p.verdict { "error: " (error) } }
            @for warning in &report.warnings { p.verdict { "warning: " (warning) } }
            @if let Some(cancelled) = report.cancelled_summary() { p.verdict { (cancelled) } }
        }
    }
}

fn charts(latency: bool) -> Markup {
    html! {
        div.charts {
            section { h2 { "Requests and failures per second" } (legend(&["requests/s", "failures/s"])) div #chart-rps .ct-chart {} }
            section { h2 { "Users" } (legend(&["users"])) div #chart-users .ct-chart {} }
            @if latency {
                section { h2 { "Latency from the intended start (ms)" } (legend(&["p50", "p95", "p99"])) div #chart-latency .ct-chart {} }
                section { h2 { "Service time: response time percentiles (ms)" } (legend(&["p50", "p95", "p99"])) div #chart-service .ct-chart {} }
            } @else {
                section { h2 { "Response time percentiles (ms)" } (legend(&["p50", "p95", "p99"])) div #chart-latency .ct-chart {} }
            }
            section { h2 { "Response time distribution (requests)" } div #chart-dist .ct-chart {} }
        }
    }
}

fn thresholds(report: &Report) -> Markup {
    html! {
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
    }
}

fn failures(report: &Report) -> Markup {
    html! {
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
    }
}

fn cancelled(report: &Report) -> Markup {
    html! {
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
    }
}

/// The page over all trials of a run.
pub fn index_page(reports: &[Report]) -> String {
    let passed = reports.iter().filter(|r| r.passed).count();
    // A column only for a run whose trials have checks, so other runs' pages stay as they were.
    let checks = reports.iter().any(|r| !r.checks.is_empty());
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
                        th { "req/s" } th { "p50" } th { "p95" } th { "p99" }
                        @if checks { th { "Checks" } }
                        th { "Duration" } th.l { "Files" }
                    }
                    @for report in reports {
                        @let total = &report.requests_total;
                        @let stem = file_stem(&report.identity.trial);
                        tr {
                            td.l { a href=(format!("{stem}.html")) { (report.identity.trial) } }
                            td { (badge(report)) }
                            td { (format!("{:?}", report.outcome).to_lowercase()) }
                            td { (total.count) } td { (total.failures) } td { (rate(total.rps)) }
                            td { (format_micros(total.percentiles_us.get(0.5).unwrap_or(0))) }
                            td { (format_micros(total.percentiles_us.get(0.95).unwrap_or(0))) }
                            td { (format_micros(total.percentiles_us.get(0.99).unwrap_or(0))) }
                            @if checks { td { (custom::checks_cell(report)) } }
                            td { (duration(report)) }
                            td.l {
                                a href=(format!("{stem}.json")) { "json" } " · "
                                a href=(format!("{stem}_stats.csv")) { "csv" } " · "
                                a href=(format!("{stem}_stats_history.csv")) { "history" } " · "
                                a href=(format!("{stem}_failures.csv")) { "failures" }
                                (custom::file_links(report, &stem))
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
    use super::{index_page, script_json, trial_page};
    use crate::report::fixtures::{HOSTILE, custom, plain};
    use proptest::prelude::*;

    /// A page's body, up to the end of its `main` (what follows is Chartist, inline).
    fn body(page: &str) -> &str {
        let start = page.find("<body>").unwrap();
        &page[start..page.find("</main>").unwrap() + "</main>".len()]
    }

    /// `page` without the first `<section id="ID">` element.
    fn without_section(page: &str, id: &str) -> String {
        let start = page.find(&format!("<section id=\"{id}\">")).unwrap();
        let end = start + page[start..].find("</section>").unwrap() + "</section>".len();
        [&page[..start], &page[end..]].concat()
    }

    #[test]
    fn pages_without_checks_metrics_or_tags_are_as_they_were() {
        // The bodies as they were written before checks, metrics and tags were shown (their
        // figures since by the one figure rule, `crate::figure`).
        let trial = include_str!("html/plain_trial.golden.html");
        let index = include_str!("html/plain_index.golden.html");
        assert_eq!(body(&trial_page(&plain())), trial.trim_end());
        assert_eq!(body(&index_page(&[plain()])), index.trim_end());
    }

    #[test]
    fn checks_metrics_and_tags_are_sections_of_their_own() {
        let page = trial_page(&custom());
        let figure = r#"<div class="figure"><b>✗ 97.00%</b><span>checks passed</span></div>"#;
        assert!(page.contains(figure), "{page}");
        let mut rest = page.replacen(figure, "", 1);
        for id in ["checks", "tags", "metrics"] {
            rest = without_section(&rest, id);
        }
        assert_eq!(rest, trial_page(&plain()));
        let escaped = "a &lt;b&gt; &quot;c&quot;, d\ne";
        for expected in [
            r#"<h2>Checks</h2>"#,
            r#"<td class="l"><span class="badge fail">✗</span> status is 201</td><td>970</td><td>30</td><td>97.00%</td>"#,
            r#"<tr class="total"><td class="l"><span class="badge fail">✗</span> All checks</td><td>973</td><td>30</td>"#,
            r#"<h2>Requests by tag</h2><table><tr><th class="l">Tag</th><th class="l">Value</th>"#,
            "<td class=\"l\">region</td><td class=\"l\">eu\n&lt;west&gt;, &quot;2&quot;</td><td>5</td>",
            r#"<h2>Custom metrics</h2>"#,
            r#"<td class="l">depth &lt;q&gt;</td><td>3</td><td>-1.5</td><td>5</td><td>3</td>"#,
            r#"<td class="l">cache &quot;hit&quot;</td><td>75.00%</td><td>3</td><td>1</td>"#,
            r#"<td class="l">items, per page</td><td>100</td><td>50.5</td><td>1</td><td>50</td><td>95</td><td>99</td><td>100</td>"#,
            r#"<td class="l">queue wait</td><td>100</td><td>50.5ms</td><td>1.00ms</td><td>50.0ms</td>"#,
        ] {
            assert!(page.contains(expected), "{expected}");
        }
        assert!(page.contains(&format!(
            r#"<span class="badge pass">✓</span> {escaped}</td>"#
        )));
        assert!(page.contains(&format!(
            r#"<td class="l">{escaped}</td><td>12</td><td>9.60</td>"#
        )));
        // No name's own markup reaches the page.
        assert!(!page.contains(HOSTILE) && !page.contains("<b> \"c\"") && !page.contains("<q>"));
        assert!(!page.contains("<west>"));
    }

    #[test]
    fn the_index_shows_checks_and_links_the_files_only_of_trials_that_have_them() {
        let page = index_page(&[custom(), plain()]);
        assert!(page.contains("<th>Checks</th><th>Duration</th>"), "{page}");
        assert!(page.contains(r#"<td><span class="badge fail">✗</span> 97.00%</td>"#));
        assert!(page.contains("<td>-</td>"), "{page}");
        let links = r#" · <a href="checkout[large]_checks.csv">checks</a> · <a href="checkout[large]_metrics.csv">metrics</a> · <a href="checkout[large]_tags.csv">tags</a></td>"#;
        assert_eq!(page.matches(links).count(), 1, "{page}");
    }

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
