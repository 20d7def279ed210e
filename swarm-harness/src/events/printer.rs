//! The printer: the one owner of the run's human output. It prints the web UI's address, each
//! trial's header, live progress, summary table and report path, and the run's report
//! directory. With libtest's `--format json` stdout belongs to libtest's JSON lines, so the
//! printer writes to stderr instead and the JSON stays valid.

use std::collections::BTreeMap;
use std::io::Write;

use crate::events::progress::Progress;
use crate::events::{RunEvent, Sink};

/// Where the printer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    Stdout,
    Stderr,
}

pub(crate) struct Printer {
    output: Output,
    /// Progress as a bar (terminal) rather than periodic lines (CI logs).
    interactive: bool,
    web: Option<String>,
    /// The trials running, by position in the run: several in a run group.
    running: BTreeMap<usize, Running>,
}

/// A running trial as the printer follows it.
struct Running {
    name: String,
    progress: Progress,
    /// Whether its first user target was printed (its header says it).
    steered: bool,
}

impl Printer {
    pub(crate) fn new(output: Output, interactive: bool) -> Self {
        Printer {
            output,
            interactive,
            web: None,
            running: BTreeMap::new(),
        }
    }

    fn print(&self, text: &str) {
        // A closed pipe (`| head`) must not fail the run; what was lost is only the echo.
        let _ = match self.output {
            Output::Stdout => writeln!(std::io::stdout().lock(), "{text}"),
            Output::Stderr => writeln!(std::io::stderr().lock(), "{text}"),
        };
    }

    fn trial_name(&self, index: usize) -> &str {
        self.running
            .get(&index)
            .map_or("run", |running| running.name.as_str())
    }
}

impl Sink for Printer {
    fn on_event(&mut self, event: &RunEvent) -> Result<(), String> {
        match event {
            RunEvent::RunStarted { web, .. } => {
                self.web.clone_from(web);
                if let Some(url) = web {
                    self.print(&format!("web UI: {url}"));
                }
            }
            RunEvent::TrialWaiting { name, .. } => {
                let web = self.web.as_deref().unwrap_or("the web UI");
                self.print(&format!(
                    "\n{name}: waiting for a start: {web} or POST {}swarm",
                    self.web.as_deref().unwrap_or("/")
                ));
            }
            RunEvent::TrialStarted(info) => {
                let host = info
                    .host
                    .as_deref()
                    .map(|host| format!(" against {host}"))
                    .unwrap_or_default();
                self.print(&format!("\n{}: {}{host}", info.name, info.description));
                // One bar redraws one line: trials of a run group beside a running one print
                // periodic lines, each naming its trial.
                let progress = Progress::new(
                    &info.name,
                    std::time::Duration::from_secs_f64(info.duration_s),
                    self.interactive && self.running.is_empty(),
                );
                let running = Running {
                    name: info.name.clone(),
                    progress,
                    steered: false,
                };
                self.running.insert(info.index, running);
            }
            RunEvent::UsersChanged {
                trial,
                target,
                rate,
            } => {
                // The first target is the trial's own, already in its header.
                let steered = self
                    .running
                    .get_mut(trial)
                    .is_some_and(|running| std::mem::replace(&mut running.steered, true));
                if steered {
                    self.print(&format!(
                        "{}: steered to {target} users at {rate}/s",
                        self.trial_name(*trial)
                    ));
                }
            }
            RunEvent::Tick(tick) => {
                if let Some(line) = self
                    .running
                    .get_mut(&tick.trial)
                    .and_then(|running| running.progress.update(&tick.snapshot))
                {
                    self.print(&line);
                }
            }
            RunEvent::ThresholdBreached { trial, verdict } => self.print(&format!(
                "{}: threshold `{}` breached ({}): aborting",
                self.trial_name(*trial),
                verdict.expression,
                verdict.observed_text
            )),
            RunEvent::StatsReset { trial, at_s } => self.print(&format!(
                "{}: statistics reset at {at_s:.1}s",
                self.trial_name(*trial)
            )),
            RunEvent::TrialEnded { report, index } => {
                if let Some(mut running) = self.running.remove(index) {
                    running.progress.finish();
                }
                let table = crate::report::summary_table(report);
                self.print(table.trim_end_matches('\n'));
            }
            RunEvent::GroupEnded { report } => {
                let verdict = if report.passed { "passed" } else { "failed" };
                self.print(&format!(
                    "\nrun group {}: {verdict}: {} trials, {} s with all of them running at once",
                    report.run,
                    report.trials.len(),
                    report.overlap_s()
                ));
            }
            RunEvent::ReportWritten { path } => {
                self.print(&format!("report: {}", path.display()));
            }
            RunEvent::Note(text) => self.print(text),
            RunEvent::RunFinished { report_dir } => {
                if let Some(dir) = report_dir {
                    self.print(&format!("reports: {}", dir.display()));
                }
            }
        }
        Ok(())
    }
}
