//! Locust-compatible CSV files, so tools that read Locust's output read ours: `_stats.csv`,
//! `_stats_history.csv` and `_failures.csv` with Locust's exact headers, times in milliseconds,
//! an `Aggregated` row, and `N/A` percentiles for entries without requests. A trial with
//! checks, custom metrics or tagged requests also gets files of their own (`custom`).

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

use std::path::{Path, PathBuf};

use super::json::{ReportError, file_stem, write_atomically};
use super::{EntryReport, Report};
use crate::stats::PERCENTILES;

mod custom;

pub use custom::{CHECKS_HEADER, METRICS_HEADER, checks_csv, metrics_csv, tags_csv};

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

/// Writes the CSV files of a trial: Locust's three, then `_checks.csv`, `_metrics.csv` and
/// `_tags.csv` for a trial that has any of those; returns their paths.
///
/// # Errors
/// When a file cannot be written.
pub fn write_csv(dir: &Path, report: &Report) -> Result<Vec<PathBuf>, ReportError> {
    let stem = file_stem(&report.identity.trial);
    let files = [
        (format!("{stem}_stats.csv"), Some(stats_csv(report))),
        (
            format!("{stem}_stats_history.csv"),
            Some(history_csv(report)),
        ),
        (format!("{stem}_failures.csv"), Some(failures_csv(report))),
        (
            format!("{stem}_checks.csv"),
            (!report.checks.is_empty()).then(|| checks_csv(report)),
        ),
        (
            format!("{stem}_metrics.csv"),
            (!report.metrics.is_empty()).then(|| metrics_csv(report)),
        ),
        (
            format!("{stem}_tags.csv"),
            (!report.tags.is_empty()).then(|| tags_csv(report)),
        ),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        match bytes {
            Some(bytes) => {
                write_atomically(&path, &bytes)?;
                written.push(path);
            }
            // The trial's file from an earlier run in this directory would describe checks or
            // metrics this trial no longer has. Best effort: a leftover that cannot be removed
            // is no reason to lose this trial's other files.
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{HOSTILE, custom, plain};

    /// Locust's three files of the shared plain trial, as they were written before checks,
    /// metrics and tags had files of their own.
    const PLAIN_STATS: &str = r#"Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/items,10,1,5,5.5,1,10,512,8,0.8,5,7,8,8,9,10,10,10,10,10,10
POST,/orders,5,0,60,60,20,100,512,4,0,60,80,80,80,100,100,100,100,100,100,100
,Aggregated,15,1,8,23.667,1,100,512,12,0.8,8,10,40,40,80,100,100,100,100,100,100
"#;
    const PLAIN_HISTORY: &str = r#"Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size
1767225601,2,,Aggregated,8.000000,0.500000,6,6,6,6,6,6,6,6,6,6,6,8,1,6,6.5,1,100,512
1767225601,2,,Aggregated,8.000000,0.500000,6,6,6,6,6,6,6,6,6,6,6,15,1,6,6.5,1,100,512
"#;
    const PLAIN_FAILURES: &str = r#"Method,Name,Error,Occurrences
GET,/items,HTTP 500 Internal Server Error,1
"#;

    const CHECKS: &str = r#"Name,Passes,Fails,Pass rate
"a <b> ""c"", d
e",3,0,1
status is 201,970,30,0.97
"#;

    const METRICS: &str = r#"Type,Name,Count,Value,Min,Max,Avg,50%,95%,99%
counter,"a <b> ""c"", d
e",,12,,,,,,
gauge,depth <q>,3,3,-1.5,5,,,,
rate,"cache ""hit""",4,0.75,,,,,,
trend,"items, per page",100,,1,100,50.5,50,95,99
trend (time),queue wait,100,,1,100,50.5,50.015,95.039,99.007
"#;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn a_trial_without_checks_metrics_or_tags_writes_locusts_three_files_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_csv(dir.path(), &plain()).unwrap();
        assert_eq!(written.len(), 3);
        let stem = "checkout[large]";
        assert_eq!(
            names(dir.path()),
            [
                format!("{stem}_failures.csv"),
                format!("{stem}_stats.csv"),
                format!("{stem}_stats_history.csv"),
            ]
        );
        assert_eq!(read(dir.path(), &format!("{stem}_stats.csv")), PLAIN_STATS);
        assert_eq!(
            read(dir.path(), &format!("{stem}_stats_history.csv")),
            PLAIN_HISTORY
        );
        assert_eq!(
            read(dir.path(), &format!("{stem}_failures.csv")),
            PLAIN_FAILURES
        );
    }

    #[test]
    fn checks_metrics_and_tags_get_files_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let report = custom();
        assert_eq!(write_csv(dir.path(), &report).unwrap().len(), 6);
        let file = |suffix: &str| read(dir.path(), &format!("checkout[large]_{suffix}.csv"));
        assert_eq!(file("stats"), PLAIN_STATS);
        assert_eq!(file("failures"), PLAIN_FAILURES);
        assert_eq!(file("checks"), CHECKS);
        assert_eq!(file("metrics"), METRICS);
        let tags = file("tags");
        let mut rows = ::csv::Reader::from_reader(tags.as_bytes());
        assert_eq!(rows.headers().unwrap(), stats_header());
        let rows: Vec<::csv::StringRecord> = rows.records().map(Result::unwrap).collect();
        assert_eq!(
            rows.iter()
                .map(|r| (&r[0], &r[1], &r[2], &r[3]))
                .collect::<Vec<_>>(),
            [
                ("kind", "read", "10", "0"),
                ("region", "eu\n<west>, \"2\"", "5", "1")
            ]
        );
        // Percentiles in whole milliseconds, as in `_stats.csv`.
        assert_eq!((&rows[1][11], &rows[1][21]), ("60", "100"));
        // Every name reads back as it was given, quotes, commas and line feeds included.
        let checks: Vec<String> = ::csv::Reader::from_reader(CHECKS.as_bytes())
            .records()
            .map(|r| r.unwrap()[0].to_owned())
            .collect();
        assert_eq!(checks, [HOSTILE, "status is 201"]);
    }

    #[test]
    fn files_of_an_earlier_run_the_trial_no_longer_has_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        write_csv(dir.path(), &custom()).unwrap();
        write_csv(dir.path(), &plain()).unwrap();
        assert_eq!(names(dir.path()).len(), 3, "{:?}", names(dir.path()));
    }

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
