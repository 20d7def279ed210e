//! Comparing a run with a baseline: per request, task and the Aggregated row, the p50/p95/p99
//! response times, requests/s and failure ratio, with tolerances; the regression gate of a CI job.

use std::collections::BTreeMap;

use crate::report::{EntryReport, Report, format_micros};

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
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            relative: 0.2,
            min_delta_us: 1_000,
            fail_ratio: 0.01,
            min_count: 20,
            metrics: Metric::ALL.to_vec(),
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

    fn value(self, entry: &EntryReport) -> f64 {
        match self {
            Metric::P50 => entry.percentiles_us.get(0.5).unwrap_or(0) as f64,
            Metric::P95 => entry.percentiles_us.get(0.95).unwrap_or(0) as f64,
            Metric::P99 => entry.percentiles_us.get(0.99).unwrap_or(0) as f64,
            Metric::Rps => entry.rps,
            Metric::FailRatio => entry.fail_ratio(),
        }
    }

    fn format(self, value: f64) -> String {
        match self {
            Metric::P50 | Metric::P95 | Metric::P99 => format_micros(value.round() as u64),
            Metric::Rps => format!("{value:.1}/s"),
            Metric::FailRatio => format!("{:.2}%", value * 100.0),
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
    pub regressed: bool,
}

impl Change {
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
        self.changes.iter().filter(|c| c.regressed)
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

fn entries(report: &Report) -> BTreeMap<String, &EntryReport> {
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
pub fn compare(baseline: &[Report], current: &[Report], tolerance: &Tolerance) -> Comparison {
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
            if base_entry.count < tolerance.min_count || current_entry.count < tolerance.min_count {
                continue;
            }
            for &metric in &tolerance.metrics {
                let (before, after) = (metric.value(base_entry), metric.value(current_entry));
                comparison.changes.push(Change {
                    trial: trial.clone(),
                    entry: name.clone(),
                    metric,
                    baseline: before,
                    current: after,
                    regressed: regressed(metric, before, after, tolerance),
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
    comparison
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
    fn metrics_parse() {
        assert_eq!(Metric::parse("p99"), Some(Metric::P99));
        assert_eq!(Metric::parse(" fail_ratio"), Some(Metric::FailRatio));
        assert_eq!(Metric::parse("p42"), None);
    }
}
