//! The Locust-style summary printed at the end of each trial, and the failure message.

mod custom;
#[cfg(test)]
mod tests;

use std::fmt::Write;

use super::{EntryReport, Report};
use crate::figure::rate;
use crate::stats::format_micros;

/// A whole number of µs in a column headed "ms", by the one figure rule.
fn ms(micros: u64) -> String {
    crate::figure::ms(micros as f64)
}

/// The end-of-trial tables: the latency users felt first when the trial has it, then requests
/// (with the Aggregated row), percentiles, requests by tag, tasks, checks, custom metrics,
/// failures, cut-off work and warnings. A block a trial has nothing for is left out.
pub fn summary_table(report: &Report) -> String {
    let mut out = String::new();
    latency_line(&mut out, report);
    let name_width = report
        .requests
        .iter()
        .chain(&report.tasks)
        .map(|e| e.name.len() + e.kind.len() + 1)
        .max()
        .unwrap_or(10)
        .clamp(20, 60);
    requests_table(&mut out, report, name_width);
    percentiles_table(&mut out, report, name_width);
    custom::tags(&mut out, report);
    tasks(&mut out, report, name_width);
    custom::checks(&mut out, report);
    custom::metrics(&mut out, report);
    notes(&mut out, report);
    out
}

fn latency_line(out: &mut String, report: &Report) {
    if let Some(latency) = report.latency_total() {
        let p = |q| format_micros(latency.percentiles_us.get(q).unwrap_or(0));
        let _ = writeln!(
            out,
            "\nLatency users felt (from each task's intended start, coordinated omission \
             corrected): p50 {} | p95 {} | p99 {} | max {} over {} tasks",
            p(0.5),
            p(0.95),
            p(0.99),
            format_micros(latency.max_us),
            latency.count
        );
    }
}

fn requests_table(out: &mut String, report: &Report, name_width: usize) {
    let _ = writeln!(
        out,
        "\n{:<name_width$} {:>8} {:>13} | {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8}",
        "Type Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s", "fail/s"
    );
    let rule = "-".repeat(name_width + 91);
    let _ = writeln!(out, "{rule}");
    for entry in &report.requests {
        request_row(out, entry, name_width);
    }
    let _ = writeln!(out, "{rule}");
    request_row(out, &report.requests_total, name_width);
    let _ = writeln!(out, "(times in ms)\n");
}

fn request_row(out: &mut String, e: &EntryReport, name_width: usize) {
    let label = format!("{} {}", e.kind, e.name);
    let _ = writeln!(
        out,
        "{:<name_width$} {:>8} {:>6}({:>5.2}%) | {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8}",
        label.trim(),
        e.count,
        e.failures,
        e.fail_ratio() * 100.0,
        crate::figure::ms(e.mean_us),
        ms(e.min_us),
        ms(e.max_us),
        ms(e.median_us()),
        rate(e.rps),
        rate(e.failures_per_s),
    );
}

fn percentiles_table(out: &mut String, report: &Report, name_width: usize) {
    let _ = writeln!(out, "Response time percentiles (ms)");
    let labels: Vec<String> = report
        .requests_total
        .percentiles_us
        .0
        .iter()
        .map(|(q, _)| format!("{}%", super::percent_of(*q)))
        .collect();
    let _ = write!(out, "{:<name_width$}", "Type Name");
    for label in &labels {
        let _ = write!(out, " {label:>8}");
    }
    let _ = writeln!(out);
    for entry in report.requests.iter().chain([&report.requests_total]) {
        let label = format!("{} {}", entry.kind, entry.name);
        let _ = write!(out, "{:<name_width$}", label.trim());
        for (_, value) in &entry.percentiles_us.0 {
            let _ = write!(out, " {:>8}", ms(*value));
        }
        let _ = writeln!(out);
    }
}

/// Tasks, and their latency from the intended start beside their service time.
fn tasks(out: &mut String, report: &Report, name_width: usize) {
    if !report.tasks.is_empty() {
        let _ = writeln!(out, "\nTasks");
        for task in &report.tasks {
            let _ = writeln!(
                out,
                "{:<name_width$} {:>8} runs {:>6} failed | avg {:>9} | p95 {:>9}",
                task.name,
                task.count,
                task.failures,
                crate::figure::time(task.mean_us),
                format_micros(task.percentiles_us.get(0.95).unwrap_or(0)),
            );
        }
    }
    if !report.task_latency.is_empty() {
        let _ = writeln!(
            out,
            "\nLatency from the intended start (coordinated omission corrected) vs service time"
        );
        for latency in &report.task_latency {
            let service = report.tasks.iter().find(|t| t.name == latency.name);
            let p = |e: &super::EntryReport, q| format_micros(e.percentiles_us.get(q).unwrap_or(0));
            let _ = writeln!(
                out,
                "{:<name_width$} latency p50 {:>9} p99 {:>9} | service time p50 {:>9} p99 {:>9}",
                latency.name,
                p(latency, 0.5),
                p(latency, 0.99),
                service.map_or("-".to_owned(), |s| p(s, 0.5)),
                service.map_or("-".to_owned(), |s| p(s, 0.99)),
            );
        }
    }
}

/// Dropped iterations, failures, cut-off work, warnings and errors.
fn notes(out: &mut String, report: &Report) {
    if report.dropped_iterations > 0 {
        let _ = writeln!(
            out,
            "\n{} iterations dropped: due while every user was busy (raise max_users)",
            report.dropped_iterations
        );
    }
    if !report.failures.is_empty() {
        let _ = writeln!(out, "\nFailures\n{:>11}  Error", "Occurrences");
        for failure in &report.failures {
            let _ = writeln!(
                out,
                "{:>11}  {} {}: {}",
                failure.occurrences, failure.kind, failure.name, failure.error
            );
        }
    }
    if let Some(summary) = report.cancelled_summary() {
        let _ = writeln!(out, "\n{summary}:");
        for cancelled in &report.cancelled {
            let _ = writeln!(
                out,
                "{:>11}  {} {}: {}",
                cancelled.occurrences, cancelled.kind, cancelled.name, cancelled.error
            );
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "\nwarning: {warning}");
    }
    for error in &report.errors {
        let _ = writeln!(out, "\nerror: {error}");
    }
}

/// Why the trial failed, naming every failure group, for libtest's failure output.
pub fn failure_message(report: &Report) -> Option<String> {
    let summary = report.failure_summary()?;
    let mut message = format!("{summary}:");
    for failure in &report.failures {
        let _ = write!(message, "\n  {failure}");
        if let Some(sample) = &failure.sample
            && let Some(body) = sample.body.as_deref().filter(|b| !b.is_empty())
        {
            let body: String = body.chars().take(120).collect();
            let _ = write!(message, " (response: {body:?})");
        }
    }
    Some(message)
}
