//! Live progress of a trial: a bar on a terminal (drawn on stderr), a plain line every few
//! seconds otherwise (CI logs), so a long run is never silent. The printer prints the lines.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::stats::Snapshot;

/// How often a line is printed when the output is not a terminal.
const LINE_EVERY: f64 = 5.0;

pub(super) struct Progress {
    name: String,
    bar: Option<ProgressBar>,
    last_line: f64,
}

impl Progress {
    pub(super) fn new(name: &str, duration: Duration, interactive: bool) -> Self {
        let bar = interactive.then(|| {
            let bar = ProgressBar::new(duration.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len}s {msg}")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            bar.set_prefix(name.to_owned());
            bar
        });
        Progress {
            name: name.to_owned(),
            bar,
            last_line: 0.0,
        }
    }

    /// Moves the bar, or returns the line to print when one is due.
    pub(super) fn update(&mut self, snapshot: &Snapshot) -> Option<String> {
        let line = format!(
            "users {} | reqs {} | fails {} | task fails {} | {:.1} req/s | p95 {}",
            snapshot.users,
            snapshot.requests,
            snapshot.failures,
            snapshot.task_failures,
            snapshot.rps,
            crate::stats::format_micros(snapshot.p95_us),
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(snapshot.elapsed_s as u64);
                bar.set_message(line);
                None
            }
            None if snapshot.elapsed_s - self.last_line >= LINE_EVERY => {
                self.last_line = snapshot.elapsed_s;
                Some(format!(
                    "[{} {:>6.1}s] {line}",
                    self.name, snapshot.elapsed_s
                ))
            }
            None => None,
        }
    }

    pub(super) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
