//! Comparing a run with a baseline: per request, task and the Aggregated row, the p50/p95/p99
//! response times, requests/s and failure ratio; the regression gate of a CI job.
//!
//! A figure is `regressed` only when it got worse beyond the tolerance (`--tolerance` and,
//! for times, `--min-delta`) **and** the two runs' confidence intervals (at `--confidence`,
//! see [`crate::interval`]) do not overlap: a p99 that moved within what its sample count
//! cannot pin down is noise, not a regression. `improved` is the mirror image; too few samples
//! for an interval (or fewer than `--min-count` requests) is `too few samples to tell`, which
//! never fails the gate.

use std::collections::BTreeMap;

use crate::interval::{self, Interval};
use swarm_harness::__private::figure;
use swarm_harness::__private::report::{EntryReport, Report};
use swarm_harness::__private::stats::histogram::DecodeError;

/// A report's histogram that does not decode, named by its file, trial and entry. Reports read
/// by `swarm_harness::__private::report::read_report` were checked already; this is for reports built or
/// edited in memory.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {trial}: {entry}: histogram {source}")]
pub struct DamagedHistogram {
    pub file: String,
    pub trial: String,
    pub entry: String,
    #[source]
    pub source: DecodeError,
}

impl DamagedHistogram {
    pub(crate) fn of(report: &Report, entry: &str, source: DecodeError) -> Self {
        DamagedHistogram {
            file: report
                .file
                .as_ref()
                .map_or_else(|| "a report".to_owned(), |f| f.display().to_string()),
            trial: report.identity.trial.clone(),
            entry: entry.to_owned(),
            source,
        }
    }
}

/// How much worse a figure may get before it counts as a regression.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerance {
    /// Relative increase allowed for response times and decrease for requests/s (0.2 = 20%).
    pub relative: f64,
    /// Response-time increases smaller than this (µs) never count: noise on fast routes.
    pub min_delta_us: u64,
    /// Absolute increase allowed for the failure ratio (0.01 = one percentage point).
    pub fail_ratio: f64,
    /// Entries with fewer requests than this on either side are not compared.
    pub min_count: u64,
    /// Which metrics to compare.
    pub metrics: Vec<Metric>,
    /// The confidence of the intervals that must separate (0.95).
    pub confidence: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            relative: 0.2,
            min_delta_us: 1_000,
            fail_ratio: 0.01,
            min_count: 20,
            metrics: Metric::ALL.to_vec(),
            confidence: 0.95,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    P50,
    P95,
    P99,
    Rps,
    FailRatio,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::Rps,
        Metric::FailRatio,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Rps => "rps",
            Metric::FailRatio => "fail_ratio",
        }
    }

    /// Parses `p50`, `p95`, `p99`, `rps` or `fail_ratio`.
    pub fn parse(text: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == text.trim())
    }

    pub(crate) fn value(self, entry: &EntryReport) -> f64 {
        match self {
            Metric::P50 => entry.percentiles_us.get(0.5).unwrap_or(0) as f64,
            Metric::P95 => entry.percentiles_us.get(0.95).unwrap_or(0) as f64,
            Metric::P99 => entry.percentiles_us.get(0.99).unwrap_or(0) as f64,
            Metric::Rps => entry.rps,
            Metric::FailRatio => entry.fail_ratio(),
        }
    }

    /// The interval of this figure of `entry` at `confidence`, if there are samples enough.
    ///
    /// # Errors
    /// When a percentile's histogram does not decode.
    pub(crate) fn interval(
        self,
        entry: &EntryReport,
        confidence: f64,
    ) -> Result<Option<Interval>, DecodeError> {
        let percentile = |q: f64| -> Result<Option<Interval>, DecodeError> {
            let histogram = entry.decode_histogram()?;
            Ok(interval::quantile(&histogram, q, confidence))
        };
        match self {
            Metric::P50 => percentile(0.5),
            Metric::P95 => percentile(0.95),
            Metric::P99 => percentile(0.99),
            Metric::Rps if entry.rps > 0.0 => Ok(interval::rate(
                entry.count,
                entry.count as f64 / entry.rps,
                confidence,
            )),
            Metric::Rps => Ok(None),
            Metric::FailRatio => Ok(interval::proportion(
                entry.failures,
                entry.count,
                confidence,
            )),
        }
    }

    /// Whether going from `before` to `after` is worse beyond the tolerance.
    pub fn worse(self, before: f64, after: f64, tolerance: &Tolerance) -> bool {
        regressed(self, before, after, tolerance)
    }

    /// The value as shown, times and rates by the harness's figure rule: `1.20ms`, `12.5/s`,
    /// `0.40%`.
    pub fn format(self, value: f64) -> String {
        match self {
            Metric::P50 | Metric::P95 | Metric::P99 => figure::time(value),
            Metric::Rps => format!("{}/s", figure::rate(value)),
            Metric::FailRatio => format!("{:.2}%", value * 100.0),
        }
    }
}

/// What a comparison concluded about one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Worse beyond the tolerance, and the intervals separate.
    Regressed,
    /// Better beyond the tolerance, and the intervals separate.
    Improved,
    Unchanged,
    /// An interval could not be had (or fewer than `min_count` requests): never a regression.
    TooFewSamples,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::TooFewSamples => "too few samples to tell",
        }
    }
}

/// One compared figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub trial: String,
    /// `GET /apps`, `task create_app`, or `Aggregated`.
    pub entry: String,
    pub metric: Metric,
    pub baseline: f64,
    pub current: f64,
    /// The confidence intervals, when there were enough samples.
    pub baseline_interval: Option<Interval>,
    pub current_interval: Option<Interval>,
    pub verdict: Verdict,
}

impl Change {
    pub fn regressed(&self) -> bool {
        self.verdict == Verdict::Regressed
    }

    /// `[1.2ms, 1.6ms]`, or `-` without an interval.
    pub fn interval_text(&self, interval: Option<Interval>) -> String {
        interval.map_or_else(
            || "-".to_owned(),
            |i| {
                format!(
                    "[{}, {}]",
                    self.metric.format(i.low),
                    self.metric.format(i.high)
                )
            },
        )
    }

    /// `+12.5%` for rates and times, `+0.40pp` for the failure ratio.
    pub fn delta_text(&self) -> String {
        if self.metric == Metric::FailRatio {
            return format!("{:+.2}pp", (self.current - self.baseline) * 100.0);
        }
        if self.baseline == 0.0 {
            return "n/a".to_owned();
        }
        format!("{:+.1}%", (self.current / self.baseline - 1.0) * 100.0)
    }

    pub fn baseline_text(&self) -> String {
        self.metric.format(self.baseline)
    }

    pub fn current_text(&self) -> String {
        self.metric.format(self.current)
    }
}

/// The result of a comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    pub changes: Vec<Change>,
    /// Trials or entries present on one side only: `(trial, entry, "baseline only" | "current only")`.
    pub unmatched: Vec<(String, String, &'static str)>,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.regressed())
    }
}

/// The verdict on one figure: the tolerance decides how much change matters, the intervals
/// whether the change is real.
fn verdict(
    metric: Metric,
    (before, after): (f64, f64),
    intervals: (Option<Interval>, Option<Interval>),
    tolerance: &Tolerance,
) -> Verdict {
    let (Some(base), Some(current)) = intervals else {
        return Verdict::TooFewSamples;
    };
    let separated = base.separated_from(&current);
    if separated && regressed(metric, before, after, tolerance) {
        Verdict::Regressed
    } else if separated && regressed(metric, after, before, tolerance) {
        // The same rule with the runs swapped: better by as much as a regression is worse.
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

fn regressed(metric: Metric, baseline: f64, current: f64, tolerance: &Tolerance) -> bool {
    match metric {
        Metric::P50 | Metric::P95 | Metric::P99 => {
            current - baseline > tolerance.min_delta_us as f64
                && current > baseline * (1.0 + tolerance.relative)
        }
        Metric::Rps => current < baseline * (1.0 - tolerance.relative),
        Metric::FailRatio => current - baseline > tolerance.fail_ratio,
    }
}

pub(crate) fn entries(report: &Report) -> BTreeMap<String, &EntryReport> {
    let mut map = BTreeMap::new();
    for entry in &report.requests {
        map.insert(format!("{} {}", entry.kind, entry.name), entry);
    }
    for entry in &report.tasks {
        map.insert(format!("task {}", entry.name), entry);
    }
    map.insert("Aggregated".to_owned(), &report.requests_total);
    map
}

/// Compares trials of the same name.
///
/// # Errors
/// When a report's histogram cannot be decoded (a damaged or hand-edited report).
pub fn compare(
    baseline: &[Report],
    current: &[Report],
    tolerance: &Tolerance,
) -> Result<Comparison, DamagedHistogram> {
    let by_trial = |reports: &[Report]| -> BTreeMap<String, usize> {
        reports
            .iter()
            .enumerate()
            .map(|(i, r)| (r.identity.trial.clone(), i))
            .collect()
    };
    let (base_index, current_index) = (by_trial(baseline), by_trial(current));
    let mut comparison = Comparison::default();
    for (trial, &b) in &base_index {
        let Some(&c) = current_index.get(trial) else {
            comparison
                .unmatched
                .push((trial.clone(), String::new(), "baseline only"));
            continue;
        };
        let (base_entries, current_entries) = (entries(&baseline[b]), entries(&current[c]));
        for (name, base_entry) in &base_entries {
            let Some(current_entry) = current_entries.get(name) else {
                comparison
                    .unmatched
                    .push((trial.clone(), name.clone(), "baseline only"));
                continue;
            };
            let enough = base_entry.count >= tolerance.min_count
                && current_entry.count >= tolerance.min_count;
            for &metric in &tolerance.metrics {
                let (before, after) = (metric.value(base_entry), metric.value(current_entry));
                let intervals = if enough {
                    let of = |report, entry: &EntryReport| {
                        metric
                            .interval(entry, tolerance.confidence)
                            .map_err(|error| DamagedHistogram::of(report, name, error))
                    };
                    (
                        of(&baseline[b], base_entry)?,
                        of(&current[c], current_entry)?,
                    )
                } else {
                    (None, None)
                };
                comparison.changes.push(Change {
                    trial: trial.clone(),
                    entry: name.clone(),
                    metric,
                    baseline: before,
                    current: after,
                    baseline_interval: intervals.0,
                    current_interval: intervals.1,
                    verdict: verdict(metric, (before, after), intervals, tolerance),
                });
            }
        }
        for name in current_entries
            .keys()
            .filter(|n| !base_entries.contains_key(*n))
        {
            comparison
                .unmatched
                .push((trial.clone(), name.clone(), "current only"));
        }
    }
    for trial in current_index
        .keys()
        .filter(|t| !base_index.contains_key(*t))
    {
        comparison
            .unmatched
            .push((trial.clone(), String::new(), "current only"));
    }
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_rules() {
        let t = Tolerance::default();
        assert!(regressed(Metric::P95, 20_000.0, 40_000.0, &t));
        assert!(
            !regressed(Metric::P95, 20_000.0, 23_000.0, &t),
            "within 20%"
        );
        assert!(
            !regressed(Metric::P50, 100.0, 900.0, &t),
            "below the absolute floor"
        );
        assert!(regressed(Metric::Rps, 100.0, 50.0, &t));
        assert!(
            !regressed(Metric::Rps, 100.0, 150.0, &t),
            "faster is no regression"
        );
        assert!(regressed(Metric::FailRatio, 0.0, 0.05, &t));
        assert!(!regressed(Metric::FailRatio, 0.02, 0.025, &t));
    }

    #[test]
    fn verdicts_need_the_tolerance_and_separated_intervals() {
        let t = Tolerance::default();
        let at = |low, high| Some(Interval { low, high });
        let p50 = |before, after, intervals| verdict(Metric::P50, (before, after), intervals, &t);
        // 20 ms -> 30 ms, intervals apart: regressed; overlapping: unchanged (noise).
        assert_eq!(
            p50(20e3, 30e3, (at(19e3, 21e3), at(29e3, 31e3))),
            Verdict::Regressed
        );
        assert_eq!(
            p50(20e3, 30e3, (at(15e3, 29e3), at(25e3, 35e3))),
            Verdict::Unchanged
        );
        // Apart but within the tolerance: unchanged.
        assert_eq!(
            p50(20e3, 22e3, (at(19.9e3, 20.1e3), at(21.9e3, 22.1e3))),
            Verdict::Unchanged
        );
        assert_eq!(
            p50(30e3, 20e3, (at(29e3, 31e3), at(19e3, 21e3))),
            Verdict::Improved
        );
        assert_eq!(
            p50(20e3, 90e3, (None, at(1.0, 2.0))),
            Verdict::TooFewSamples
        );
        // Requests/s: fewer is worse.
        let rps = |intervals| verdict(Metric::Rps, (100.0, 50.0), intervals, &t);
        assert_eq!(rps((at(95.0, 105.0), at(45.0, 55.0))), Verdict::Regressed);
    }

    #[test]
    fn metrics_parse() {
        assert_eq!(Metric::parse("p99"), Some(Metric::P99));
        assert_eq!(Metric::parse(" fail_ratio"), Some(Metric::FailRatio));
        assert_eq!(Metric::parse("p42"), None);
    }
}
