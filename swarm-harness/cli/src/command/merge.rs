//! `swarm merge DIR... --out DIR`: the reports of a run's shards merged exactly, with every
//! file rendered from them; exit 1 when a merged trial fails its thresholds.

use std::path::PathBuf;
use std::process::ExitCode;

use swarm_harness::__private::report::{self, Report};

#[derive(clap::Args)]
pub struct Args {
    /// Report directories of the shards (or JSON reports), in any order.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where the merged reports and every file rendered from them go (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Merge the shards that are there when some are missing, and say so in the reports.
    #[arg(long)]
    partial: bool,
}

impl Args {
    pub fn run(self) -> Result<ExitCode, String> {
        let out = self.out.as_path();
        let mut reports = Vec::new();
        for input in &self.inputs {
            reports.extend(super::load(input)?);
        }
        let merged = report::merge_run(reports, self.partial).map_err(|e| e.to_string())?;
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
}
