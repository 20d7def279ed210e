//! Writing reports atomically (temp file + rename: a crash never leaves half a report) and
//! reading them back with a clear error for anything that is not one.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{FORMAT_VERSION, Report};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("failed to create report directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a swarm-harness report: {source}")]
    NotAReport {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} has report format_version {found}; this build reads version {FORMAT_VERSION}")]
    UnknownVersion { path: PathBuf, found: String },
}

/// Writes `contents` to `path` atomically.
///
/// # Errors
/// When the directory cannot be created or the file written.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;
    let write_error = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("report");
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&temp).map_err(write_error)?;
    file.write_all(contents).map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    drop(file);
    std::fs::rename(&temp, path).map_err(write_error)
}

/// Writes `<dir>/<trial>.json`; returns its path.
///
/// # Errors
/// When the file cannot be written.
pub fn write_report(dir: &Path, report: &Report) -> Result<PathBuf, ReportError> {
    let path = dir.join(format!("{}.json", file_stem(&report.identity.trial)));
    let json = serde_json::to_vec_pretty(report).expect("reports always serialize");
    write_atomically(&path, &json)?;
    Ok(path)
}

/// A file name for a trial name: `create_app[large]` stays readable, anything a file system
/// could object to becomes `_`.
pub fn file_stem(trial: &str) -> String {
    trial
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '[' | ']' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect()
}

/// Reads a report, checking its format version first.
///
/// # Errors
/// When the file is missing, not JSON, not a report, or of an unknown format version.
pub fn read_report(path: &Path) -> Result<Report, ReportError> {
    let text = std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let not_a_report = |source| ReportError::NotAReport {
        path: path.to_owned(),
        source,
    };
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(not_a_report)?;
    match value.get("format_version") {
        Some(version) if version.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
        Some(version) => {
            return Err(ReportError::UnknownVersion {
                path: path.to_owned(),
                found: version.to_string(),
            });
        }
        None => {
            return Err(not_a_report(serde::de::Error::missing_field(
                "format_version",
            )));
        }
    }
    serde_json::from_value(value).map_err(not_a_report)
}
