//! The report writer: a sink that writes each trial's files as the trial ends, and the run's
//! index page and JUnit file when the run finishes.
//!
//! A run may be several processes (cargo-nextest starts one per trial), each writing into the
//! same directory: the run-level files are rebuilt from every report there that carries this
//! run's id, under a lock file, so the last process to finish lists every trial of the run and
//! no trial of an older one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{RunEvent, Sink};
use crate::report::{Report, write_run_files, write_trial_files};

/// How long a process waits for another to finish writing the run-level files.
const LOCK_WAIT: Duration = Duration::from_secs(10);

pub(crate) struct ReportWriter {
    dir: PathBuf,
    run_id: String,
    /// The reports of this process's trials.
    reports: Vec<Report>,
}

impl ReportWriter {
    pub(crate) fn new(dir: PathBuf, run_id: String) -> Self {
        ReportWriter {
            dir,
            run_id,
            reports: Vec::new(),
        }
    }

    fn write_run_files(&self) -> Result<(), String> {
        let lock = lock_run_files(&self.dir)?;
        let reports = run_reports(&self.dir, &self.run_id, &self.reports);
        let written = write_run_files(&self.dir, &reports).map_err(|error| error.to_string());
        drop(lock);
        written
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
            RunEvent::GroupEnded { report } => crate::report::write_group_files(&self.dir, report)
                .map(drop)
                .map_err(|error| error.to_string()),
            RunEvent::RunFinished { .. } if !self.reports.is_empty() => self.write_run_files(),
            _ => Ok(()),
        }
    }
}

/// The reports of run `run_id`: this process's `own`, and every other report in `dir` that
/// carries the id (trials other processes of the run wrote), in the order they started.
/// Files that are not reports, or reports of other runs, are left out.
pub(crate) fn run_reports(dir: &Path, run_id: &str, own: &[Report]) -> Vec<Report> {
    let mut reports = own.to_vec();
    let others = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .filter_map(|path| crate::report::read_report(&path).ok())
        .filter(|report| report.run_id.as_deref() == Some(run_id));
    for report in others {
        if !reports.iter().any(|own| own.identity == report.identity) {
            reports.push(report);
        }
    }
    // RFC 3339 in UTC sorts as text.
    reports.sort_by(|a, b| {
        (&a.started_at, &a.identity.trial).cmp(&(&b.started_at, &b.identity.trial))
    });
    reports
}

/// An exclusive lock on `dir/.run.lock` while the run-level files are rebuilt, waiting at most
/// [`LOCK_WAIT`] for another process of the run.
fn lock_run_files(dir: &Path) -> Result<std::fs::File, String> {
    let path = dir.join(".run.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| format!("failed to open {}: {error}", path.display()))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "{} stayed locked for {LOCK_WAIT:?} (another process of the run writing \
                     index.html and junit.xml?)",
                    path.display()
                ));
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(format!("failed to lock {}: {error}", path.display()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;
    use crate::report::{BuildInput, TrialIdentity, write_report};
    use crate::stats::Tally;

    fn report(trial: &str, run_id: Option<&str>, started_at: &str) -> Report {
        let mut report = Report::build(BuildInput {
            identity: TrialIdentity {
                trial: trial.into(),
                scenario: trial.into(),
                param: None,
            },
            config: serde_json::Value::Null,
            started_at: started_at.into(),
            elapsed_s: 1.0,
            outcome: Outcome::Completed,
            dropped_iterations: 0,
            folded_requests: 0,
            max_names: 1000,
            errors: Vec::new(),
            totals: &Tally::default(),
            timeline: Vec::new(),
        });
        report.run_id = run_id.map(str::to_owned);
        report
    }

    fn trials(reports: &[Report]) -> Vec<&str> {
        reports.iter().map(|r| r.identity.trial.as_str()).collect()
    }

    #[test]
    fn run_files_gather_every_trial_of_the_run_and_none_of_another() {
        let dir = tempfile::tempdir().unwrap();
        let t = "2026-01-01T00:00:0";
        write_report(dir.path(), &report("b", Some("run-1"), &format!("{t}2Z"))).unwrap();
        write_report(dir.path(), &report("old", Some("run-0"), &format!("{t}0Z"))).unwrap();
        write_report(dir.path(), &report("older", None, &format!("{t}0Z"))).unwrap();
        std::fs::write(dir.path().join("other.json"), "{\"not\": \"a report\"}").unwrap();
        // This process's own "c", and a stale file of its own trial "a" of another run.
        write_report(dir.path(), &report("a", Some("run-0"), &format!("{t}0Z"))).unwrap();
        let own = [
            report("c", Some("run-1"), &format!("{t}3Z")),
            report("a", Some("run-1"), &format!("{t}1Z")),
        ];
        let reports = run_reports(dir.path(), "run-1", &own);
        assert_eq!(trials(&reports), ["a", "b", "c"]);
        assert!(reports.iter().all(|r| r.run_id.as_deref() == Some("run-1")));

        let mut writer = ReportWriter::new(dir.path().to_owned(), "run-1".into());
        writer.reports = own.to_vec();
        writer.write_run_files().unwrap();
        let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
        for trial in ["\"a\"", "\"b\"", "\"c\""] {
            assert!(junit.contains(&format!("name={trial}")), "{junit}");
        }
        assert!(!junit.contains("old"), "{junit}");
    }

    #[test]
    fn a_lock_held_elsewhere_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_run_files(dir.path()).unwrap();
        let waiter = {
            let dir = dir.path().to_owned();
            std::thread::spawn(move || lock_run_files(&dir).map(drop))
        };
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        waiter.join().unwrap().unwrap();
    }
}
