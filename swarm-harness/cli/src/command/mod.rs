//! The subcommands of `swarm`, one module each (its arguments and its run), and what several
//! of them share: reading reports and parsing shares, durations and metrics. A run returns the
//! exit code, or the message of a bad input (exit 2).

pub mod compare;
pub mod har;
pub mod history;
pub mod locustfile;
pub mod merge;
pub mod report;

use std::path::Path;

use swarm_harness::__private::report::{Report, read_dir_reports, read_report};
use swarm_harness_cli::compare::Metric;

/// The reports at `path`: one file, or every report in a directory.
fn load(path: &Path) -> Result<Vec<Report>, String> {
    let reports = if path.is_dir() {
        read_dir_reports(path).map_err(|e| e.to_string())?
    } else {
        vec![read_report(path).map_err(|e| e.to_string())?]
    };
    if reports.is_empty() {
        return Err(format!("{} holds no JSON report", path.display()));
    }
    Ok(reports)
}

/// `--tolerance`, `--fail-ratio-tolerance`: a percentage (`20%`) or a fraction (`0.2`).
fn parse_share(text: &str) -> Result<f64, String> {
    let expected = || {
        format!(
            "invalid share {text:?}: expected a percentage such as 20% or a fraction such as 0.2"
        )
    };
    let value = match text.trim().strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map_err(|_| expected())? / 100.0,
        None => text.trim().parse::<f64>().map_err(|_| expected())?,
    };
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(expected())
    }
}

/// `--min-delta`: a duration in microseconds (`1ms`, `500us`, `0.5s`).
fn parse_micros(text: &str) -> Result<u64, String> {
    swarm_harness::__private::parse_duration(text, swarm_harness::__private::DurationUnit::Seconds)
        .map(|d| d.as_micros() as u64)
        .ok_or_else(|| format!("invalid duration {text:?}: expected such as 1ms, 500us or 0.5s"))
}

/// One of `--metrics`.
fn parse_metrics(text: &str) -> Result<Metric, String> {
    Metric::parse(text).ok_or_else(|| {
        format!("unknown metric {text:?}: expected p50, p95, p99, rps or fail_ratio")
    })
}
