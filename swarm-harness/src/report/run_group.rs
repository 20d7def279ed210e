//! The run-level report of a run group: its trials side by side on one timeline, second by
//! second of wall-clock time, each with its own load model and verdict. Built from the
//! trials' own reports (their timelines carry Unix timestamps), so it says nothing they do
//! not; written as `<group>.run.json` and `<group>.run.html`.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, html};
use serde::{Deserialize, Serialize};

use super::{FORMAT_VERSION, Report};
use crate::figure::rate;

/// A run group's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupReport {
    /// The report format's version.
    pub format_version: u32,
    /// The group's name (`run = ".."`, `PT_RUN_TOGETHER`).
    pub run: String,
    /// Whether every trial of the group passed.
    pub passed: bool,
    /// Its trials, in the order of the run.
    pub trials: Vec<GroupTrial>,
    /// Each second any trial ran, in time order.
    pub timeline: Vec<GroupSecond>,
}

/// One trial of a group, as its own report tells it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupTrial {
    /// The trial's name.
    pub trial: String,
    /// `closed` (users and a hatch rate), `open` (an arrival rate) or `shaped` (stages or a
    /// load shape).
    pub model: String,
    /// Its resolved settings, as its report's `config`.
    pub config: serde_json::Value,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// Seconds it ran.
    pub duration_s: f64,
    /// Requests it made, failures included.
    pub requests: u64,
    /// Requests that failed.
    pub failures: u64,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed.
    pub verdict: Option<String>,
}

/// One second of wall-clock time: each trial that ran in it, by name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupSecond {
    /// Unix time in seconds at the end of the second.
    pub timestamp: i64,
    /// Seconds since the group's first trial started.
    pub t: i64,
    /// The trials' figures in that second.
    pub trials: BTreeMap<String, GroupPoint>,
}

/// One trial's figures in one second.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct GroupPoint {
    /// Users running at the end of the second.
    pub users: usize,
    /// Requests per second.
    pub rps: f64,
    /// Failed requests per second.
    pub failures_per_s: f64,
    /// Median response time, µs.
    pub p50_us: u64,
    /// 95th percentile response time, µs.
    pub p95_us: u64,
}

/// The load model a report's `config` describes.
fn model_of(config: &serde_json::Value) -> &'static str {
    let set = |field: &str| !config[field].is_null();
    if set("stages") || set("shape") {
        "shaped"
    } else if set("arrival_rate") {
        "open"
    } else {
        "closed"
    }
}

impl GroupReport {
    /// The report of the group `run` from its trials' reports.
    pub fn build(run: &str, reports: &[&Report]) -> GroupReport {
        let mut seconds: BTreeMap<i64, BTreeMap<String, GroupPoint>> = BTreeMap::new();
        for report in reports {
            for point in &report.timeline {
                let figures = GroupPoint {
                    users: point.users,
                    rps: point.rps,
                    failures_per_s: point.failures_per_s,
                    p50_us: point.p50_us,
                    p95_us: point.p95_us,
                };
                seconds
                    .entry(point.timestamp)
                    .or_default()
                    .insert(report.identity.trial.clone(), figures);
            }
        }
        let first = seconds.keys().next().copied().unwrap_or(0);
        GroupReport {
            format_version: FORMAT_VERSION,
            run: run.to_owned(),
            passed: reports.iter().all(|r| r.passed),
            trials: reports.iter().map(|r| trial_of(r)).collect(),
            timeline: seconds
                .into_iter()
                .map(|(timestamp, trials)| GroupSecond {
                    timestamp,
                    t: timestamp.saturating_sub(first),
                    trials,
                })
                .collect(),
        }
    }

    /// Seconds in which every trial of the group ran at once.
    pub fn overlap_s(&self) -> usize {
        self.timeline
            .iter()
            .filter(|second| second.trials.len() == self.trials.len())
            .count()
    }

    /// The page: each trial's line (its model and verdict), then its requests per second and
    /// users on one time axis.
    pub fn html(&self) -> String {
        let verdict = if self.passed { "passed" } else { "failed" };
        let rps: fn(&GroupPoint) -> f64 = |p| p.rps;
        let users: fn(&GroupPoint) -> f64 = |p| p.users as f64;
        html! {
            (DOCTYPE)
            html {
                head {
                    meta charset="utf-8";
                    title { "run " (self.run) }
                    style { "body{font:14px sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}svg{border:1px solid #ccc}" }
                }
                body {
                    h1 { "Run group " (self.run) ": " (verdict) }
                    p { (self.overlap_s()) " s with every trial running at once" }
                    table {
                        tr { th { "trial" } th { "model" } th { "started" } th { "duration" } th { "requests" } th { "failures" } th { "verdict" } }
                        @for trial in &self.trials {
                            tr {
                                td { (trial.trial) } td { (trial.model) } td { (trial.started_at) }
                                td { (format!("{:.1} s", trial.duration_s)) } td { (trial.requests) }
                                td { (trial.failures) } td { (trial.verdict.as_deref().unwrap_or("passed")) }
                            }
                        }
                    }
                    h2 { "Requests per second" } (self.chart(rps))
                    h2 { "Users" } (self.chart(users))
                }
            }
        }
        .into_string()
    }

    /// One line per trial over the group's seconds.
    fn chart(&self, value: fn(&GroupPoint) -> f64) -> Markup {
        const COLOURS: [&str; 6] = [
            "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
        ];
        const WIDTH: f64 = 800.0;
        const HEIGHT: f64 = 200.0;
        let last = self.timeline.last().map_or(1, |s| s.t.max(1)) as f64;
        let top = self
            .timeline
            .iter()
            .flat_map(|s| s.trials.values().map(value))
            .fold(1.0_f64, f64::max);
        let line = |trial: &str| -> String {
            let points: Vec<String> = self
                .timeline
                .iter()
                .filter_map(|s| s.trials.get(trial).map(|p| (s.t, value(p))))
                .map(|(t, v)| {
                    format!(
                        "{:.1},{:.1}",
                        t as f64 / last * WIDTH,
                        HEIGHT - v / top * HEIGHT
                    )
                })
                .collect();
            points.join(" ")
        };
        html! {
            svg width=(WIDTH) height=(HEIGHT + 20.0) viewBox=(format!("0 0 {WIDTH} {}", HEIGHT + 20.0)) {
                @for (i, trial) in self.trials.iter().enumerate() {
                    polyline fill="none" stroke=(COLOURS[i % COLOURS.len()]) stroke-width="2" points=(line(&trial.trial)) {}
                    text x=(10 + 150 * i) y=(HEIGHT + 16.0) fill=(COLOURS[i % COLOURS.len()]) { (trial.trial) }
                }
                text x="4" y="14" { "max " (rate(top)) }
            }
        }
    }
}

fn trial_of(report: &Report) -> GroupTrial {
    let (requests, failures) = (report.requests_total.count, report.requests_total.failures);
    GroupTrial {
        trial: report.identity.trial.clone(),
        model: model_of(&report.config).to_owned(),
        config: report.config.clone(),
        started_at: report.started_at.clone(),
        duration_s: report.duration_s,
        requests,
        failures,
        passed: report.passed,
        verdict: report.verdict.clone(),
    }
}
