//! Writing reports atomically (temp file + rename: a crash never leaves half a report) and
//! reading them back with a clear error for anything that is not one, or whose figures are out
//! of range ([`super::check`]): the one reader every `swarm` subcommand goes through.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

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
    /// A field that does not parse as its type: `requests[0].count` holding `-1`, say.
    #[error("{path} is not a swarm-harness report: {field}: {source}")]
    BadField {
        path: PathBuf,
        field: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {invalid}")]
    Invalid {
        path: PathBuf,
        #[source]
        invalid: super::check::Invalid,
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
    // A fresh name, created exclusively (O_EXCL), in the target's directory so the rename
    // stays on one file system: a predictable name there could be planted beforehand (a
    // symlink to elsewhere) by anyone who can write to a shared report directory.
    let prefix = format!(".{file_name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // Readable as `File::create` made it (subject to the umask), not tempfile's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(dir).map_err(write_error)?;
    temp.write_all(contents).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    // On failure the temporary file is removed when `error.file` drops.
    temp.persist(path)
        .map(drop)
        .map_err(|error| write_error(error.error))
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

/// Only the version, read first so a report of another version gets that error rather than
/// one about a field it names differently.
#[derive(serde::Deserialize)]
struct Version {
    format_version: Option<serde_json::Value>,
}

/// Reads a report, checking its format version first and its figures after
/// ([`super::check::check`]); the report remembers its file.
///
/// # Errors
/// When the file is missing, not JSON, not a report, of an unknown format version, or holds
/// a field out of range or inconsistent (a damaged histogram, say).
pub fn read_report(path: &Path) -> Result<Report, ReportError> {
    let text = std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let not_a_report = |source| ReportError::NotAReport {
        path: path.to_owned(),
        source,
    };
    // Parsed straight into the types (no `serde_json::Value` in between, several times the
    // file's size in memory).
    let version: Version = serde_json::from_slice(&text).map_err(not_a_report)?;
    match version.format_version {
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
    let mut deserializer = serde_json::Deserializer::from_slice(&text);
    let mut report: Report =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            ReportError::BadField {
                path: path.to_owned(),
                field: error.path().to_string(),
                source: error.into_inner(),
            }
        })?;
    deserializer.end().map_err(not_a_report)?;
    super::check::check(&report).map_err(|invalid| ReportError::Invalid {
        path: path.to_owned(),
        invalid,
    })?;
    report.file = Some(path.to_owned());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The temporary name was `.<file>.<pid>.tmp`, opened with `File::create`: a symlink
    /// planted there by another user of a shared directory redirected the write.
    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_old_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "mine").unwrap();
        let planted_name = || format!(".t.json.{}.tmp", std::process::id());
        let planted = dir.path().join(planted_name());
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let target = dir.path().join("t.json");
        write_atomically(&target, b"report").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "report");
        // Nothing left behind but the planted link, and the report readable as before.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [planted_name(), "t.json".into(), "victim".into()]);
        // Readable as a file `File::create` makes under the same umask, not tempfile's 0600.
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        assert_eq!(mode(&target), mode(&plain));
    }
}
