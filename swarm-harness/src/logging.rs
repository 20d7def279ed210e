//! The harness's own warnings and errors, which reach stderr whatever logger the process has.
//!
//! The team's logger wins: env_logger is installed only when no logger is installed by the
//! time the first trial starts (after the embedded target, whose setup may install its own
//! with `.expect(..)`). But a team's logger may drop what it hears (a tracing subscriber that
//! writes to `std::io::sink` unless `TEST_LOG` is set, as many test setups do), so while ours
//! is not the process's logger, the harness's lines are also written to stderr themselves:
//! once through the team's logger, which may drop them, and once here, where nothing can.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether env_logger, ours, is the process's logger.
static OURS: AtomicBool = AtomicBool::new(false);

/// Installs env_logger, so `log` warnings and worse reach stderr (`RUST_LOG` chooses
/// otherwise), unless a logger is installed already: a test binary's own, or the one the
/// app's setup installed while the embedded target started.
pub(crate) fn install() {
    let installed = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("warn,rustls_platform_verifier=off"),
    )
    .try_init()
    .is_ok();
    // A second run in one process (tests do that) finds ours installed by the first.
    if installed {
        OURS.store(true, Ordering::Relaxed);
    }
}

/// Logs one line of the harness at `level` under `target` (the module that logs, as `log`'s own
/// macros name it, so `RUST_LOG=swarm_harness::locust=..` still chooses); on stderr too while
/// the logger is not ours.
pub(crate) fn emit(target: &str, level: log::Level, args: std::fmt::Arguments<'_>) {
    if !OURS.load(Ordering::Relaxed) && level <= log::Level::Warn {
        let label = if level == log::Level::Error {
            "error"
        } else {
            "warning"
        };
        eprintln!("{label}: {args}");
    }
    log::log!(target: target, level, "{args}");
}

/// `log::warn!`, also on stderr when the process's logger is the team's.
macro_rules! warning {
    ($($arg:tt)+) => {
        $crate::logging::emit(module_path!(), log::Level::Warn, format_args!($($arg)+))
    };
}

/// `log::error!`, also on stderr when the process's logger is the team's.
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::logging::emit(module_path!(), log::Level::Error, format_args!($($arg)+))
    };
}

pub(crate) use {error, warning};
