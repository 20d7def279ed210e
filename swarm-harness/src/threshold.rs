//! Threshold evaluation: the parsed expressions of `swarm_harness_syntax::threshold` checked
//! against a trial's statistics, live (for `abort_on_fail`) and at the end.

use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use swarm_harness_syntax::threshold::{
    CustomKind, Metric, Op, Scope, Threshold, ThresholdError,
};

use crate::stats::{Entry, GaugeReading, Ratio, Tally};

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

/// What a threshold's scope selects.
enum Subject<'a> {
    /// Requests, a task, a tag's requests, or a trend (`plain` when its values are not times).
    Entry { entry: &'a Entry, plain: bool },
    /// Checks, or a rate metric.
    Ratio(Ratio),
    /// A counter's sum.
    Counter(u64),
    /// A gauge.
    GaugeReading(&'a GaugeReading),
}

fn subject_of<'a>(
    threshold: &Threshold,
    totals: &'a Tally,
    aggregated: &'a Entry,
) -> Option<Subject<'a>> {
    let entry = |entry| Subject::Entry {
        entry,
        plain: false,
    };
    Some(match &threshold.scope {
        Scope::Aggregated => entry(aggregated),
        Scope::Request { kind, name } => entry(find(&totals.requests, kind, name)?),
        Scope::Task { name } => entry(find(&totals.tasks, "task", name)?),
        Scope::Tag { key, value } => entry(find(&totals.tags, key, value)?),
        Scope::Checks { name: None } if totals.checks.is_empty() => return None,
        Scope::Checks { name: None } => Subject::Ratio(totals.checks_total()),
        Scope::Checks { name: Some(name) } => Subject::Ratio(*totals.checks.get(name)?),
        Scope::Custom { kind, name } => {
            let metrics = &totals.metrics;
            match kind {
                CustomKind::Counter => Subject::Counter(*metrics.counters.get(name)?),
                CustomKind::Gauge => Subject::GaugeReading(metrics.gauges.get(name)?),
                CustomKind::Rate => Subject::Ratio(*metrics.rates.get(name)?),
                CustomKind::Trend => {
                    let trend = metrics.trends.get(name)?;
                    Subject::Entry {
                        entry: &trend.entry,
                        plain: !trend.time,
                    }
                }
            }
        }
    })
}

fn find<'a>(table: &'a crate::stats::EntryTable, kind: &str, name: &str) -> Option<&'a Entry> {
    table
        .iter()
        .find(|(k, n, _)| *k == kind && *n == name)
        .map(|(_, _, e)| e)
}

/// The observed figure; `None` when there is nothing to judge (no samples, for a metric
/// other than a count).
fn observe(metric: Metric, subject: &Subject<'_>, elapsed: Duration) -> Option<f64> {
    let per_second = |n: u64| n as f64 / elapsed.as_secs_f64().max(1e-3);
    let counts = matches!(metric, Metric::Count | Metric::Failures);
    match subject {
        Subject::Entry { entry, .. } if entry.count == 0 && !counts => None,
        Subject::Entry { entry, .. } => Some(match metric {
            Metric::Percentile(q) => entry.percentile(q) as f64,
            Metric::Avg => entry.mean_micros(),
            Metric::Median => entry.percentile(0.5) as f64,
            Metric::Min => entry.min() as f64,
            Metric::Max => entry.max_micros as f64,
            Metric::FailRatio => entry.failures as f64 / entry.count as f64,
            Metric::Rps => per_second(entry.count),
            Metric::Count => entry.count as f64,
            Metric::Failures => entry.failures as f64,
            // The parser lets these through for checks, rates and gauges only.
            Metric::Rate | Metric::Value => return None,
        }),
        Subject::Ratio(ratio) if metric == Metric::Count => Some(ratio.total() as f64),
        Subject::Ratio(ratio) => ratio.rate(),
        Subject::Counter(sum) if metric == Metric::Rps => Some(per_second(*sum)),
        Subject::Counter(sum) => Some(*sum as f64),
        Subject::GaugeReading(gauge) => Some(match metric {
            Metric::Min => gauge.min,
            Metric::Max => gauge.max,
            _ => gauge.value,
        }),
    }
}

fn format(metric: Metric, subject: &Subject<'_>, value: f64) -> String {
    let timed = matches!(subject, Subject::Entry { plain: false, .. });
    match metric {
        _ if metric.is_time() && timed => crate::figure::time(value),
        Metric::FailRatio | Metric::Rate => format!("{:.2}%", value * 100.0),
        Metric::Rps => format!("{}/s", crate::figure::rate(value)),
        _ => format!("{}", crate::stats::round3(value)),
    }
}

/// A verdict that fails for want of evidence or of a fitting subject.
fn unjudged(threshold: &Threshold, why: impl Into<String>) -> Verdict {
    Verdict {
        expression: threshold.expression.clone(),
        observed: None,
        observed_text: why.into(),
        pass: false,
    }
}

/// Evaluates one threshold on a trial's totals.
pub fn evaluate(
    threshold: &Threshold,
    totals: &Tally,
    aggregated: &Entry,
    elapsed: Duration,
) -> Verdict {
    let Some(subject) = subject_of(threshold, totals, aggregated) else {
        return unjudged(threshold, "never ran");
    };
    // A trend of times judged by a plain number, or of values by a time, compares nothing.
    if let Subject::Entry { plain, .. } = subject
        && threshold.metric.is_time()
        && plain == threshold.timed
    {
        let why = match plain {
            true => "records plain values; give the threshold no time unit",
            false => "records times; give the threshold a time unit (ms, s)",
        };
        return unjudged(threshold, why);
    }
    match observe(threshold.metric, &subject, elapsed) {
        // A time or a rate of nothing is no evidence: only counts may hold on no samples.
        None => unjudged(threshold, "no samples"),
        Some(observed) => Verdict {
            expression: threshold.expression.clone(),
            observed: Some(observed),
            observed_text: format(threshold.metric, &subject, observed),
            pass: threshold.op.holds(observed, threshold.value),
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
    fn checks_tags_and_custom_metrics_pass_and_fail() {
        let mut totals = Tally::default();
        for pass in [true, true, true, false] {
            totals
                .checks
                .entry("status is 201", Ratio::default)
                .record(pass);
        }
        totals.checks.entry("has id", Ratio::default).record(true);
        for micros in [1_000, 2_000, 300_000] {
            totals.tags.entry("kind", "read").record(micros, true, 0);
        }
        *totals.metrics.counters.entry("orders", || 0) += 12;
        let gauge = GaugeReading::new(7.0, 1);
        totals.metrics.gauges.entry("depth", || gauge);
        let items = totals.metrics.trends.entry("items", Default::default);
        (1..=100).for_each(|v| items.entry.record(v, true, 0));
        let verdicts = Thresholds::parse(&[
            "checks > 79%",
            "checks > 81%",
            "checks{status is 201} >= 75%",
            "checks{has id} > 99%",
            "checks{absent} > 1%",
            "p50{kind:read} < 5ms",
            "p95{kind:read} < 5ms",
            "counter orders: count >= 12",
            "counter orders: rps > 13",
            "gauge depth: value < 7",
            "trend items: p95 < 96",
            "trend items: p95 < 96ms",
            "fail_ratio{kind:write} < 1%",
        ])
        .unwrap()
        .evaluate(&totals, Duration::from_secs(1));
        let passes: Vec<bool> = verdicts.iter().map(|v| v.pass).collect();
        assert_eq!(
            passes,
            [
                true, false, true, true, false, true, false, true, false, false, true, false, false
            ]
        );
        assert_eq!(verdicts[0].observed_text, "80.00%");
        assert_eq!(verdicts[4].observed_text, "never ran");
        assert_eq!(verdicts[6].observed_text, "300ms");
        assert!(verdicts[11].observed_text.contains("plain values"));
        let none = Thresholds::parse(&["checks > 1%"]).unwrap();
        assert!(!none.evaluate(&Tally::default(), Duration::from_secs(1))[0].pass);
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
