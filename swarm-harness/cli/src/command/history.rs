//! `swarm history DIR...`: each entry's figures over runs, oldest first, with their change
//! points; exit 1 when the newest run starts a regression (docs/src/gate.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use swarm_harness::__private::report;
use swarm_harness_cli::compare::{Metric, Tolerance};
use swarm_harness_cli::history::{self, Run, Series};

use super::{load, parse_metrics, parse_micros, parse_share};

#[derive(clap::Args)]
pub struct Args {
    /// Run directories (PT_REPORT_DIR of each run), or one directory holding them.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Also write a page with the trend charts here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// The least relative change that counts: 20% or 0.2.
    #[arg(long, default_value = "20%", value_parser = parse_share)]
    tolerance: f64,
    /// Response-time changes below this never count: 1ms, 500us.
    #[arg(long, default_value = "1ms", value_parser = parse_micros)]
    min_delta: u64,
    /// Metrics to follow, comma-separated: p50, p95, p99, rps.
    #[arg(long, value_delimiter = ',', default_value = "p50,p95,p99,rps", value_parser = parse_metrics)]
    metrics: Vec<Metric>,
}

impl Args {
    pub fn run(self) -> Result<ExitCode, String> {
        let tolerance = Tolerance {
            relative: self.tolerance,
            min_delta_us: self.min_delta,
            metrics: self.metrics,
            ..Tolerance::default()
        };
        let runs = load_runs(&self.dirs)?;
        let series = history::history(&runs, &tolerance).map_err(|e| e.to_string())?;
        print_series(&runs, &series);
        if let Some(path) = &self.html {
            report::write_atomically(path, history::page(&runs, &series).as_bytes())
                .map_err(|e| e.to_string())?;
            println!("history page: {}", path.display());
        }
        let newest = history::newest_regressions(&runs, &series);
        if newest.is_empty() {
            println!("\nthe newest run starts no regression");
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "\nthe newest run ({}) starts {} regression(s):",
            runs[runs.len() - 1].label,
            newest.len()
        );
        for (s, change) in newest {
            println!(
                "  {} {} {}: {} -> {}",
                s.trial,
                s.entry,
                s.metric.name(),
                s.metric.format(change.before),
                s.metric.format(change.after)
            );
        }
        Ok(ExitCode::from(1))
    }
}

/// The runs, then each series with its change points.
fn print_series(runs: &[Run], series: &[Series]) {
    println!("runs, oldest first:");
    for (index, run) in runs.iter().enumerate() {
        println!("  {:>3}  {}  {}", index + 1, run.started_at(), run.label);
    }
    for s in series {
        let values: Vec<String> = s
            .values
            .iter()
            .map(|v| v.map_or_else(|| "-".to_owned(), |v| s.metric.format(v)))
            .collect();
        println!(
            "{} {} {}: {}",
            s.trial,
            s.entry,
            s.metric.name(),
            values.join(" ")
        );
        for change in &s.change_points {
            println!(
                "  change point at run {}: {} -> {} ({})",
                change.run + 1,
                s.metric.format(change.before),
                s.metric.format(change.after),
                if change.regression {
                    "regression"
                } else {
                    "improvement"
                }
            );
        }
    }
}

/// The runs in `dirs`, oldest first: each directory a run, or a single directory of runs.
fn load_runs(dirs: &[PathBuf]) -> Result<Vec<Run>, String> {
    let run_dirs: Vec<PathBuf> = match dirs {
        [parent]
            if parent.is_dir() && report::read_dir_reports(parent).is_ok_and(|r| r.is_empty()) =>
        {
            runs_in(parent)?
        }
        _ => dirs.to_vec(),
    };
    let mut runs = Vec::with_capacity(run_dirs.len());
    for dir in &run_dirs {
        if !dir.is_dir() {
            return Err(format!("{} is not a report directory", dir.display()));
        }
        runs.push(Run {
            label: dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            reports: load(dir)?,
        });
    }
    if runs.len() < 2 {
        return Err(format!(
            "history needs at least 2 runs, found {} in {}",
            runs.len(),
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    runs.sort_by(|a, b| a.started_at().cmp(b.started_at()));
    Ok(runs)
}

/// The run directories in `parent` (a history directory), by name.
fn runs_in(parent: &Path) -> Result<Vec<PathBuf>, String> {
    let mut children: Vec<PathBuf> = std::fs::read_dir(parent)
        .map_err(|e| format!("failed to read {}: {e}", parent.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    children.sort();
    Ok(children)
}
