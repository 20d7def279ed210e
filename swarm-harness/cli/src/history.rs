//! Change points across runs (`swarm history`): each entry's p50/p95/p99 and requests/s over a
//! series of runs, oldest first, and the runs where the level moved for good.
//!
//! The method is binary segmentation (Vostrikova's), with a robust test:
//! 1. In a segment of `n` runs, the candidate split is the one with the largest CUSUM
//!    statistic `sqrt(k (n - k) / n) |mean(left) - mean(right)|` (`k` runs on the left).
//! 2. It is a change point when the shift of the two parts' **medians** is at least
//!    [`MIN_SCORE`] (4) times the segment's noise **and** exceeds the tolerance of
//!    `swarm compare` (`--tolerance`, and `--min-delta` for times), so a change is both clear
//!    of the noise and big enough to matter. The noise is 1.4826 times the median absolute
//!    deviation of each run from its own part's median (a standard deviation for normal
//!    noise), floored at 1% of the level so identical runs do not make any shift infinitely
//!    significant.
//! 3. Both parts are searched again, until no split qualifies.
//!
//! A single slow run in the middle moves neither median and is not a change; a slow newest run
//! is (the level moved there, as far as anyone can tell yet). Otava's E-divisive means is the
//! heavier cousin: it tests with permutations, and it finds changes in the distribution's
//! shape as well, which the per-metric medians here do not need.

use std::collections::BTreeMap;

use crate::compare::{DamagedHistogram, Metric, Tolerance};
use crate::interval::Interval;
use swarm_harness::__private::report::{self, Report};

/// The least shift-to-noise score of a change point.
pub const MIN_SCORE: f64 = 4.0;

/// One run: its label (the directory's name) and its reports.
#[derive(Debug, Clone)]
pub struct Run {
    pub label: String,
    pub reports: Vec<Report>,
}

impl Run {
    /// When the run started: its earliest trial's `started_at` (RFC 3339, so text order is
    /// time order).
    pub fn started_at(&self) -> &str {
        self.reports
            .iter()
            .map(|report| report.started_at.as_str())
            .min()
            .unwrap_or("")
    }
}

/// Where the level moved: from the run at index `run` on.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePoint {
    /// Index into the runs, oldest first.
    pub run: usize,
    /// The medians before and after, in the metric's unit.
    pub before: f64,
    pub after: f64,
    /// Whether it moved the worse way (times up, requests/s down).
    pub regression: bool,
}

/// One metric of one entry over the runs.
#[derive(Debug, Clone)]
pub struct Series {
    pub trial: String,
    /// `GET /apps`, `task create_app`, or `Aggregated`.
    pub entry: String,
    pub metric: Metric,
    /// Per run, oldest first; `None` where the entry is absent or has fewer requests than
    /// `--min-count` (too few to follow).
    pub values: Vec<Option<f64>>,
    /// Per run, the value's confidence interval (as in `swarm compare`), when there is one.
    pub intervals: Vec<Option<Interval>>,
    pub change_points: Vec<ChangePoint>,
}

/// Every series of the runs, with their change points.
///
/// # Errors
/// When a histogram does not decode: a figure is never left out silently (reports read by
/// `swarm_harness::__private::report::read_report` were checked already).
pub fn history(runs: &[Run], tolerance: &Tolerance) -> Result<Vec<Series>, DamagedHistogram> {
    type PerRun = (Vec<Option<f64>>, Vec<Option<Interval>>);
    let mut collected: BTreeMap<(String, String, usize), PerRun> = BTreeMap::new();
    for (index, run) in runs.iter().enumerate() {
        for report in &run.reports {
            for (entry, values) in crate::compare::entries(report) {
                if values.count < tolerance.min_count {
                    continue;
                }
                for (slot, &metric) in tolerance.metrics.iter().enumerate() {
                    if metric == Metric::FailRatio {
                        continue;
                    }
                    let series = collected
                        .entry((report.identity.trial.clone(), entry.clone(), slot))
                        .or_insert_with(|| (vec![None; runs.len()], vec![None; runs.len()]));
                    series.0[index] = Some(metric.value(values));
                    series.1[index] = metric
                        .interval(values, tolerance.confidence)
                        .map_err(|error| DamagedHistogram::of(report, &entry, error))?;
                }
            }
        }
    }
    Ok(collected
        .into_iter()
        .map(|((trial, entry, slot), (values, intervals))| {
            let metric = tolerance.metrics[slot];
            let change_points = changes_of(&values, metric, tolerance);
            Series {
                trial,
                entry,
                metric,
                values,
                intervals,
                change_points,
            }
        })
        .collect())
}

/// The newest run's regressions: series with a change point at the newest run that moved the
/// worse way, and whose newest interval is apart from the previous run's (one run is all the
/// evidence there is yet, so it must be clear of that run's sampling noise too; a figure
/// without an interval, such as the p99 of a few hundred samples, never fails the gate).
pub fn newest_regressions<'s>(
    runs: &[Run],
    series: &'s [Series],
) -> Vec<(&'s Series, &'s ChangePoint)> {
    let Some(newest) = runs.len().checked_sub(1) else {
        return Vec::new();
    };
    series
        .iter()
        .filter_map(|s| {
            let previous = s.intervals[..newest].iter().rev().flatten().next()?;
            let latest = s.intervals[newest].as_ref()?;
            s.change_points
                .iter()
                .find(|change| change.run == newest && change.regression)
                .filter(|_| latest.separated_from(previous))
                .map(|change| (s, change))
        })
        .collect()
}

/// A self-contained page: per trial, the Aggregated p50/p95/p99 (ms) and requests/s over the
/// runs, and every change point.
pub fn page(runs: &[Run], series: &[Series]) -> String {
    use maud::{PreEscaped, html};
    let labels: Vec<String> = (1..=runs.len()).map(|n| n.to_string()).collect();
    let mut trials: BTreeMap<&str, BTreeMap<&'static str, &Vec<Option<f64>>>> = BTreeMap::new();
    for s in series.iter().filter(|s| s.entry == "Aggregated") {
        trials
            .entry(s.trial.as_str())
            .or_default()
            .insert(s.metric.name(), &s.values);
    }
    let charts: Vec<serde_json::Value> = trials
        .iter()
        .map(|(trial, metrics)| {
            let ms = |name: &str| -> Vec<Option<f64>> {
                metrics
                    .get(name)
                    .map(|values| values.iter().map(|v| v.map(|us| us / 1e3)).collect())
                    .unwrap_or_default()
            };
            serde_json::json!({
                "trial": trial,
                "p50": ms("p50"), "p95": ms("p95"), "p99": ms("p99"),
                "rps": metrics.get("rps").map(|v| v.to_vec()).unwrap_or_default(),
            })
        })
        .collect();
    let data =
        report::html::script_json(&serde_json::json!({ "labels": labels, "charts": charts }));
    let changes: Vec<(&Series, &ChangePoint)> = series
        .iter()
        .flat_map(|s| s.change_points.iter().map(move |change| (s, change)))
        .collect();
    let body = html! {
        header {
            h1 { "History" }
            div.sub { (runs.len()) " runs, oldest first · change points by binary segmentation, tested on medians (see swarm-harness/src/history.rs)" }
        }
        main {
            section {
                h2 { "Runs" }
                table {
                    tr { th { "#" } th.l { "Run" } th.l { "Started" } th { "Trials" } }
                    @for (index, run) in runs.iter().enumerate() {
                        tr { td { (index + 1) } td.l { (run.label) } td.l { (run.started_at()) } td { (run.reports.len()) } }
                    }
                }
            }
            section {
                h2 { "Change points" }
                @if changes.is_empty() { p { "None: every series held its level." } }
                @else {
                    table {
                        tr { th.l { "Trial / entry" } th { "Metric" } th { "From run" } th { "Before" } th { "After" } th.l { "Kind" } }
                        @for (s, change) in &changes {
                            tr {
                                td.l { (s.trial) " " (s.entry) } td { (s.metric.name()) } td { (change.run + 1) }
                                td { (s.metric.format(change.before)) } td { (s.metric.format(change.after)) }
                                td.l { @if change.regression { "regression" } @else { "improvement" } }
                            }
                        }
                    }
                }
            }
            @for (index, (trial, _)) in trials.iter().enumerate() {
                section {
                    h2 { (trial) " · Aggregated" }
                    div.chart id=(format!("latency-{index}")) {}
                    (report::html::legend(&["p50", "p95", "p99"]))
                    p.sub { "response times (ms) per run" }
                    div.chart id=(format!("rps-{index}")) {}
                    p.sub { "requests/s per run" }
                }
            }
            script id="history-data" type="application/json" { (PreEscaped(data)) }
        }
    };
    report::html::document(
        "History · swarm-harness",
        ".chart { height: 220px; }",
        body,
        Some(PreEscaped(HISTORY_SCRIPT.to_owned())),
    )
}

const HISTORY_SCRIPT: &str = r#"
(function () {
  var d = JSON.parse(document.getElementById('history-data').textContent);
  var line = { fullWidth: true, chartPadding: { right: 20 } };
  d.charts.forEach(function (c, i) {
    new Chartist.LineChart('#latency-' + i, { labels: d.labels, series: [c.p50, c.p95, c.p99] }, line);
    new Chartist.LineChart('#rps-' + i, { labels: d.labels, series: [c.rps] }, line);
  });
})();
"#;

/// The change points of a series with gaps: found among the runs that have a value, and
/// reported at their run indices.
fn changes_of(values: &[Option<f64>], metric: Metric, tolerance: &Tolerance) -> Vec<ChangePoint> {
    let present: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| value.map(|value| (index, value)))
        .collect();
    let series: Vec<f64> = present.iter().map(|(_, value)| *value).collect();
    let mut found = Vec::new();
    segment(&series, 0, series.len(), metric, tolerance, &mut found);
    found.sort_by_key(|change| change.run);
    for change in &mut found {
        change.run = present[change.run].0;
    }
    found
}

fn segment(
    x: &[f64],
    start: usize,
    end: usize,
    metric: Metric,
    tolerance: &Tolerance,
    found: &mut Vec<ChangePoint>,
) {
    if end - start < 2 {
        return;
    }
    // Where: the split with the largest weighted shift of the means (binary segmentation's
    // CUSUM statistic, sqrt(k (n - k) / n) |mean(left) - mean(right)|), which favours the
    // split that separates the two levels cleanly over one that leaves a run on the wrong side.
    let n = (end - start) as f64;
    let mut best: Option<(f64, usize)> = None;
    for split in start + 1..end {
        let k = (split - start) as f64;
        let shift = (mean(&x[start..split]) - mean(&x[split..end])).abs();
        let weighted = (k * (n - k) / n).sqrt() * shift;
        if weighted.is_finite() && best.is_none_or(|(best_weighted, _)| weighted > best_weighted) {
            best = Some((weighted, split));
        }
    }
    let Some((_, split)) = best else {
        return;
    };
    // Whether: the medians' shift against the robust noise, and the tolerance.
    let (before, after) = (median(&x[start..split]), median(&x[split..end]));
    let deviations: Vec<f64> = x[start..split]
        .iter()
        .map(|v| (v - before).abs())
        .chain(x[split..end].iter().map(|v| (v - after).abs()))
        .collect();
    let level = before.abs().max(after.abs());
    let noise = (1.4826 * median(&deviations)).max(0.01 * level);
    if noise <= 0.0 || !noise.is_finite() {
        return;
    }
    let score = (after - before).abs() / noise;
    let worse = metric.worse(before, after, tolerance);
    let better = metric.worse(after, before, tolerance);
    if score < MIN_SCORE || !(worse || better) {
        return;
    }
    found.push(ChangePoint {
        run: split,
        before,
        after,
        regression: worse,
    });
    segment(x, start, split, metric, tolerance, found);
    segment(x, split, end, metric, tolerance, found);
}

/// The mean of finite values.
fn mean(values: &[f64]) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return 0.0;
    }
    finite.iter().sum::<f64>() / finite.len() as f64
}

/// The median of finite values (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn changes(values: &[f64], metric: Metric) -> Vec<usize> {
        let values: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
        changes_of(&values, metric, &Tolerance::default())
            .iter()
            .map(|change| change.run)
            .collect()
    }

    /// Twelve runs whose p50 is 20 ms with ±3 % noise (normal-ish: the sum of three
    /// uniforms), 25 % slower from run 8 on (index 7): run 8 and only run 8, for every seed.
    #[test]
    fn a_lasting_slowdown_is_one_change_point_whatever_the_noise() {
        for seed in 0..50u64 {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
            let values: Vec<f64> = (0..12)
                .map(|run| {
                    let noise: f64 = (0..3).map(|_| rng.random_range(-0.03..0.03)).sum();
                    let level = if run >= 7 { 25_000.0 } else { 20_000.0 };
                    level * (1.0 + noise)
                })
                .collect();
            assert_eq!(
                changes(&values, Metric::P50),
                [7],
                "seed {seed}: {values:?}"
            );
        }
    }

    #[test]
    fn noise_alone_and_a_single_outlier_are_no_change() {
        for seed in 0..50u64 {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
            let mut values: Vec<f64> = (0..12)
                .map(|_| 20_000.0 * (1.0 + rng.random_range(-0.05..0.05)))
                .collect();
            assert_eq!(
                changes(&values, Metric::P50),
                [] as [usize; 0],
                "seed {seed}"
            );
            values[5] *= 1.6;
            assert_eq!(
                changes(&values, Metric::P50),
                [] as [usize; 0],
                "seed {seed}"
            );
        }
    }

    #[test]
    fn direction_gaps_and_a_slow_newest_run() {
        // Requests/s falling is the regression; rising is an improvement.
        let falling = [100.0, 101.0, 99.0, 100.0, 70.0, 71.0, 69.0];
        let values: Vec<Option<f64>> = falling.iter().copied().map(Some).collect();
        let found = changes_of(&values, Metric::Rps, &Tolerance::default());
        assert_eq!(found.len(), 1);
        assert!(found[0].regression && found[0].run == 4, "{found:?}");
        let rising: Vec<Option<f64>> = falling.iter().rev().copied().map(Some).collect();
        let found = changes_of(&rising, Metric::Rps, &Tolerance::default());
        assert!(!found[0].regression, "{found:?}");
        // A run without the entry keeps the indices of the others.
        let gappy = [
            Some(20e3),
            None,
            Some(20.2e3),
            Some(19.9e3),
            Some(30e3),
            Some(30.1e3),
        ];
        let found = changes_of(&gappy, Metric::P50, &Tolerance::default());
        assert_eq!(found.iter().map(|c| c.run).collect::<Vec<_>>(), [4]);
        // The newest run alone moved: a change point at the newest run.
        assert_eq!(
            changes(&[20e3, 20.1e3, 19.9e3, 20e3, 20.2e3, 27e3], Metric::P50),
            [5]
        );
        // Within the tolerance (10 % up), however clean: no change.
        assert_eq!(
            changes(&[20e3, 20e3, 20e3, 22e3, 22e3, 22e3], Metric::P50),
            [] as [usize; 0]
        );
    }
}
