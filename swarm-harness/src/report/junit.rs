//! JUnit XML (`junit.xml`): one test case per trial, for CI systems that show test results.
//! A failed trial's failure names its breached thresholds and its failure groups.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

use std::fmt::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::Report;

pub fn junit_xml(reports: &[Report]) -> String {
    let mut suite = TestSuite::new("swarm-harness");
    let mut total = Duration::ZERO;
    for report in reports {
        let status = if report.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let verdict = report.verdict.clone().unwrap_or_default();
            status.set_message(verdict.lines().next().unwrap_or("failed").to_owned());
            status.set_type("stress trial failed");
            status.set_description(details(report));
            status
        };
        let mut case = TestCase::new(report.identity.trial.clone(), status);
        case.set_classname(format!("stress.{}", report.identity.scenario));
        // Not `from_secs_f64`, which panics on what a hand-edited report can hold (1e20, say);
        // a report read from a file was checked, one built in memory may not be.
        let time = Duration::try_from_secs_f64(report.duration_s).unwrap_or_default();
        total = total.saturating_add(time);
        case.set_time(time);
        case.set_system_out(summary_line(report));
        suite.add_test_case(case);
    }
    suite.set_time(total);
    let mut junit = quick_junit::Report::new("stress");
    junit.set_time(total);
    junit.add_test_suite(suite);
    junit.to_string().expect("a JUnit report always serializes")
}

/// The verdict, then every threshold and every failure group.
fn details(report: &Report) -> String {
    let mut text = report.verdict.clone().unwrap_or_default();
    if !report.thresholds.is_empty() {
        text.push_str("\n\nthresholds:");
        for verdict in &report.thresholds {
            let mark = if verdict.pass { "pass" } else { "FAIL" };
            let _ = write!(
                text,
                "\n  [{mark}] {}  observed {}",
                verdict.expression, verdict.observed_text
            );
        }
    }
    if !report.failures.is_empty() {
        text.push_str("\n\nfailures:");
        for failure in &report.failures {
            let _ = write!(text, "\n  {failure}");
        }
    }
    text.push_str(&notes(report));
    text
}

/// Cut-off requests and warnings, for both passing and failing cases.
fn notes(report: &Report) -> String {
    let mut text = String::new();
    if let Some(summary) = report.cancelled_summary() {
        let _ = write!(text, "\n\ncancelled: {summary}");
        for cancelled in &report.cancelled {
            let _ = write!(text, "\n  {cancelled}");
        }
    }
    for warning in &report.warnings {
        let _ = write!(text, "\n\nwarning: {warning}");
    }
    text
}

fn summary_line(report: &Report) -> String {
    let total = &report.requests_total;
    let p = |e: &super::EntryReport, q| super::format_micros(e.percentiles_us.get(q).unwrap_or(0));
    let latency = report
        .latency_total()
        .map(|l| {
            format!(
                "latency from the intended start p50 {}, p99 {}; ",
                p(&l, 0.5),
                p(&l, 0.99)
            )
        })
        .unwrap_or_default();
    format!(
        "{latency}{} requests, {} failed, {:.1} req/s, p50 {}, p95 {}, p99 {}{}",
        total.count,
        total.failures,
        total.rps,
        p(total, 0.5),
        p(total, 0.95),
        p(total, 0.99),
        notes(report),
    )
}
