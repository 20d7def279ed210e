//! What stops a run before any load is sent: a usage error, printed as one line naming the
//! value and what was expected, with exit code 2.

use crate::scenario::trials::TrialError;
use crate::settings::ConfigError;
use crate::shard::ShardId;

/// A run that cannot start as configured.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UsageError {
    /// A `PT_*` value or flag that does not parse, or asks for a part left out of the build.
    #[error(transparent)]
    Setting(#[from] ConfigError),
    /// The scenarios do not make valid trials, or no trial has the asked-for parameter.
    #[error(transparent)]
    Trials(#[from] TrialError),
    #[error(transparent)]
    RunGroups(#[from] crate::scenario::runs::RunError),
    #[error(
        "{trial} keeps {users} users live, which need about {needed} open files (a connection \
         each, and {} for the harness), but this process may open {soft} (ulimit -n; its hard \
         limit is {hard}): raise the hard limit (`ulimit -Hn` as root, `LimitNOFILE=` in \
         systemd, `--ulimit nofile=` in docker), run fewer users, or split the run over \
         processes with PT_SHARD",
        super::open_files::RESERVE
    )]
    OpenFiles {
        trial: String,
        users: u64,
        needed: u64,
        soft: u64,
        hard: u64,
    },
    #[error(
        "no #[stress_test] scenario is linked into this binary. If the scenarios live in a \
         library crate, name that crate in the stress target (`use my_scenarios as _;`) so its \
         registrations are linked."
    )]
    NoScenario,
    #[error("no trial is left after the filters")]
    NoTrialLeft,
    #[error(
        "trials {first:?} and {second:?} would write the same report file {stem}.json; rename \
         one of them with `name = \"..\"`"
    )]
    SameReportFile {
        first: String,
        second: String,
        stem: String,
    },
    #[error(
        "Harness::on_finish_app takes a {wanted}, but Harness::embedded_app starts a {started}"
    )]
    FinishTypeMismatch {
        wanted: &'static str,
        started: &'static str,
    },
    #[error("Harness::on_finish_app takes a {wanted}, but no Harness::embedded_app starts one")]
    FinishWithoutApp { wanted: &'static str },
    #[error(
        "no target to send load to: set PT_HOST (or --host) to the base URL of the service, \
         such as http://127.0.0.1:8000, or give the stress target an embedded server \
         (Harness::embedded_target)"
    )]
    NoTarget,
    #[error(
        "PT_SHARD={shard} needs PT_RUN_ID (or --run-id): the same id in every shard, such as a \
         CI run id, so `swarm merge` knows their reports belong together"
    )]
    ShardWithoutRunId { shard: ShardId },
    /// `NEXTEST_RUN_ID` is not a run id.
    #[error("{0}")]
    RunId(String),
    #[error(
        "invalid PT_START_AT: {at} is {hours:.0} hours away; at most 24 hours ahead is accepted"
    )]
    StartTooFar { at: String, hours: f64 },
    #[error("invalid PT_REPORT_DIR={dir:?}: cannot write reports there: {source}")]
    ReportDir { dir: String, source: std::io::Error },
    #[error("invalid PT_REQUEST_LOG={dir:?}: cannot write the request log there: {source}")]
    RequestLog { dir: String, source: std::io::Error },
    #[error("failed to start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("failed to start the embedded target: {0:#}")]
    EmbeddedTarget(anyhow::Error),
    /// The web UI's port could not be bound or served.
    #[error("{0}")]
    Web(String),
    /// The Locust worker could not start, or asked for in a build without it.
    #[error("{0}")]
    Locust(String),
    /// A feeder's file is missing or holds a bad row.
    #[error(transparent)]
    Feed(crate::FeedError),
}
