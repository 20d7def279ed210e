//! Whether a trial passed: with thresholds, when every threshold holds; without, when no
//! request and no task failed. An interrupted or aborted trial never passes, nor one that
//! measured nothing (no request and no task completed) or whose runner failed.

use std::fmt::Write;

use super::Report;
use crate::runner::Outcome;
use crate::threshold::Verdict;

/// Sets `passed` and `verdict` (why it failed, every reason named).
pub fn judge(report: &mut Report, has_thresholds: bool, aborted_by: Option<&Verdict>) {
    let mut problems = Vec::new();
    match report.outcome {
        Outcome::Interrupted => {
            problems.push("interrupted before the end of its duration".to_owned())
        }
        Outcome::Aborted => {
            // The figures at the end are in the breach table below: one value per threshold.
            if let Some(breach) = aborted_by {
                problems.push(format!(
                    "aborted early: threshold `{}` was breached while running",
                    breach.expression
                ));
            }
        }
        Outcome::Completed | Outcome::RequestLimit => {}
    }
    problems.extend(report.errors.iter().cloned());
    let tasks: u64 = report.tasks.iter().map(|task| task.count).sum();
    if report.requests_total.count == 0 && tasks == 0 {
        problems.push(
            "measured nothing: no request and no task completed (is the target answering? \
             PT_REQUEST_TIMEOUT bounds each request)"
                .to_owned(),
        );
    }
    if has_thresholds {
        if let Some(table) = breach_table(&report.thresholds) {
            problems.push(table);
        }
    } else {
        if let Some(message) = super::failure_message(report) {
            problems.push(message);
        }
        // The load asked for was not delivered: without thresholds that says otherwise, the
        // numbers describe a lighter test than the one configured.
        if report.dropped_iterations > 0 {
            problems.push(format!(
                "{} iterations were dropped because every user was busy; raise max_users \
                 (PT_MAX_USERS) or lower the arrival rate",
                report.dropped_iterations
            ));
        }
    }
    report.passed = problems.is_empty();
    report.verdict = (!problems.is_empty()).then(|| problems.join("\n"));
}

/// `thresholds breached:` and one line per breach with the observed value.
pub fn breach_table(verdicts: &[Verdict]) -> Option<String> {
    let breached: Vec<&Verdict> = verdicts.iter().filter(|v| !v.pass).collect();
    if breached.is_empty() {
        return None;
    }
    let width = breached
        .iter()
        .map(|v| v.expression.len())
        .max()
        .unwrap_or(0);
    let mut table = format!(
        "{} of {} thresholds breached:",
        breached.len(),
        verdicts.len()
    );
    for verdict in breached {
        let _ = write!(
            table,
            "\n  {:<width$}  observed {}",
            verdict.expression, verdict.observed_text
        );
    }
    Some(table)
}
