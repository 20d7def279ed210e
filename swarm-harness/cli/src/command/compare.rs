//! `swarm compare BASELINE CURRENT`: every figure of two runs side by side with its interval;
//! exit 1 when one regressed beyond the tolerance and the intervals (docs/src/gate.md).

use std::path::PathBuf;
use std::process::ExitCode;

use swarm_harness_cli::compare::{Comparison, Metric, Tolerance, compare};

use super::{load, parse_metrics, parse_micros, parse_share};

#[derive(clap::Args)]
pub struct Args {
    /// Baseline: a JSON report or a report directory.
    baseline: PathBuf,
    /// Current run: a JSON report or a report directory.
    current: PathBuf,
    /// Allowed relative increase of p50/p95/p99 and decrease of requests/s: 20% or 0.2.
    #[arg(long, default_value = "20%", value_parser = parse_share)]
    tolerance: f64,
    /// Allowed absolute increase of the failure ratio: 1% (one percentage point).
    #[arg(long, default_value = "1%", value_parser = parse_share)]
    fail_ratio_tolerance: f64,
    /// Response-time increases below this never count (noise on fast routes): 1ms, 500us.
    #[arg(long, default_value = "1ms", value_parser = parse_micros)]
    min_delta: u64,
    /// Entries with fewer requests than this on either side are `too few samples to tell`.
    #[arg(long, default_value_t = 20)]
    min_count: u64,
    /// Confidence of the intervals that must separate for a regression: 0.95, 95%, 0.99.
    #[arg(long, default_value = "0.95", value_parser = parse_confidence)]
    confidence: f64,
    /// Metrics to compare, comma-separated: p50, p95, p99, rps, fail_ratio.
    #[arg(long, value_delimiter = ',', default_value = "p50,p95,p99,rps,fail_ratio", value_parser = parse_metrics)]
    metrics: Vec<Metric>,
}

fn parse_confidence(text: &str) -> Result<f64, String> {
    match parse_share(text) {
        Ok(value) if value > 0.0 && value < 1.0 => Ok(value),
        _ => Err(format!(
            "invalid confidence {text:?}: expected a level between 0 and 1 such as 0.95 or 99%"
        )),
    }
}

impl Args {
    pub fn run(self) -> Result<ExitCode, String> {
        let tolerance = Tolerance {
            relative: self.tolerance,
            min_delta_us: self.min_delta,
            fail_ratio: self.fail_ratio_tolerance,
            min_count: self.min_count,
            confidence: self.confidence,
            metrics: if self.metrics.is_empty() {
                Metric::ALL.to_vec()
            } else {
                self.metrics
            },
        };
        let comparison = compare(&load(&self.baseline)?, &load(&self.current)?, &tolerance)
            .map_err(|e| e.to_string())?;
        print_comparison(&comparison);
        let regressions: Vec<_> = comparison.regressions().collect();
        if regressions.is_empty() {
            println!(
                "\nno regression beyond the tolerance and the {}% intervals ({} figures compared)",
                tolerance.confidence * 100.0,
                comparison.changes.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
        println!("\n{} regression(s):", regressions.len());
        for change in regressions {
            println!(
                "  {} {} {}: {} {} -> {} {} ({})",
                change.trial,
                change.entry,
                change.metric.name(),
                change.baseline_text(),
                change.interval_text(change.baseline_interval),
                change.current_text(),
                change.interval_text(change.current_interval),
                change.delta_text()
            );
        }
        Ok(ExitCode::from(1))
    }
}

fn print_comparison(comparison: &Comparison) {
    let width = comparison
        .changes
        .iter()
        .map(|c| c.trial.len() + c.entry.len() + 1)
        .max()
        .unwrap_or(20)
        .clamp(20, 70);
    println!(
        "{:<width$} {:>10} {:>10} {:>23} {:>10} {:>23} {:>9}  verdict",
        "trial / entry", "metric", "baseline", "interval", "current", "interval", "change"
    );
    for change in &comparison.changes {
        println!(
            "{:<width$} {:>10} {:>10} {:>23} {:>10} {:>23} {:>9}  {}",
            format!("{} {}", change.trial, change.entry),
            change.metric.name(),
            change.baseline_text(),
            change.interval_text(change.baseline_interval),
            change.current_text(),
            change.interval_text(change.current_interval),
            change.delta_text(),
            change.verdict.text()
        );
    }
    for (trial, entry, side) in &comparison.unmatched {
        println!("{:<width$} {side}", format!("{trial} {entry}"));
    }
}
