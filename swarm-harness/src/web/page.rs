//! The live page (`GET /`) and the JSON it polls every second (`GET /api/live`). The page is
//! one self-contained document, Chartist and styles embedded like the HTML report's, so it
//! works offline; its script builds every table cell with `textContent`, never markup, so a
//! request, check or metric name or an error message cannot inject anything.
//!
//! `/api/live` is our own document (Locust's clients read `/stats/requests`, which keeps
//! Locust's keys alone): besides the requests and tasks it carries the trial's `checks` and
//! `custom_metrics`, which the page shows in tables of their own once there are any.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Html;
use maud::{PreEscaped, html};
use serde_json::{Value, json};

use super::live::{Current, Live};
use super::{AppState, ms};
use crate::report::html::{document, legend};
use crate::stats::{Entry, EntryTable, LATENCY_KIND, Metrics, Ratio, TRANSACTION_KIND, round3};

/// Timeline points sent to the page: the last ten minutes.
const MAX_POINTS: usize = 600;

const PAGE_STYLE: &str = r#"
form.controls { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; }
form.controls label { display: flex; flex-direction: column; font-size: 12px; color: #5b6574; }
form.controls input { font: inherit; padding: 4px 6px; width: 120px; }
button { font: inherit; padding: 5px 14px; border-radius: 6px; border: 1px solid #b8c0cc; background: #fff; cursor: pointer; }
button.primary { background: #1d2430; color: #fff; border-color: #1d2430; }
#message { margin: 8px 0 0; font-size: 13px; color: #5b6574; min-height: 1em; }
#message.error { color: #a11919; }
th[data-key] { cursor: pointer; } th[data-key]:hover { text-decoration: underline; }
li.running { font-weight: 600; } li.pick { cursor: pointer; text-decoration: underline dotted; } li.shown { color: #1f5fbf; } li .status { color: #5b6574; font-size: 12px; margin-left: 6px; }
.links a { margin-right: 14px; }
"#;

/// The figure rule's twin first (the page formats with it), then the page's own script.
const PAGE_SCRIPT: &str = concat!(include_str!("figure.js"), include_str!("page.js"));

pub(super) async fn index() -> Html<String> {
    let body = html! {
        header {
            h1 { "swarm-harness " span id="trial-name" {} }
            div.sub { span id="state" { "ready" } " · " span id="description" {} }
        }
        main {
            section {
                h2 { "Swarm" }
                form.controls id="swarm-form" {
                    label { "Users" input id="user_count" name="user_count" type="number" min="0" value="2" required; }
                    label { "Spawn rate (users/s)" input id="spawn_rate" name="spawn_rate" type="number" min="0.001" step="any" value="1" required; }
                    label { "Host (optional)" input id="host" name="host" type="text" placeholder="as configured"; }
                    label { "Run time (optional)" input id="run_time" name="run_time" type="text" placeholder="e.g. 5m"; }
                    button.primary id="start" type="submit" { "Start / change" }
                    button id="stop" type="button" { "Stop" }
                    button id="reset" type="button" { "Reset stats" }
                }
                p id="message" {}
            }
            section {
                div.figures {
                    div.figure { b id="users" { "0" } span { "users" } }
                    div.figure { b id="rps" { "0" } span { "requests/s" } }
                    div.figure { b id="fails-per-s" { "0" } span { "failures/s" } }
                    div.figure { b id="count" { "0" } span { "requests" } }
                    div.figure { b id="failure-count" { "0" } span { "failures" } }
                    div.figure { b id="p95" { "-" } span { "p95 (ms)" } }
                }
            }
            div.charts {
                section { h2 { "Requests and failures per second" } (legend(&["requests/s", "failures/s"])) div.ct-chart id="chart-rps" {} }
                section { h2 { "Users" } (legend(&["users"])) div.ct-chart id="chart-users" {} }
                section { h2 { "Response time (ms)" } (legend(&["p50", "p95", "p99"])) div.ct-chart id="chart-latency" {} }
            }
            section { h2 { "Thresholds" } table id="thresholds" {} }
            section { h2 { "Requests" } table id="requests" {} p.sub { "Times in milliseconds. Click a header to sort." } }
            section { h2 { "Tasks" } table id="tasks" {} }
            section id="checks-section" hidden { h2 { "Checks" } table id="checks" {} }
            section id="metrics-section" hidden {
                h2 { "Custom metrics" } table id="custom-metrics" {}
                p.sub { "Trends of times in milliseconds, of values as recorded." }
            }
            section { h2 { "Failures" } table id="failures" {} }
            section { h2 { "Trials" } ul id="trials" {} }
            section.links {
                h2 { "Downloads" }
                a href="stats/requests/csv" { "requests CSV" }
                a href="stats/requests_full_history/csv" { "history CSV" }
                a href="stats/failures/csv" { "failures CSV" }
                a href="exceptions/csv" { "exceptions CSV" }
                a href="stats/report?download=1" { "HTML report" }
            }
        }
    };
    Html(document(
        "swarm-harness",
        PAGE_STYLE,
        body,
        Some(PreEscaped(PAGE_SCRIPT.to_owned())),
    ))
}

fn row(kind: &str, name: &str, entry: &Entry, seconds: f64) -> Value {
    json!({
        "kind": kind,
        "name": name,
        "count": entry.count,
        "failures": entry.failures,
        "median": ms(entry.percentile(0.5) as f64),
        "avg": ms(entry.mean_micros()),
        "min": ms(entry.min() as f64),
        "max": ms(entry.max_micros as f64),
        "p95": ms(entry.percentile(0.95) as f64),
        "p99": ms(entry.percentile(0.99) as f64),
        "rps": crate::stats::round3(entry.count as f64 / seconds),
        "avg_size": entry.content_bytes.checked_div(entry.count).unwrap_or(0),
    })
}

fn rows(table: &EntryTable, seconds: f64, keep: impl Fn(&str) -> bool) -> Vec<Value> {
    table
        .iter()
        .filter(|(kind, _, _)| keep(kind))
        .map(|(kind, name, entry)| row(kind, name, entry, seconds))
        .collect()
}

fn trial_json(current: &Current) -> Value {
    let seconds = current.stats_seconds();
    let timeline = &current.timeline[current.timeline.len().saturating_sub(MAX_POINTS)..];
    let failures: Vec<Value> = current
        .totals
        .failures
        .sorted()
        .into_iter()
        .take(100)
        .map(|(key, group)| {
            json!({
                "kind": key.kind, "name": key.name, "error": key.error,
                "occurrences": group.occurrences, "sample": group.sample,
            })
        })
        .collect();
    let (rps, fails_per_s) = current.current_total_rates();
    json!({
        "name": current.info.name,
        "description": current.info.description,
        "host": current.info.host,
        "steerable": current.info.steerable,
        "running": current.running(),
        "passed": current.report.as_ref().map(|r| r.passed),
        "verdict": current.report.as_ref().and_then(|r| r.verdict.clone()),
        "users": if current.running() { current.snapshot.users } else { 0 },
        "target": current.target.map(|(users, rate)| json!({ "users": users, "rate": rate })),
        "count": current.totals.request_total().count,
        "failures": current.totals.request_total().failures,
        "rps": crate::stats::round3(rps),
        "fails_per_s": crate::stats::round3(fails_per_s),
        "p95": ms(current.current_total().percentile(0.95) as f64),
        "thresholds": current.thresholds,
        "requests": rows(&current.totals.requests, seconds, |k| k != TRANSACTION_KIND),
        "total": row("", "Aggregated", &current.totals.request_total(), seconds),
        "tasks": rows(&current.totals.tasks, seconds, |k| k != LATENCY_KIND),
        "failure_groups": failures,
        "cancelled": current.totals.cancelled.total(),
        "checks": current.totals.checks.sorted().into_iter().map(ratio).collect::<Vec<_>>(),
        "custom_metrics": custom_metrics(&current.totals.metrics, seconds),
        "timeline": crate::report::html::timeline_series(timeline),
    })
}

/// A check, or a rate's true (`passes`) and false (`fails`) samples, as the report has them.
fn ratio((name, ratio): (&str, &Ratio)) -> Value {
    json!({
        "name": name,
        "passes": ratio.passes,
        "fails": ratio.fails,
        "rate": round3(ratio.rate().unwrap_or(0.0)),
    })
}

/// The custom metrics: counters, gauges and rates in the report's keys; a trend's figures
/// like a request row's, in ms when it holds times (as the request tables), as recorded
/// otherwise.
fn custom_metrics(metrics: &Metrics, seconds: f64) -> Value {
    let counters: Vec<Value> = metrics
        .counters
        .sorted()
        .into_iter()
        .map(|(name, &value)| {
            json!({ "name": name, "value": value, "per_s": round3(value as f64 / seconds) })
        })
        .collect();
    let gauges: Vec<Value> = metrics
        .gauges
        .sorted()
        .into_iter()
        .map(|(name, g)| {
            // A value that is not finite becomes null in JSON.
            json!({
                "name": name, "value": g.value, "min": g.min, "max": g.max,
                "samples": g.samples,
            })
        })
        .collect();
    let trends: Vec<Value> = metrics
        .trends
        .sorted()
        .into_iter()
        .map(|(name, trend)| {
            let e = &trend.entry;
            let unit = |v: f64| if trend.time { ms(v) } else { round3(v) };
            json!({
                "name": name, "kind": if trend.time { "time" } else { "value" }, "count": e.count,
                "avg": unit(e.mean_micros()), "min": unit(e.min() as f64),
                "median": unit(e.percentile(0.5) as f64), "p95": unit(e.percentile(0.95) as f64),
                "p99": unit(e.percentile(0.99) as f64), "max": unit(e.max_micros as f64),
            })
        })
        .collect();
    json!({
        "counters": counters,
        "gauges": gauges,
        "rates": metrics.rates.sorted().into_iter().map(ratio).collect::<Vec<_>>(),
        "trends": trends,
    })
}

/// The live document; `shown` names the trial of a run group to show in full (the one
/// started first when it names none that runs).
pub(super) fn live_json(live: &Live, shown: Option<&str>) -> Value {
    let running: Vec<&Current> = live
        .current
        .iter()
        .chain(live.beside.values())
        .map(|current| &**current)
        .filter(|current| current.running())
        .collect();
    let trial = shown
        .and_then(|name| running.iter().copied().find(|c| c.info.name == name))
        .or(live.current.as_deref());
    json!({
        "state": live.state(),
        "finished": live.finished,
        "waiting": !live.waiting.is_empty(),
        "trials": live.trials,
        // The trials a command can be for: waiting for a start, or running.
        "running": live
            .waiting
            .values()
            .map(String::as_str)
            .chain(running.iter().map(|c| c.info.name.as_str()))
            .collect::<Vec<_>>(),
        "trial": trial.map(trial_json),
    })
}

pub(super) async fn live(
    State(state): State<AppState>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let shown = query.get("trial").map(String::as_str);
    Json(live_json(&state.live(), shown))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::events::TrialInfo;
    use crate::stats::{Recorder, Tally};

    /// The live document of a running trial whose totals are `totals`.
    fn live_with(totals: Tally) -> Value {
        let info = TrialInfo {
            index: 0,
            name: "checkout".into(),
            description: "2 users".into(),
            host: None,
            duration_s: 60.0,
            steerable: true,
            thresholds: Vec::new(),
            max_names: 1_000,
        };
        let mut current = Current::new(Arc::new(info));
        current.totals = Arc::new(totals);
        current.snapshot.elapsed_s = 10.0;
        let live = Live {
            current: Some(Arc::new(current)),
            ..Live::default()
        };
        live_json(&live, None)
    }

    #[test]
    fn the_live_document_carries_checks_and_custom_metrics_by_name() {
        let recorder = Recorder::new(2, None);
        recorder.check(0, "status is 200", true);
        recorder.check(1, "status is 200", true);
        recorder.check(1, "status is 200", false);
        recorder.counter(0, "orders", 5);
        recorder.gauge(1, "queue", 3.5);
        recorder.rate(0, "cache hit", true);
        recorder.trend(0, "queue wait", true, 12_000);
        recorder.trend(1, "items", false, 7);
        let trial = &live_with(recorder.take())["trial"];
        assert_eq!(
            trial["checks"],
            json!([{ "name": "status is 200", "passes": 2, "fails": 1, "rate": 0.667 }])
        );
        let metrics = &trial["custom_metrics"];
        assert_eq!(
            metrics["counters"],
            json!([{ "name": "orders", "value": 5, "per_s": 0.5 }])
        );
        assert_eq!(metrics["gauges"][0]["value"], 3.5);
        assert_eq!(metrics["rates"][0]["rate"], 1.0);
        let trends = metrics["trends"].as_array().unwrap();
        // Sorted by name; a time in ms like the request tables, a value as recorded.
        assert_eq!(
            (&trends[0]["name"], &trends[0]["max"]),
            (&json!("items"), &json!(7.0))
        );
        assert_eq!(trends[1]["kind"], "time");
        assert_eq!(trends[1]["median"], 12.0);
        // Locust's own document keeps its keys alone.
        assert!(trial.get("stats").is_none());
        let empty = &live_with(Tally::default())["trial"];
        assert_eq!(empty["checks"], json!([]));
        assert_eq!(empty["custom_metrics"]["trends"], json!([]));
    }

    /// The page's figure rule (`figure.js`) against the Rust rule's table of cases, by node
    /// when it is installed (the e2e test holds Chromium's run of it to the same table).
    #[test]
    fn the_pages_figure_rule_matches_the_table_of_cases() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let run = std::process::Command::new("node")
            .arg(dir.join("web/figure_check.js"))
            .arg(dir.join("figure/cases.txt"))
            .output();
        let Ok(output) = run else {
            eprintln!("node is not installed: figure.js is checked by the e2e test alone");
            return;
        };
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains(" 0 wrong"), "{text}");
        assert!(PAGE_SCRIPT.starts_with(include_str!("figure.js")));
    }

    #[tokio::test]
    async fn a_hostile_check_name_reaches_the_page_as_text() {
        let hostile = "<img src=x onerror=alert(1)>";
        let recorder = Recorder::new(1, None);
        recorder.check(0, hostile, false);
        recorder.counter(0, hostile, 1);
        let trial = &live_with(recorder.take())["trial"];
        // The name is data, as written, for the script to set as text.
        assert_eq!(trial["checks"][0]["name"], hostile);
        assert_eq!(trial["custom_metrics"]["counters"][0]["name"], hostile);
        // The script puts every cell in with textContent, these tables included, and never
        // parses a string as markup.
        assert!(PAGE_SCRIPT.contains("simpleTable('checks'"));
        assert!(PAGE_SCRIPT.contains("simpleTable('custom-metrics'"));
        assert!(PAGE_SCRIPT.contains("el.textContent ="));
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "createContextualFragment",
            "DOMParser",
        ] {
            assert!(!PAGE_SCRIPT.contains(sink), "page.js uses {sink}");
        }
        // The tables start hidden, shown once there is a row.
        let page = index().await.0;
        assert!(
            page.contains(r#"<section id="checks-section" hidden>"#),
            "{page}"
        );
        assert!(page.contains(r#"<section id="metrics-section" hidden>"#));
    }
}
