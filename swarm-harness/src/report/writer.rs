//! The report writer: a sink that writes each trial's files as the trial ends, and the run's
//! index page and JUnit file when the run finishes.

use std::path::PathBuf;

use super::{Report, write_run_files, write_trial_files};
use crate::events::{RunEvent, Sink};

pub struct ReportWriter {
    dir: PathBuf,
    /// The reports of this run's trials, for the index page and JUnit file.
    reports: Vec<Report>,
}

impl ReportWriter {
    pub fn new(dir: PathBuf) -> Self {
        ReportWriter {
            dir,
            reports: Vec::new(),
        }
    }
}

impl Sink for ReportWriter {
    fn on_event(&mut self, event: &RunEvent) -> Result<(), String> {
        match event {
            RunEvent::TrialEnded { report, .. } => {
                self.reports.push(Report::clone(report));
                write_trial_files(&self.dir, report)
                    .map(drop)
                    .map_err(|error| error.to_string())
            }
            RunEvent::RunFinished { .. } if !self.reports.is_empty() => {
                write_run_files(&self.dir, &self.reports).map_err(|error| error.to_string())
            }
            _ => Ok(()),
        }
    }
}
