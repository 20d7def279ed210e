//! Whether a trial passed: with thresholds, when every threshold holds; without, when no
//! request and no task failed. An interrupted, aborted or stalled trial never passes, nor one
//! that measured nothing (no request and no task completed) or whose runner failed.

use std::fmt::Write;

use super::Report;
use crate::report::Outcome;
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
        Outcome::Stalled => problems.push(report.stall.as_ref().map_or_else(
            || "stalled: the target stopped answering".to_owned(),
            super::Stall::message,
        )),
        Outcome::Completed | Outcome::RequestLimit | Outcome::Stopped => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{BuildInput, TrialIdentity};
    use crate::stats::Tally;
    use crate::threshold::Thresholds;

    fn report(totals: &Tally, outcome: Outcome) -> Report {
        Report::build(BuildInput {
            identity: TrialIdentity {
                trial: "t".into(),
                scenario: "t".into(),
                param: None,
            },
            config: serde_json::Value::Null,
            started_at: String::new(),
            elapsed_s: 10.0,
            outcome,
            dropped_iterations: 0,
            folded_requests: 0,
            max_names: 1000,
            errors: Vec::new(),
            totals,
            timeline: Vec::new(),
        })
    }

    #[test]
    fn an_aborted_trial_quotes_one_value_per_threshold() {
        let mut totals = Tally::default();
        totals.requests.entry("GET", "/a").record(50_000, true, 0);
        totals.tasks.entry("task", "t").record(50_000, true, 0);
        let thresholds = Thresholds::parse(&["max < 10ms abort_on_fail"]).unwrap();
        let live = thresholds.abort_reason(&totals, std::time::Duration::from_secs(1));
        // More came in after the abort: the final figure differs from the live one.
        totals.requests.entry("GET", "/a").record(90_000, true, 0);
        let mut report = report(&totals, Outcome::Aborted);
        report.thresholds = thresholds.evaluate(&totals, std::time::Duration::from_secs(10));
        judge(&mut report, true, live.as_ref());
        let verdict = report.verdict.unwrap();
        assert!(verdict.contains("aborted early: threshold `max < 10ms abort_on_fail`"));
        assert_eq!(verdict.matches("observed").count(), 1, "{verdict}");
        assert!(verdict.contains("observed 90.0ms"), "{verdict}");
    }

    #[test]
    fn a_trial_that_measured_nothing_fails_even_with_passing_thresholds() {
        let mut report = report(&Tally::default(), Outcome::Completed);
        report.thresholds = Thresholds::parse(&["failures < 1"])
            .unwrap()
            .evaluate(&Tally::default(), std::time::Duration::from_secs(1));
        judge(&mut report, true, None);
        assert!(!report.passed);
        assert!(report.verdict.unwrap().contains("measured nothing"));
    }
}
