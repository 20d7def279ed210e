//! `swarm report DIR`: the CSV, HTML and JUnit files rendered again from the JSON reports.

use std::path::PathBuf;
use std::process::ExitCode;

use swarm_harness::__private::report;

#[derive(clap::Args)]
pub struct Args {
    /// A report directory (PT_REPORT_DIR of a run).
    dir: PathBuf,
}

impl Args {
    pub fn run(self) -> Result<ExitCode, String> {
        let dir = self.dir.as_path();
        if !dir.is_dir() {
            return Err(format!("{} is not a report directory", dir.display()));
        }
        let reports = super::load(dir)?;
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
        Ok(ExitCode::SUCCESS)
    }
}
