//! What the harness checks and resolves before any load: the finish hook's type, report file
//! names and the report directory, the target, the run's id and shard, the start time.

use std::any::TypeId;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::error::UsageError;
use crate::events::{EventBus, RunEvent};
use crate::report;
use crate::scenario::trials::TrialSpec;
use crate::settings::Overrides;
use crate::user::target::FinishApp;

/// `on_finish_app` takes the type `embedded_app` starts, or the run stops before any load.
pub(super) fn check_finish_type(
    started: Option<(TypeId, &'static str)>,
    finish: Option<&FinishApp>,
) -> Result<(), UsageError> {
    match (started, finish) {
        (_, None) => Ok(()),
        (Some((started, _)), Some(finish)) if started == finish.wanted.0 => Ok(()),
        (Some((_, started)), Some(finish)) => Err(UsageError::FinishTypeMismatch {
            wanted: finish.wanted.1,
            started,
        }),
        (None, Some(finish)) => Err(UsageError::FinishWithoutApp {
            wanted: finish.wanted.1,
        }),
    }
}

/// Two trials whose names map to the same report file would overwrite each other's reports.
pub(super) fn check_report_files(specs: &[TrialSpec]) -> Result<(), UsageError> {
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for spec in specs {
        let stem = report::file_stem(&spec.name);
        if let Some(first) = seen.insert(stem.clone(), &spec.name) {
            return Err(UsageError::SameReportFile {
                first: first.to_owned(),
                second: spec.name.clone(),
                stem,
            });
        }
    }
    Ok(())
}

/// Waits for `PT_START_AT` (already checked to be at most a day ahead); a time in the past
/// starts at once. Ctrl-C ends the wait, and the trials then report the interruption.
pub(super) async fn wait_until(
    at: time::OffsetDateTime,
    events: &EventBus,
    interrupt: &CancellationToken,
) {
    let ahead = at - time::OffsetDateTime::now_utc();
    let Ok(wait) = std::time::Duration::try_from(ahead) else {
        return;
    };
    events.publish(RunEvent::Note(format!(
        "waiting {:.1}s for PT_START_AT={}",
        wait.as_secs_f64(),
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    )));
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = interrupt.cancelled() => {}
    }
}

/// Creates the report directory and proves it writable before any load is sent.
pub(super) fn check_report_dir(dir: &Path) -> Result<(), UsageError> {
    writable(dir).map_err(|source| UsageError::ReportDir {
        dir: dir.display().to_string(),
        source,
    })
}

/// Creates `dir` and writes (then removes) a probe file in it.
fn writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".write-check.{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Creates the request log's directory (`PT_REQUEST_LOG`) and proves it writable before any
/// load is sent.
pub(super) fn check_request_log(overrides: &Overrides) -> Result<(), UsageError> {
    let Some(dir) = &overrides.request_log else {
        return Ok(());
    };
    writable(dir).map_err(|source| UsageError::RequestLog {
        dir: dir.display().to_string(),
        source,
    })
}

/// A multi-threaded runtime, or a single-threaded one when the process may use one CPU only
/// (a container limit, `taskset`): there a second thread only adds cross-thread wake-ups.
pub(super) fn runtime_builder() -> tokio::runtime::Builder {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
}

/// `<cargo target dir>/stress-reports`: the target dir is the ancestor of this binary that
/// holds cargo's `CACHEDIR.TAG` (also under `--target <triple>` and custom target dirs).
pub(super) fn default_report_dir() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
    });
    from_exe
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("stress-reports")
}

/// A run that sends load needs somewhere to send it.
pub(super) fn check_target(
    overrides: &Overrides,
    embedded: bool,
    listing: bool,
) -> Result<(), UsageError> {
    if listing || overrides.host.is_some() || embedded || overrides.locust_master.is_some() {
        return Ok(());
    }
    Err(UsageError::NoTarget)
}

/// The run's report directory and id, with the shard and start time they allow checked.
pub(super) fn run_identity(overrides: &Overrides) -> Result<(PathBuf, String), UsageError> {
    let report_dir = overrides
        .report_dir
        .clone()
        .unwrap_or_else(default_report_dir);
    let nextest = std::env::var("NEXTEST_RUN_ID").ok();
    if let Some(shard) = overrides.shard
        && shard.count > 1
        && overrides.run_id.is_none()
        && nextest.is_none()
    {
        return Err(UsageError::ShardWithoutRunId { shard });
    }
    let run_id =
        crate::run_id::resolve(overrides.run_id.clone(), nextest).map_err(UsageError::RunId)?;
    if let Some(at) = overrides.start_at {
        let ahead = at - time::OffsetDateTime::now_utc();
        if ahead > crate::shard::MAX_START_WAIT {
            return Err(UsageError::StartTooFar {
                at: at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                hours: ahead.as_seconds_f64() / 3600.0,
            });
        }
    }
    Ok((report_dir, run_id))
}
