//! `swarm`: the command-line companion of the harness.
//!
//! - `swarm report DIR` re-renders the CSV, HTML and JUnit files from the JSON reports in DIR.
//! - `swarm compare BASELINE CURRENT` compares two reports (or report directories) and exits 1
//!   when a figure regressed beyond the tolerance and its confidence interval.
//! - `swarm history DIR...` follows every figure over runs and exits 1 when the newest run
//!   starts a regression change point.
//! - `swarm merge DIR... --out DIR` merges the reports of a run's shards exactly and exits 1
//!   when a merged trial fails its thresholds.
//! - `swarm locustfile` prints the locustfile a Locust master needs to drive a stress target's
//!   trials as its workers.
//! - `swarm har import FILE.har` writes a `#[stress_test]` scenario per recorded host;
//!   `swarm har replay FILE.har` runs a recording as a load test.
//!
//! Exit codes: 0 fine, 1 regression (or a failed merged trial), 2 bad input (a missing file,
//! not JSON, an unknown `format_version`, an invalid option, reports that do not merge).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use swarm_harness::compare::{Comparison, Metric, Tolerance, compare};
use swarm_harness::report::{self, Report};
use swarm_harness::{har, history};

#[derive(Parser)]
#[command(
    name = "swarm",
    version,
    about = "Renders and compares swarm-harness reports; turns HAR recordings into scenarios."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-render CSV, HTML and JUnit from the JSON reports in a directory.
    Report {
        /// A report directory (PT_REPORT_DIR of a run).
        dir: PathBuf,
    },
    /// Compare a run with a baseline; exit 1 on a regression beyond the tolerance.
    Compare {
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
    },
    /// Each entry's p50/p95/p99 and requests/s over runs, oldest first, with change points;
    /// exit 1 when the newest run starts a regression.
    History {
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
    },
    /// Merge the reports of a run's shards (PT_SHARD=i/n) into one report per trial, exactly;
    /// exit 1 when a merged trial fails its thresholds.
    Merge {
        /// Report directories of the shards (or JSON reports), in any order.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Where the merged reports and every file rendered from them go (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Merge the shards that are there when some are missing, and say so in the reports.
        #[arg(long)]
        partial: bool,
    },
    /// Print the locustfile a Locust master needs to drive a stress target as its workers
    /// (PT_LOCUST_MASTER): one user class per trial. Builds the target with cargo.
    Locustfile {
        /// The stress target: the `[[test]]` name with `harness = false`.
        #[arg(long, default_value = "stress")]
        test: String,
        /// The package that holds it (cargo's -p).
        #[arg(short, long)]
        package: Option<String>,
        /// Filters choosing the trials, as for the stress target (`-- --exact Browser`).
        #[arg(last = true)]
        filters: Vec<String>,
    },
    /// HAR recordings (mitmproxy, browser DevTools, Charles) as scenarios or as a load test.
    #[command(subcommand)]
    Har(HarCommand),
}

#[derive(Subcommand)]
enum HarCommand {
    /// Write one `#[stress_test]` scenario per recorded host, ready for a stress target.
    Import {
        /// The recording.
        file: PathBuf,
        /// Where to write `replay_<host>.rs` files.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        #[command(flatten)]
        filter: HarFilter,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Run the recording of one host as a load test (PT_* settings, reports as any trial).
    Replay {
        /// The recording.
        file: PathBuf,
        #[command(flatten)]
        filter: HarFilter,
        /// Arguments of the stress harness, after `--` (`-- --report-dir out`).
        #[arg(last = true)]
        harness: Vec<std::ffi::OsString>,
    },
}

#[derive(clap::Args)]
struct HarFilter {
    /// Keep only these hosts: api.example.com, *.example.com, 127.0.0.1:8080.
    #[arg(long = "host", value_name = "PATTERN", num_args = 1..)]
    hosts: Vec<String>,
    /// Keep images, scripts, styles, fonts and media (left out by default).
    #[arg(long)]
    include_static: bool,
    /// Pause between requests as the recording did (at most 60 s each).
    #[arg(long)]
    think_time: bool,
}

impl HarFilter {
    fn options(self) -> har::Options {
        har::Options {
            hosts: self.hosts,
            include_static: self.include_static,
            think_time: self.think_time,
        }
    }
}

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

fn parse_confidence(text: &str) -> Result<f64, String> {
    match parse_share(text) {
        Ok(value) if value > 0.0 && value < 1.0 => Ok(value),
        _ => Err(format!(
            "invalid confidence {text:?}: expected a level between 0 and 1 such as 0.95 or 99%"
        )),
    }
}

fn parse_micros(text: &str) -> Result<u64, String> {
    swarm_harness::parse_duration(text, swarm_harness::DurationUnit::Seconds)
        .map(|d| d.as_micros() as u64)
        .ok_or_else(|| format!("invalid duration {text:?}: expected such as 1ms, 500us or 0.5s"))
}

fn parse_metrics(text: &str) -> Result<Metric, String> {
    Metric::parse(text).ok_or_else(|| {
        format!("unknown metric {text:?}: expected p50, p95, p99, rps or fail_ratio")
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Report { dir } => render(&dir).map(|()| ExitCode::SUCCESS),
        Command::Compare {
            baseline,
            current,
            tolerance,
            fail_ratio_tolerance,
            min_delta,
            min_count,
            confidence,
            metrics,
        } => {
            let tolerance = Tolerance {
                relative: tolerance,
                min_delta_us: min_delta,
                fail_ratio: fail_ratio_tolerance,
                min_count,
                confidence,
                metrics: if metrics.is_empty() {
                    Metric::ALL.to_vec()
                } else {
                    metrics
                },
            };
            run_compare(&baseline, &current, &tolerance)
        }
        Command::History {
            dirs,
            html,
            tolerance,
            min_delta,
            metrics,
        } => {
            let tolerance = Tolerance {
                relative: tolerance,
                min_delta_us: min_delta,
                metrics,
                ..Tolerance::default()
            };
            run_history(&dirs, html.as_deref(), &tolerance)
        }
        Command::Merge {
            inputs,
            out,
            partial,
        } => run_merge(&inputs, &out, partial),
        Command::Locustfile {
            test,
            package,
            filters,
        } => print_locustfile(&test, package.as_deref(), &filters),
        Command::Har(HarCommand::Import {
            file,
            out,
            filter,
            force,
        }) => har_import(&file, &out, &filter.options(), force),
        Command::Har(HarCommand::Replay {
            file,
            filter,
            harness,
        }) => {
            let args = std::iter::once(std::ffi::OsString::from("swarm har replay")).chain(harness);
            return har::replay(&file, &filter.options(), args);
        }
    };
    result.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    })
}

/// Writes the scenarios of a recording; refuses to overwrite a file unless `force`.
fn har_import(
    file: &Path,
    out: &Path,
    options: &har::Options,
    force: bool,
) -> Result<ExitCode, String> {
    let imported = har::generate(file, options).map_err(|e| e.to_string())?;
    // Created when missing (as `swarm merge --out` does); a file in its place is refused.
    std::fs::create_dir_all(out).map_err(|e| format!("--out {}: {e}", out.display()))?;
    let targets: Vec<PathBuf> = imported
        .files
        .iter()
        .map(|f| out.join(&f.file_name))
        .collect();
    if !force && let Some(existing) = targets.iter().find(|path| path.exists()) {
        return Err(format!(
            "{} exists (edited since the last import?); pass --force to overwrite it",
            existing.display()
        ));
    }
    for (generated, target) in imported.files.iter().zip(&targets) {
        report::write_atomically(target, generated.source.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        println!(
            "wrote {}: {} requests to {}, {} values captured live",
            target.display(),
            generated.requests,
            generated.origin,
            generated.captures
        );
        if generated.invalid_headers > 0 {
            println!(
                "  left out {} recorded header(s) no HTTP client can send (bad name or value)",
                generated.invalid_headers
            );
        }
    }
    println!(
        "{} entries in {}; {}",
        imported.entries,
        file.display(),
        imported.skipped
    );
    println!(
        "next: `mod {};` in your stress target, then run it with PT_HOST set",
        imported.files[0].scenario
    );
    Ok(ExitCode::SUCCESS)
}

/// The reports at `path`: one file, or every report in a directory.
fn load(path: &Path) -> Result<Vec<Report>, String> {
    let reports = if path.is_dir() {
        report::read_dir_reports(path).map_err(|e| e.to_string())?
    } else {
        vec![report::read_report(path).map_err(|e| e.to_string())?]
    };
    if reports.is_empty() {
        return Err(format!("{} holds no JSON report", path.display()));
    }
    Ok(reports)
}

fn render(dir: &Path) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a report directory", dir.display()));
    }
    let reports = load(dir)?;
    for report in &reports {
        report::csv::write_csv(dir, report).map_err(|e| e.to_string())?;
        let page = dir.join(format!(
            "{}.html",
            report::file_stem(&report.identity.trial)
        ));
        report::write_atomically(&page, report::trial_page(report).as_bytes())
            .map_err(|e| e.to_string())?;
    }
    report::write_run_files(dir, &reports).map_err(|e| e.to_string())?;
    println!("rendered {} trial(s) in {}", reports.len(), dir.display());
    Ok(())
}

/// Asks the stress target for its locustfile (`--locustfile`), built by cargo.
fn print_locustfile(
    test: &str,
    package: Option<&str>,
    filters: &[String],
) -> Result<ExitCode, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args(["test", "--quiet"]);
    if let Some(package) = package {
        command.args(["-p", package]);
    }
    command
        .args(["--test", test, "--", "--locustfile"])
        .args(filters);
    command.stderr(std::process::Stdio::inherit());
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo test --test {test} -- --locustfile` failed ({}); is {test:?} a stress \
             target (harness = false, swarm_harness::main)?",
            output.status
        ));
    }
    use std::io::Write;
    std::io::stdout()
        .write_all(&output.stdout)
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Merges shard reports and writes the merged reports with all their renderings.
fn run_merge(inputs: &[PathBuf], out: &Path, partial: bool) -> Result<ExitCode, String> {
    let mut reports = Vec::new();
    for input in inputs {
        reports.extend(load(input)?);
    }
    let merged = report::merge_run(reports, partial).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out).map_err(|e| format!("--out {}: {e}", out.display()))?;
    for report in &merged {
        report::write_trial_files(out, report).map_err(|e| e.to_string())?;
        let shards = report.shard.as_ref().map_or(0, |s| s.indices.len());
        let count = report.shard.as_ref().map_or(0, |s| s.count);
        println!(
            "{}: {shards} of {count} shards, {} requests, {} failures: {}",
            report.identity.trial,
            report.requests_total.count,
            report.requests_total.failures,
            if report.passed { "passed" } else { "failed" }
        );
    }
    report::write_run_files(out, &merged).map_err(|e| e.to_string())?;
    println!("merged {} trial(s) into {}", merged.len(), out.display());
    let failed: Vec<&Report> = merged.iter().filter(|r| !r.passed).collect();
    for report in &failed {
        if let Some(verdict) = &report.verdict {
            println!("{} failed: {verdict}", report.identity.trial);
        }
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_compare(baseline: &Path, current: &Path, tolerance: &Tolerance) -> Result<ExitCode, String> {
    let comparison =
        compare(&load(baseline)?, &load(current)?, tolerance).map_err(|e| e.to_string())?;
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

/// The runs in `dirs`, oldest first: each directory a run, or a single directory of runs.
fn load_runs(dirs: &[PathBuf]) -> Result<Vec<history::Run>, String> {
    let run_dirs: Vec<PathBuf> = match dirs {
        [parent]
            if parent.is_dir() && report::read_dir_reports(parent).is_ok_and(|r| r.is_empty()) =>
        {
            let mut children: Vec<PathBuf> = std::fs::read_dir(parent)
                .map_err(|e| format!("failed to read {}: {e}", parent.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_dir())
                .collect();
            children.sort();
            children
        }
        _ => dirs.to_vec(),
    };
    let mut runs = Vec::with_capacity(run_dirs.len());
    for dir in &run_dirs {
        if !dir.is_dir() {
            return Err(format!("{} is not a report directory", dir.display()));
        }
        runs.push(history::Run {
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

fn run_history(
    dirs: &[PathBuf],
    html: Option<&Path>,
    tolerance: &Tolerance,
) -> Result<ExitCode, String> {
    let runs = load_runs(dirs)?;
    let series = history::history(&runs, tolerance).map_err(|e| e.to_string())?;
    println!("runs, oldest first:");
    for (index, run) in runs.iter().enumerate() {
        println!("  {:>3}  {}  {}", index + 1, run.started_at(), run.label);
    }
    for s in &series {
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
    if let Some(path) = html {
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
