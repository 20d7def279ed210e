//! Threshold evaluation: the parsed expressions of `swarm_harness_syntax::threshold` checked
//! against a trial's statistics, live (for `abort_on_fail`) and at the end.

use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use swarm_harness_syntax::threshold::{Metric, Op, Scope, Threshold, ThresholdError};

use crate::stats::{Entry, Tally};

/// The outcome of one threshold, as the report stores it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    /// The threshold as written (`p95 < 200ms`, `GET /api: fail_ratio < 1%`).
    pub expression: String,
    /// The observed figure in the metric's unit (µs for times, 0 to 1 for `fail_ratio`,
    /// per second for `rps`); `None` when the scoped entry never ran, or had no samples
    /// for a metric other than a count.
    pub observed: Option<f64>,
    /// The observed figure for people: `212.4ms`, `3.10%`.
    pub observed_text: String,
    /// Whether the threshold held; never without an observed figure.
    pub pass: bool,
}

fn observe(metric: Metric, entry: &Entry, elapsed: Duration) -> f64 {
    let per_second = |n: u64| n as f64 / elapsed.as_secs_f64().max(1e-3);
    match metric {
        Metric::Percentile(q) => entry.percentile(q) as f64,
        Metric::Avg => entry.mean_micros(),
        Metric::Median => entry.percentile(0.5) as f64,
        Metric::Min => entry.min() as f64,
        Metric::Max => entry.max_micros as f64,
        Metric::FailRatio if entry.count == 0 => 0.0,
        Metric::FailRatio => entry.failures as f64 / entry.count as f64,
        Metric::Rps => per_second(entry.count),
        Metric::Count => entry.count as f64,
        Metric::Failures => entry.failures as f64,
    }
}

fn format(metric: Metric, value: f64) -> String {
    match metric {
        _ if metric.is_time() => crate::stats::format_micros(value.round() as u64),
        Metric::FailRatio => format!("{:.2}%", value * 100.0),
        Metric::Rps => format!("{value:.2}/s"),
        _ => format!("{value}"),
    }
}

fn entry_of<'a>(
    threshold: &Threshold,
    totals: &'a Tally,
    aggregated: &'a Entry,
) -> Option<&'a Entry> {
    match &threshold.scope {
        Scope::Aggregated => Some(aggregated),
        Scope::Request { kind, name } => totals
            .requests
            .iter()
            .find(|(k, n, _)| k == kind && n == name)
            .map(|(_, _, e)| e),
        Scope::Task { name } => totals
            .tasks
            .iter()
            .find(|(k, n, _)| *k == "task" && n == name)
            .map(|(_, _, e)| e),
    }
}

/// Evaluates one threshold on a trial's totals.
pub fn evaluate(
    threshold: &Threshold,
    totals: &Tally,
    aggregated: &Entry,
    elapsed: Duration,
) -> Verdict {
    match entry_of(threshold, totals, aggregated) {
        // A time or a rate of nothing is no evidence: only counts may hold on no samples.
        Some(entry)
            if entry.count == 0
                && !matches!(threshold.metric, Metric::Count | Metric::Failures) =>
        {
            Verdict {
                expression: threshold.expression.clone(),
                observed: None,
                observed_text: "no samples".to_owned(),
                pass: false,
            }
        }
        Some(entry) => {
            let observed = observe(threshold.metric, entry, elapsed);
            Verdict {
                expression: threshold.expression.clone(),
                observed: Some(observed),
                observed_text: format(threshold.metric, observed),
                pass: threshold.op.holds(observed, threshold.value),
            }
        }
        None => Verdict {
            expression: threshold.expression.clone(),
            observed: None,
            observed_text: "never ran".to_owned(),
            pass: false,
        },
    }
}

/// How long a trial runs before a breach of a threshold that could still recover
/// (a percentile, a ratio, a rate) aborts it; like k6's `delayAbortEval`.
pub const ABORT_WARM_UP: Duration = Duration::from_secs(5);

/// The thresholds of one trial.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds(pub Vec<Threshold>);

impl Thresholds {
    /// Parses each expression; the first invalid one is the error.
    ///
    /// # Errors
    /// When an expression is invalid.
    pub fn parse<S: AsRef<str>>(expressions: &[S]) -> Result<Self, ThresholdError> {
        expressions
            .iter()
            .map(|e| Threshold::parse(e.as_ref()))
            .collect::<Result<_, _>>()
            .map(Thresholds)
    }

    /// Parses `PT_THRESHOLDS`: expressions separated by `;` or new lines.
    ///
    /// # Errors
    /// When an expression is invalid.
    pub fn parse_list(text: &str) -> Result<Self, ThresholdError> {
        let parts: Vec<&str> = text
            .split([';', '\n'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        Self::parse(&parts)
    }

    /// Whether the trial has no threshold.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every threshold's verdict on `totals`, gathered over `elapsed` (the rates'
    /// denominator), in the order they were given.
    pub fn evaluate(&self, totals: &Tally, elapsed: Duration) -> Vec<Verdict> {
        let aggregated = totals.request_total();
        self.0
            .iter()
            .map(|t| evaluate(t, totals, &aggregated, elapsed))
            .collect()
    }

    /// The first `abort_on_fail` threshold breached in a way that should end the trial now.
    pub fn abort_reason(&self, totals: &Tally, elapsed: Duration) -> Option<Verdict> {
        let candidates: Vec<&Threshold> = self
            .0
            .iter()
            .filter(|t| t.abort_on_fail && (t.breach_is_final() || elapsed >= ABORT_WARM_UP))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let aggregated = totals.request_total();
        candidates
            .into_iter()
            .map(|t| evaluate(t, totals, &aggregated, elapsed))
            .find(|v| !v.pass && v.observed.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_semicolons_and_lines() {
        assert!(Thresholds::parse_list("p95 < 1s; avg < 2x").is_err());
        assert_eq!(
            Thresholds::parse_list("p95 < 1s;\navg < 2ms")
                .unwrap()
                .0
                .len(),
            2
        );
    }

    #[test]
    fn evaluates_against_totals() {
        let mut totals = Tally::default();
        for micros in [10_000, 20_000, 30_000, 40_000] {
            totals
                .requests
                .entry("GET", "/a")
                .record(micros, micros != 40_000, 0);
        }
        totals.tasks.entry("task", "t").record(5, true, 0);
        let second = Duration::from_secs(1);
        let verdicts = Thresholds::parse(&[
            "max < 35ms",
            "fail_ratio < 30%",
            "GET /a: count >= 4",
            "task t: avg < 1ms",
            "GET /b: count > 0",
            "rps > 3",
        ])
        .unwrap()
        .evaluate(&totals, second);
        let passes: Vec<bool> = verdicts.iter().map(|v| v.pass).collect();
        assert_eq!(passes, [false, true, true, true, false, true]);
        assert_eq!(verdicts[0].observed_text, "40.0ms");
        assert_eq!(verdicts[1].observed_text, "25.00%");
        assert_eq!(verdicts[4].observed_text, "never ran");
        let nothing = Thresholds::parse(&["p95 < 1s", "fail_ratio < 1%", "failures < 1"])
            .unwrap()
            .evaluate(&Tally::default(), second);
        let passes: Vec<bool> = nothing.iter().map(|v| v.pass).collect();
        assert_eq!(passes, [false, false, true], "no samples prove no time");
        assert_eq!(nothing[0].observed_text, "no samples");
    }

    #[test]
    fn only_final_breaches_abort_early() {
        let mut totals = Tally::default();
        totals.requests.entry("GET", "/a").record(50_000, false, 0);
        let early = Duration::from_secs(1);
        let abort = Thresholds::parse(&["max < 10ms abort_on_fail"]).unwrap();
        assert!(abort.abort_reason(&totals, early).is_some());
        let recoverable = Thresholds::parse(&["p95 < 10ms abort_on_fail", "failures < 1"]).unwrap();
        assert!(recoverable.abort_reason(&totals, early).is_none());
        assert!(recoverable.abort_reason(&totals, ABORT_WARM_UP).is_some());
    }
}
