//! The report document (`format_version` 1): what one trial measured, in a form other tools
//! read back. Times are microseconds (`_us`), durations seconds (`_s`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::stats::histogram;
use crate::stats::round3;
use crate::stats::{Entry, LATENCY_KIND, PERCENTILES, Tally, TimelinePoint, quantile_of_percent};
use crate::threshold::Verdict;

/// The version of the report format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Which trial a report belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrialIdentity {
    /// `scenario` or `scenario[param]`.
    pub trial: String,
    /// The scenario's reported name (`name = ".."`, or the function's), or the `user = ".."`
    /// group's name.
    pub scenario: String,
    /// The parameter of a `params = [..]` trial; `None` for a scenario without parameters.
    pub param: Option<String>,
}

/// One JSON report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The report format's version, [`FORMAT_VERSION`] when written by this build; reading
    /// a report of another version is refused.
    pub format_version: u32,
    /// Which trial it is: `trial`, `scenario` and `param` at the document's top level.
    #[serde(flatten)]
    pub identity: TrialIdentity,
    /// The run it belongs to: the processes of one invocation share it (`PT_RUN_ID`,
    /// `NEXTEST_RUN_ID`), and run-level files gather the reports that carry it.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The shards whose figures this report holds (`PT_SHARD`, `swarm merge`); absent when
    /// the run was not sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardSet>,
    /// The resolved load profile (of the whole trial, for a shard).
    pub config: serde_json::Value,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// The seconds the figures cover: from the start (or the last statistics reset) to the
    /// end of the trial. Rates are per second of it.
    pub duration_s: f64,
    /// Why the trial ended.
    pub outcome: Outcome,
    /// Whether the trial passed: with thresholds, when every one held; without, when nothing
    /// failed. Never when it was interrupted, aborted or stalled, or measured nothing.
    pub passed: bool,
    /// Why the trial failed, when it did.
    pub verdict: Option<String>,
    /// Per (kind, name): HTTP methods, `transaction`, or kinds given to `User::measure`.
    pub requests: Vec<EntryReport>,
    /// All requests together (Locust's `Aggregated` row).
    pub requests_total: EntryReport,
    /// Per task (scenario or `scenario[param]`, and the `on_start`/`on_stop` hooks): the
    /// service time, from each task's actual start to its end.
    pub tasks: Vec<EntryReport>,
    /// Per task whose start was scheduled (open model, `constant_pacing`,
    /// `constant_throughput`): the latency from its *intended* start to its end, which counts
    /// the time it waited behind slow tasks (coordinated omission corrected, as wrk2 does).
    #[serde(default)]
    pub task_latency: Vec<EntryReport>,
    /// Open model: iterations that were due while every user was busy.
    #[serde(default)]
    pub dropped_iterations: u64,
    /// The most users observed running at once.
    #[serde(default)]
    pub peak_users: usize,
    /// Checks (`User::check`, `Request::check`), by name: how often each held.
    #[serde(default)]
    pub checks: Vec<super::RatioReport>,
    /// Custom metrics (counters, gauges, rates, trends), by kind and name.
    #[serde(default)]
    pub metrics: super::MetricsReport,
    /// Requests by tag (`Request::tag`): `kind` is the tag's key, `name` its value; a request
    /// with two tags counts in both.
    #[serde(default)]
    pub tags: Vec<EntryReport>,
    /// Failure groups of requests, transactions and tasks, most frequent first.
    pub failures: Vec<FailureReport>,
    /// Requests and tasks cut off before they completed: in flight when the trial stopped
    /// (after the grace period), or dropped by their own task. Not failures, never hidden.
    #[serde(default)]
    pub cancelled: Vec<FailureReport>,
    /// What makes the figures less than complete without failing the trial (names folded at
    /// `PT_MAX_NAMES`, say).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Problems of the runner itself (a panicking load shape, say); each fails the trial.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Why the trial is `stalled`: its target stopped answering (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall: Option<Stall>,
    /// Threshold verdicts (empty when the trial had none).
    #[serde(default)]
    pub thresholds: Vec<Verdict>,
    /// One point per second since the start (or the last statistics reset); the last
    /// interval may be shorter.
    pub timeline: Vec<TimelinePoint>,
    /// The file this report was read from (not part of the document): errors about its
    /// figures name it.
    #[serde(skip)]
    pub file: Option<std::path::PathBuf>,
}

/// The statistics of one request name or task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryReport {
    /// The HTTP method (`GET`, ...), `transaction`, a kind given to `User::measure`, `task`
    /// for tasks and hooks, `latency` in `task_latency`; empty for `requests_total`.
    pub kind: String,
    /// The request's name (`.name()`, or its path), the task's or transaction's name;
    /// `Aggregated` for `requests_total`.
    pub name: String,
    /// How many were recorded, failures included.
    pub count: u64,
    /// How many of them failed.
    pub failures: u64,
    /// The shortest time, in µs; 0 when `count` is 0.
    pub min_us: u64,
    /// The mean time, in µs; 0 when `count` is 0.
    pub mean_us: f64,
    /// The longest time, in µs; 0 when `count` is 0.
    pub max_us: u64,
    /// The times at each of the reported percentiles, in µs; all 0 when `count` is 0.
    pub percentiles_us: Percentiles,
    /// Recorded per second of `duration_s`.
    pub rps: f64,
    /// Failures per second of `duration_s`.
    pub failures_per_s: f64,
    /// Mean body size, in bytes, received per request (0 for tasks and transactions).
    pub avg_content_bytes: f64,
    /// The exact sum of the times, in µs: what `swarm merge` adds (means do not add exactly).
    /// Absent in reports of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_us: Option<u64>,
    /// The exact sum of the body bytes received, which `swarm merge` adds. Absent in reports
    /// of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_bytes: Option<u64>,
    /// The HDR histogram of response times (µs), V2 + deflate, base64.
    pub histogram: String,
}

/// A failure group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailureReport {
    /// The kind of what failed: an HTTP method, `transaction`, a measured kind, or `task`.
    pub kind: String,
    /// The name it is reported under, as in its [`EntryReport`].
    pub name: String,
    /// The error message, normalised: ids, UUIDs and numbers replaced by placeholders
    /// (`{uuid}`, `{hex}`, `{n}`), status codes kept.
    pub error: String,
    /// How many times this error happened.
    pub occurrences: u64,
    /// What the group's first request showed (its URL, status, the start of its body);
    /// `None` for tasks, transactions, measured operations and cut-off requests.
    pub sample: Option<crate::stats::FailureSample>,
}

/// Percentile values in µs, keyed `p50` … `p100` in a fixed order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Percentiles(pub Vec<(f64, u64)>);

impl Percentiles {
    /// The reported percentiles of `entry`.
    pub fn of(entry: &Entry) -> Self {
        Percentiles(
            PERCENTILES
                .iter()
                .map(|&q| (q, entry.percentile(q)))
                .collect(),
        )
    }

    /// The value at quantile `q` if it is one of the reported ones.
    pub fn get(&self, q: f64) -> Option<u64> {
        self.0
            .iter()
            .find(|(p, _)| (p - q).abs() < 1e-9)
            .map(|(_, value)| *value)
    }
}

/// The percentage of a quantile as reports print it: `0.999` → `99.9`.
pub fn percent_of(q: f64) -> f64 {
    (q * 10_000.0).round() / 100.0
}

/// `p50`, `p99.9`, `p100`, ...
pub(super) fn percentile_label(q: f64) -> String {
    format!("p{}", percent_of(q))
}

impl Serialize for Percentiles {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (q, value) in &self.0 {
            map.serialize_entry(&percentile_label(*q), value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Percentiles {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut values = Vec::with_capacity(map.len());
        for (label, value) in map {
            let percent: f64 = label
                .strip_prefix('p')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| serde::de::Error::custom(format!("bad percentile key {label:?}")))?;
            values.push((quantile_of_percent(percent), value));
        }
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(Percentiles(values))
    }
}

impl std::fmt::Display for FailureReport {
    /// `12x POST /api/apps: HTTP 500 Internal Server Error`: one line of a failure list.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}x {} {}: {}",
            self.occurrences, self.kind, self.name, self.error
        )
    }
}

impl EntryReport {
    /// The report row of `entry`, recorded as `kind` `name` over `elapsed_s` seconds (the
    /// rates' denominator).
    pub fn from_entry(kind: &str, name: &str, entry: &Entry, elapsed_s: f64) -> Self {
        let per_second = |n: u64| round3(n as f64 / elapsed_s.max(1e-3));
        EntryReport {
            kind: kind.to_owned(),
            name: name.to_owned(),
            count: entry.count,
            failures: entry.failures,
            min_us: entry.min(),
            mean_us: round3(entry.mean_micros()),
            max_us: entry.max_micros,
            percentiles_us: Percentiles::of(entry),
            rps: per_second(entry.count),
            failures_per_s: per_second(entry.failures),
            avg_content_bytes: if entry.count == 0 {
                0.0
            } else {
                round3(entry.content_bytes as f64 / entry.count as f64)
            },
            total_us: Some(entry.total_micros),
            content_bytes: Some(entry.content_bytes),
            histogram: histogram::encode(&entry.histogram),
        }
    }

    /// The median time, in µs; 0 when it is not among the percentiles.
    pub fn median_us(&self) -> u64 {
        self.percentiles_us.get(0.5).unwrap_or(0)
    }

    /// The share of `count` that failed, from 0 to 1; 0 when `count` is 0.
    pub fn fail_ratio(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.failures as f64 / self.count as f64
        }
    }

    /// The HDR histogram back from its encoding.
    ///
    /// # Errors
    /// When the stored text is not a valid histogram.
    pub fn decode_histogram(&self) -> Result<hdrhistogram::Histogram<u64>, histogram::DecodeError> {
        histogram::decode(&self.histogram)
    }
}

/// Everything `Report::build` needs besides the statistics.
pub struct BuildInput<'a> {
    /// Which trial it is.
    pub identity: TrialIdentity,
    /// The resolved load profile, as the report's `config`.
    pub config: serde_json::Value,
    /// When the trial started, RFC 3339, UTC.
    pub started_at: String,
    /// The seconds the statistics cover, the denominator of every rate.
    pub elapsed_s: f64,
    /// Why the trial ended.
    pub outcome: Outcome,
    /// Open model: iterations that were due while every user was busy.
    pub dropped_iterations: u64,
    /// Requests recorded under the folded name at `PT_MAX_NAMES`.
    pub folded_requests: u64,
    /// The cap on distinct request names and failure groups (`PT_MAX_NAMES`), for the
    /// warnings.
    pub max_names: usize,
    /// Problems of the runner itself; each fails the trial.
    pub errors: Vec<String>,
    /// Everything the trial recorded.
    pub totals: &'a Tally,
    /// The trial's points, one a second.
    pub timeline: Vec<TimelinePoint>,
}

fn groups(failures: &crate::stats::Failures) -> Vec<FailureReport> {
    failures
        .sorted()
        .into_iter()
        .map(|(key, group)| FailureReport {
            kind: key.kind.clone(),
            name: key.name.clone(),
            error: key.error.clone(),
            occurrences: group.occurrences,
            sample: group.sample.clone(),
        })
        .collect()
}

impl Report {
    /// The report of a trial, not yet judged: `passed` is true, `verdict`, `thresholds`,
    /// `run_id`, `shard` and `stall` are empty until the caller sets them.
    pub fn build(input: BuildInput<'_>) -> Self {
        let elapsed_s = input.elapsed_s;
        let entries = |table: &crate::stats::EntryTable| {
            table
                .iter()
                .map(|(kind, name, entry)| EntryReport::from_entry(kind, name, entry, elapsed_s))
                .collect::<Vec<_>>()
        };
        let failures = groups(&input.totals.failures);
        let cancelled = groups(&input.totals.cancelled);
        let mut warnings = Vec::new();
        if input.folded_requests > 0 {
            warnings.push(format!(
                "{} requests beyond the first {} distinct names were recorded as {:?}; give \
                 requests with ids in their URLs a .name(\"/items/{{id}}\") (or raise PT_MAX_NAMES)",
                input.folded_requests,
                input.max_names,
                crate::stats::OTHER_NAMES
            ));
        }
        let folded_errors: u64 = failures
            .iter()
            .filter(|f| f.error == crate::stats::OTHER_ERRORS)
            .map(|f| f.occurrences)
            .sum();
        if folded_errors > 0 {
            warnings.push(format!(
                "{folded_errors} failures beyond the first {} distinct failure groups were folded \
                 into {:?}",
                input.max_names,
                crate::stats::OTHER_ERRORS
            ));
        }
        let peak_users = input.timeline.iter().map(|p| p.users).max().unwrap_or(0);
        Report {
            format_version: FORMAT_VERSION,
            identity: input.identity,
            run_id: None,
            shard: None,
            config: input.config,
            started_at: input.started_at,
            duration_s: round3(elapsed_s),
            outcome: input.outcome,
            passed: true,
            verdict: None,
            requests: entries(&input.totals.requests),
            requests_total: EntryReport::from_entry(
                "",
                "Aggregated",
                &input.totals.request_total(),
                elapsed_s,
            ),
            tasks: entries(&input.totals.tasks)
                .into_iter()
                .filter(|e| e.kind != LATENCY_KIND)
                .collect(),
            task_latency: entries(&input.totals.tasks)
                .into_iter()
                .filter(|e| e.kind == LATENCY_KIND)
                .collect(),
            dropped_iterations: input.dropped_iterations,
            peak_users,
            checks: super::custom::checks(input.totals),
            metrics: super::custom::metrics(&input.totals.metrics, elapsed_s),
            tags: super::custom::tags(input.totals, elapsed_s),
            failures,
            cancelled,
            stall: None,
            warnings,
            errors: input.errors,
            thresholds: Vec::new(),
            timeline: input.timeline,
            file: None,
        }
    }

    /// Requests and tasks cut off, in a sentence; `None` when there were none.
    pub fn cancelled_summary(&self) -> Option<String> {
        let count = |task: bool| -> u64 {
            self.cancelled
                .iter()
                .filter(|c| (c.kind == "task") == task)
                .map(|c| c.occurrences)
                .fold(0, u64::saturating_add)
        };
        let (requests, tasks) = (count(false), count(true));
        (requests > 0 || tasks > 0).then(|| {
            format!(
                "{requests} requests and {tasks} tasks were cut off before they completed \
                 (not counted as failures)"
            )
        })
    }

    /// The latency users felt, when the trial has it: every task's latency from its intended
    /// start, added together (open model, pacing wait times).
    pub fn latency_total(&self) -> Option<EntryReport> {
        if self.task_latency.is_empty() {
            return None;
        }
        // Saturating: a report read from a file was checked (`check`) to keep these sums in
        // range; one built in memory never comes near.
        let mut total = Entry::default();
        for latency in &self.task_latency {
            let histogram = latency.decode_histogram().ok()?;
            let _ = total.histogram.add(&histogram);
            total.count = total.count.saturating_add(latency.count);
            total.failures = total.failures.saturating_add(latency.failures);
            let micros = (latency.mean_us * latency.count as f64) as u64;
            total.total_micros = total.total_micros.saturating_add(micros);
            total.min_micros = total.min_micros.min(latency.min_us);
            total.max_micros = total.max_micros.max(latency.max_us);
        }
        Some(EntryReport::from_entry(
            LATENCY_KIND,
            "all tasks",
            &total,
            self.duration_s,
        ))
    }

    /// Request and task failures, in a sentence; `None` when nothing failed.
    pub fn failure_summary(&self) -> Option<String> {
        let failed_requests = self.requests_total.failures;
        let failed_tasks = self
            .tasks
            .iter()
            .map(|t| t.failures)
            .fold(0, u64::saturating_add);
        let tasks = self
            .tasks
            .iter()
            .map(|t| t.count)
            .fold(0, u64::saturating_add);
        (failed_requests > 0 || failed_tasks > 0).then(|| {
            format!(
                "{failed_requests} of {} requests and {failed_tasks} of {tasks} tasks failed",
                self.requests_total.count
            )
        })
    }
}

/// Why a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It ran for its whole duration.
    Completed,
    /// It reached `PT_NUM_REQUESTS`.
    RequestLimit,
    /// It was interrupted (Ctrl-C) before its end.
    Interrupted,
    /// An `abort_on_fail` threshold was breached.
    Aborted,
    /// It was stopped from the web UI or its API (`/stop`).
    Stopped,
    /// Its target stopped answering: requests were still waiting at the end and none had
    /// completed for a while (the runner's stall rule). Fails the trial.
    Stalled,
}

/// A stalled trial, as its report shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stall {
    /// Requests still waiting for the target when the trial ended.
    pub in_flight: u64,
    /// Seconds without a completed request at the end of the trial.
    pub silent_s: f64,
    /// The window the rule used, in seconds.
    pub window_s: f64,
}

impl Stall {
    /// The verdict's line.
    pub fn message(&self) -> String {
        format!(
            "stalled: {} requests were still waiting for the target when the trial ended, and \
             none completed during its last {:.1}s, longer than the {:.1}s allowed (the target \
             stopped answering? PT_STALL_TIMEOUT sets the window, or off; PT_REQUEST_TIMEOUT \
             bounds each request)",
            self.in_flight, self.silent_s, self.window_s
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_labels() {
        let labels: Vec<_> = PERCENTILES.iter().map(|&q| percentile_label(q)).collect();
        assert_eq!(
            labels,
            [
                "p50", "p66", "p75", "p80", "p90", "p95", "p98", "p99", "p99.9", "p99.99", "p100"
            ]
        );
    }

    #[test]
    fn percentiles_round_trip_in_order() {
        let mut entry = Entry::default();
        (1..=100).for_each(|v| entry.record(v, true, 0));
        let percentiles = Percentiles::of(&entry);
        let json = serde_json::to_string(&percentiles).unwrap();
        assert!(json.starts_with("{\"p50\":50,\"p66\":66"), "{json}");
        let back: Percentiles = serde_json::from_str(&json).unwrap();
        assert_eq!(back, percentiles);
    }
}
