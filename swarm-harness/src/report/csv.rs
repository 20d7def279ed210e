//! Locust-compatible CSV files, so tools that read Locust's output read ours: `_stats.csv`,
//! `_stats_history.csv` and `_failures.csv` with Locust's exact headers, times in milliseconds,
//! an `Aggregated` row, and `N/A` percentiles for entries without requests.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

use std::path::{Path, PathBuf};

use super::json::{ReportError, file_stem, write_atomically};
use super::{EntryReport, Report};
use crate::stats::PERCENTILES;

/// Locust's percentile column names: `50%` … `99.99%`, `100%`.
fn percentile_columns() -> Vec<String> {
    PERCENTILES
        .iter()
        .map(|q| format!("{}%", super::percent_of(*q)))
        .collect()
}

pub fn stats_header() -> Vec<String> {
    let mut header: Vec<String> = [
        "Type",
        "Name",
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
        "Requests/s",
        "Failures/s",
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(percentile_columns());
    header
}

pub fn history_header() -> Vec<String> {
    let mut header: Vec<String> = [
        "Timestamp",
        "User Count",
        "Type",
        "Name",
        "Requests/s",
        "Failures/s",
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(percentile_columns());
    header.extend(
        [
            "Total Request Count",
            "Total Failure Count",
            "Total Median Response Time",
            "Total Average Response Time",
            "Total Min Response Time",
            "Total Max Response Time",
            "Total Average Content Size",
        ]
        .map(str::to_owned),
    );
    header
}

pub const FAILURES_HEADER: [&str; 4] = ["Method", "Name", "Error", "Occurrences"];

/// Milliseconds from microseconds, with up to 3 decimals and no trailing zeros.
pub fn ms(micros: f64) -> String {
    let text = format!("{:.3}", micros / 1e3);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Whole milliseconds, as Locust writes medians and percentiles.
fn whole_ms(micros: u64) -> String {
    ((micros as f64 / 1e3).round() as u64).to_string()
}

fn stats_row(entry: &EntryReport) -> Vec<String> {
    let mut row = vec![
        entry.kind.clone(),
        entry.name.clone(),
        entry.count.to_string(),
        entry.failures.to_string(),
        whole_ms(entry.median_us()),
        ms(entry.mean_us),
        ms(entry.min_us as f64),
        ms(entry.max_us as f64),
        format!("{}", entry.avg_content_bytes),
        format!("{}", entry.rps),
        format!("{}", entry.failures_per_s),
    ];
    row.extend(percentile_cells(entry.count, |_, q| {
        entry.percentiles_us.get(q)
    }));
    row
}

/// One cell per column of [`PERCENTILES`], whatever a report read back holds (a row of
/// another length is an error of the CSV writer): `N/A` for a value it lacks.
fn percentile_cells(count: u64, value: impl Fn(usize, f64) -> Option<u64>) -> Vec<String> {
    PERCENTILES
        .iter()
        .enumerate()
        .map(|(index, &q)| match value(index, q) {
            Some(micros) if count > 0 => whole_ms(micros),
            _ => "N/A".to_owned(),
        })
        .collect()
}

fn to_bytes(header: &[String], rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(header)
        .expect("writing to memory does not fail");
    for row in rows {
        writer
            .write_record(&row)
            .expect("writing to memory does not fail");
    }
    writer
        .into_inner()
        .expect("flushing to memory does not fail")
}

pub fn stats_csv(report: &Report) -> Vec<u8> {
    let rows = report
        .requests
        .iter()
        .chain([&report.requests_total])
        .map(stats_row)
        .collect();
    to_bytes(&stats_header(), rows)
}

/// One `Aggregated` row a second (Locust's default history), with the cumulative
/// percentiles of all requests so far, as Locust writes them.
pub fn history_csv(report: &Report) -> Vec<u8> {
    let rows = report
        .timeline
        .iter()
        .map(|point| {
            let mut row = vec![
                point.timestamp.to_string(),
                point.users.to_string(),
                String::new(),
                "Aggregated".to_owned(),
                format!("{:.6}", point.rps),
                format!("{:.6}", point.failures_per_s),
            ];
            row.extend(percentile_cells(point.total_requests, |index, _| {
                point.total_percentiles_us.get(index).copied()
            }));
            row.extend([
                point.total_requests.to_string(),
                point.total_failures.to_string(),
                whole_ms(point.total_median_us),
                ms(point.total_mean_us),
                ms(point.total_min_us as f64),
                ms(point.total_max_us as f64),
                format!("{}", point.total_avg_content_bytes),
            ]);
            row
        })
        .collect();
    to_bytes(&history_header(), rows)
}

/// Locust's failures file; requests and tasks cut off at stop follow as rows whose error
/// says so (they are not failures, but a reader of this file must see them).
pub fn failures_csv(report: &Report) -> Vec<u8> {
    let header: Vec<String> = FAILURES_HEADER.map(str::to_owned).to_vec();
    let rows = report
        .failures
        .iter()
        .chain(&report.cancelled)
        .map(|f| {
            vec![
                f.kind.clone(),
                f.name.clone(),
                f.error.clone(),
                f.occurrences.to_string(),
            ]
        })
        .collect();
    to_bytes(&header, rows)
}

/// Writes the three CSV files of a trial; returns their paths.
///
/// # Errors
/// When a file cannot be written.
pub fn write_csv(dir: &Path, report: &Report) -> Result<Vec<PathBuf>, ReportError> {
    let stem = file_stem(&report.identity.trial);
    let files = [
        (format!("{stem}_stats.csv"), stats_csv(report)),
        (format!("{stem}_stats_history.csv"), history_csv(report)),
        (format!("{stem}_failures.csv"), failures_csv(report)),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        write_atomically(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_locusts() {
        assert_eq!(
            stats_header().join(","),
            "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
             Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,\
             50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
        );
        assert_eq!(
            history_header().join(","),
            "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,\
             99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,\
             Total Median Response Time,Total Average Response Time,Total Min Response Time,\
             Total Max Response Time,Total Average Content Size"
        );
        assert_eq!(FAILURES_HEADER.join(","), "Method,Name,Error,Occurrences");
    }

    #[test]
    fn milliseconds() {
        assert_eq!(ms(1500.0), "1.5");
        assert_eq!(ms(20_000.0), "20");
        assert_eq!(ms(0.0), "0");
        assert_eq!(ms(1234.5678), "1.235");
    }
}
