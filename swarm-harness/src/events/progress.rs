//! Live progress of a trial: a bar on a terminal (drawn on stderr), a plain line every few
//! seconds otherwise (CI logs), so a long run is never silent. The printer prints the lines.
//! The bar is the `progress` feature's (indicatif and 4 crates of its own); a build without it
//! prints the plain lines on a terminal too.

use std::time::Duration;

use crate::stats::Snapshot;

/// How often a line is printed when the output is not a terminal.
const LINE_EVERY: f64 = 5.0;

pub(super) struct Progress {
    name: String,
    bar: Option<bar::Bar>,
    last_line: f64,
}

impl Progress {
    pub(super) fn new(name: &str, duration: Duration, interactive: bool) -> Self {
        Progress {
            name: name.to_owned(),
            bar: bar::new(name, duration, interactive),
            last_line: 0.0,
        }
    }

    /// Moves the bar, or returns the line to print when one is due.
    pub(super) fn update(&mut self, snapshot: &Snapshot) -> Option<String> {
        let line = format!(
            "users {} | reqs {} | fails {} | task fails {} | {} req/s | p95 {}",
            snapshot.users,
            snapshot.requests,
            snapshot.failures,
            snapshot.task_failures,
            crate::figure::rate(snapshot.rps),
            crate::figure::micros(snapshot.p95_us),
        );
        match &self.bar {
            Some(bar) => {
                bar::show(bar, snapshot.elapsed_s as u64, line);
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
            bar::finish(bar);
        }
    }
}

/// The terminal's bar, drawn by indicatif.
#[cfg(feature = "progress")]
mod bar {
    use std::time::Duration;

    use indicatif::{ProgressBar, ProgressStyle};

    pub(super) type Bar = ProgressBar;

    /// A bar when the output is a terminal.
    pub(super) fn new(name: &str, duration: Duration, interactive: bool) -> Option<Bar> {
        interactive.then(|| {
            let bar = ProgressBar::new(duration.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len}s {msg}")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            bar.set_prefix(name.to_owned());
            bar
        })
    }

    pub(super) fn show(bar: &Bar, elapsed_s: u64, line: String) {
        bar.set_position(elapsed_s);
        bar.set_message(line);
    }

    pub(super) fn finish(bar: Bar) {
        bar.finish_and_clear();
    }
}

/// No bar without the `progress` feature: `Bar` has no value, so a terminal gets the lines.
#[cfg(not(feature = "progress"))]
mod bar {
    use std::time::Duration;

    pub(super) enum Bar {}

    pub(super) fn new(_name: &str, _duration: Duration, _interactive: bool) -> Option<Bar> {
        None
    }

    pub(super) fn show(bar: &Bar, _elapsed_s: u64, _line: String) {
        match *bar {}
    }

    pub(super) fn finish(bar: Bar) {
        match bar {}
    }
}
