//! JUnit XML (`junit.xml`): one test case per trial, for CI systems that show test results.
//! A failed trial's failure names its breached thresholds and its failure groups; a trial's
//! checks and custom metrics are its test case's properties, and its checks are lines of its
//! `system-out` too.
//!
//! Written by hand (with `xml`), not with quick-junit: quick-junit and the 9 crates only it
//! brought (quick-xml, chrono, uuid, newtype-uuid, indexmap, hashbrown, equivalent,
//! strip-ansi-escapes, vte) were 10 of the fewest build's 133 crates, for one small file.
//! The document is the one quick-junit wrote, byte for byte (what CI tools read:
//! `testsuites`, `testsuite`, `testcase`, `properties`, `failure`, `system-out` and their
//! attributes), its text cleaned the same way (ANSI escape sequences and control characters
//! other than a line feed removed); we also remove U+FFFE and U+FFFF, which XML forbids.
//! quick-junit stays a dev-dependency as the test oracle (`tests`): for hostile names and
//! messages our document reads as the same elements, attributes and text as its own, and is
//! the same bytes.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

#[cfg(test)]
mod tests;
mod xml;

use std::fmt::Write;
use std::time::Duration;

use self::xml::Xml;
use super::figures::{
    mark, number, one_line, pass_percent, ratio_counts, trend_mean, trend_percentile, trend_value,
};
use super::{RatioReport, Report};

/// What the `type` of a failed trial's `failure` says.
const FAILURE_TYPE: &str = "stress trial failed";

pub fn junit_xml(reports: &[Report]) -> String {
    // Not `from_secs_f64`, which panics on what a hand-edited report can hold (1e20, say);
    // a report read from a file was checked, one built in memory may not be.
    let times: Vec<Duration> = reports
        .iter()
        .map(|report| Duration::try_from_secs_f64(report.duration_s).unwrap_or_default())
        .collect();
    let total = times
        .iter()
        .fold(Duration::ZERO, |total, time| total.saturating_add(*time));
    let (tests, failures) = (
        reports.len().to_string(),
        reports
            .iter()
            .filter(|report| !report.passed)
            .count()
            .to_string(),
    );
    let total = seconds(total);
    let mut xml = Xml::default();
    let (tests, failures, total) = (tests.as_str(), failures.as_str(), total.as_str());
    // The attributes and their order are quick-junit's.
    xml.open(
        "testsuites",
        &[
            ("name", "stress"),
            ("tests", tests),
            ("skipped", "0"),
            ("failures", failures),
            ("errors", "0"),
            ("time", total),
        ],
    );
    let suite = [
        ("name", "swarm-harness"),
        ("tests", tests),
        ("skipped", "0"),
        ("errors", "0"),
        ("failures", failures),
        ("time", total),
    ];
    if reports.is_empty() {
        xml.empty("testsuite", &suite);
    } else {
        xml.open("testsuite", &suite);
        for (report, time) in reports.iter().zip(times) {
            test_case(&mut xml, report, time);
        }
        xml.close("testsuite");
    }
    xml.close("testsuites");
    xml.finish()
}

/// One trial's `testcase`: its checks and custom metrics as properties, its failure when it
/// failed (checks alone never fail it; thresholds on them do), and its summary.
fn test_case(xml: &mut Xml, report: &Report, time: Duration) {
    let classname = format!("stress.{}", report.identity.scenario);
    xml.open(
        "testcase",
        &[
            ("name", &report.identity.trial),
            ("classname", &classname),
            ("time", &seconds(time)),
        ],
    );
    let properties = properties(report);
    if !properties.is_empty() {
        xml.open("properties", &[]);
        for (name, value) in &properties {
            xml.empty("property", &[("name", name), ("value", value)]);
        }
        xml.close("properties");
    }
    if !report.passed {
        let verdict = report.verdict.as_deref().unwrap_or_default();
        let message = verdict.lines().next().unwrap_or("failed");
        xml.text_element(
            "failure",
            &[("message", message), ("type", FAILURE_TYPE)],
            &details(report),
        );
    }
    xml.text_element("system-out", &[], &summary_line(report));
    xml.close("testcase");
}

/// A time attribute: seconds with 3 decimals, as quick-junit wrote them.
fn seconds(time: Duration) -> String {
    format!("{:.3}", time.as_secs_f64())
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

/// `check.NAME` = `970/1000 (97.00%)` a check, then `metric.KIND.NAME` a custom metric:
/// what a CI page lists beside the test case. Names on one line, since a line feed in an
/// attribute reads back as a space.
fn properties(report: &Report) -> Vec<(String, String)> {
    let ratio = |r: &RatioReport| {
        let total = r.passes.saturating_add(r.fails);
        format!("{}/{total} ({})", r.passes, pass_percent(r))
    };
    let name = |prefix: &str, name: &str| format!("{prefix}.{}", one_line(name));
    let metrics = &report.metrics;
    let checks = (report.checks.iter()).map(|c| (name("check", &c.name), ratio(c)));
    let counters = metrics.counters.iter().map(|c| {
        let value = format!("{} ({}/s)", c.value, crate::figure::rate(c.per_s));
        (name("metric.counter", &c.name), value)
    });
    let gauges = metrics.gauges.iter().map(|g| {
        let value = format!(
            "{} (min {}, max {})",
            number(g.value),
            number(g.min),
            number(g.max)
        );
        (name("metric.gauge", &g.name), value)
    });
    let rates = (metrics.rates.iter()).map(|r| (name("metric.rate", &r.name), ratio(r)));
    let trends = metrics.trends.iter().map(|t| {
        let p = |q| trend_percentile(t, q);
        let value = format!(
            "count {}, avg {}, p50 {}, p95 {}, p99 {}, max {}",
            t.count,
            trend_mean(t),
            p(0.5),
            p(0.95),
            p(0.99),
            trend_value(t, t.max_us)
        );
        (name("metric.trend", &t.name), value)
    });
    checks
        .chain(counters)
        .chain(gauges)
        .chain(rates)
        .chain(trends)
        .collect()
}

/// A line per check (`✗ status is 201 97.00% — ✓ 970 / ✗ 30`), after the summary line.
fn check_lines(report: &Report) -> String {
    let mut text = String::new();
    if !report.checks.is_empty() {
        text.push_str("\n\nchecks:");
    }
    for check in &report.checks {
        let _ = write!(
            text,
            "\n  {} {} {}",
            mark(check),
            one_line(&check.name),
            ratio_counts(check)
        );
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
        "{latency}{} requests, {} failed, {} req/s, p50 {}, p95 {}, p99 {}{}{}",
        total.count,
        total.failures,
        crate::figure::rate(total.rps),
        p(total, 0.5),
        p(total, 0.95),
        p(total, 0.99),
        check_lines(report),
        notes(report),
    )
}
