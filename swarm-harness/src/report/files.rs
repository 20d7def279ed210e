//! Which files a run leaves in the report directory: per trial `<trial>.json`,
//! `<trial>_stats.csv`, `<trial>_stats_history.csv`, `<trial>_failures.csv`, `<trial>.html`,
//! and `<trial>_checks.csv`, `<trial>_metrics.csv`, `<trial>_tags.csv` when the trial has
//! checks, custom metrics or tagged requests; per run `index.html` and `junit.xml`.

use std::path::{Path, PathBuf};

use super::json::{ReportError, file_stem, write_atomically, write_report};
use super::{Report, csv, html, junit};

/// Writes every file of one trial; returns the JSON report's path.
///
/// # Errors
/// When a file cannot be written.
pub fn write_trial_files(dir: &Path, report: &Report) -> Result<PathBuf, ReportError> {
    let json = write_report(dir, report)?;
    csv::write_csv(dir, report)?;
    let page = dir.join(format!("{}.html", file_stem(&report.identity.trial)));
    write_atomically(&page, html::trial_page(report).as_bytes())?;
    Ok(json)
}

/// The folder of the run groups' reports in a report directory: apart from the trials' own
/// `.json` files, which tools read as trial reports.
pub const GROUP_DIR: &str = "run-groups";

/// Writes a run group's report: `run-groups/<group>.json` and `run-groups/<group>.html`; the
/// JSON's path.
///
/// # Errors
/// When a file cannot be written.
pub fn write_group_files(dir: &Path, report: &super::GroupReport) -> Result<PathBuf, ReportError> {
    let dir = dir.join(GROUP_DIR);
    std::fs::create_dir_all(&dir).map_err(|source| ReportError::Write {
        path: dir.clone(),
        source,
    })?;
    let stem = file_stem(&report.run);
    let json = dir.join(format!("{stem}.json"));
    let text = serde_json::to_vec_pretty(report).expect("a group report serializes");
    write_atomically(&json, &text)?;
    write_atomically(&dir.join(format!("{stem}.html")), report.html().as_bytes())?;
    Ok(json)
}

/// Writes the run's `index.html` and `junit.xml` over `reports`.
///
/// # Errors
/// When a file cannot be written.
pub fn write_run_files(dir: &Path, reports: &[Report]) -> Result<(), ReportError> {
    write_atomically(
        &dir.join("index.html"),
        html::index_page(reports).as_bytes(),
    )?;
    write_atomically(&dir.join("junit.xml"), junit::junit_xml(reports).as_bytes())
}

/// Every report in `dir`, sorted by trial name.
///
/// # Errors
/// When the directory cannot be read or one of its `.json` files is not a report.
pub fn read_dir_reports(dir: &Path) -> Result<Vec<Report>, ReportError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ReportError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut reports = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| ReportError::Read {
                path: dir.to_owned(),
                source,
            })?
            .path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if path.extension().is_some_and(|e| e == "json") && !hidden {
            reports.push(super::read_report(&path)?);
        }
    }
    reports.sort_by(|a, b| a.identity.trial.cmp(&b.identity.trial));
    Ok(reports)
}
