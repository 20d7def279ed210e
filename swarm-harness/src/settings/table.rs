//! The settings table: every `PT_*` setting, declared once. Its row is the setting's field
//! and type, variable, flag, value name, default, help and parser; `Overrides`, the flags,
//! `--help`, the unknown-variable warning and the README's table are all made from it.
//! A new setting is one row here, and its use where it is resolved (`profile.rs`, or the
//! part it configures, which reads it from `Overrides`).

use std::path::PathBuf;
use std::time::Duration;

use super::ca_cert::{CaCert, read_certificates};
use swarm_harness_syntax::duration::DurationUnit::{Minutes, Seconds};
use swarm_harness_syntax::threshold::Threshold;

use super::define::{form, settings};
use super::parts::{Part, host, web_switch};
use super::run_groups::RunGroups;
use super::values::*;
use super::{ConfigError, RawSetting};
use crate::shape::Stages;
use crate::shard::ShardId;

/// An hour: the most the web UI or a worker waits.
const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

settings! {
    /// Simulated users per trial.
    users: u32 {
        env: "PT_NUM_CLIENTS", flag: "num-clients", value: "N", default: "2",
        parse: form!(user_count, USERS_FORM),
    }
    /// Users started per second.
    hatch_rate: f64 {
        env: "PT_HATCH_RATE", flag: "hatch-rate", value: "RATE", default: "1",
        parse: form!(positive_rate, RATE_FORM),
    }
    /// How long each trial runs: `30s`, `500ms`, `5m`, `1h`; a bare number means minutes.
    duration: Duration {
        env: "PT_DURATION", flag: "duration", value: "DURATION", default: "10 (minutes)",
        parse: form!(duration_above_zero(Minutes, None), DURATION_FORM),
    }
    /// The base URL of the target.
    host: url::Url {
        env: "PT_HOST", flag: "host", value: "URL",
        default: "the embedded server, if the target has one",
        parse: host,
    }
    /// Where reports are written.
    report_dir: PathBuf {
        env: "PT_REPORT_DIR", flag: "report-dir", value: "DIR",
        default: "`<cargo target dir>/stress-reports`",
        parse: form!(directory, "a directory path"),
    }
    /// Write every request as a line of NDJSON into this directory, one file per trial
    /// (docs/src/request-log.md); the report's request count and its lines agree.
    request_log: PathBuf {
        env: "PT_REQUEST_LOG", flag: "request-log", value: "DIR", default: "off",
        parse: form!(directory, "a directory path"),
    }
    /// The most bytes one request log file holds (`1GiB`, `64MiB`, bytes); the lines past it
    /// are left out, whole, and counted in the report's warnings.
    request_log_max: u64 {
        env: "PT_REQUEST_LOG_MAX", flag: "request-log-max", value: "SIZE", default: "1GiB",
        parse: form!(log_size,
            "a size of at least 1 byte and at most 1TiB, such as 1GiB, 64MiB or 1048576"),
    }
    /// Where a feeder's relative path (`Feeder::csv("accounts.csv")`) is read from
    /// (docs/src/feeders.md).
    data_dir: PathBuf {
        env: "PT_DATA_DIR", flag: "data-dir", value: "DIR",
        default: "the working directory (the package's root under `cargo test`)",
        parse: form!(directory, "a directory path"),
    }
    /// Stop a trial after this many requests (Locust's `-n`).
    num_requests: u64 {
        env: "PT_NUM_REQUESTS", flag: "num-requests", value: "N", default: "none",
        parse: form!(at_least_one, COUNT_FORM),
    }
    /// The seed of task choice and wait times, for reproducible runs.
    seed: u64 {
        env: "PT_SEED", flag: "seed", value: "SEED", default: "random",
        parse: form!(|v: &str| v.parse().ok(), SEED_FORM),
    }
    /// The grace period of users in flight when a trial stops; then they are cancelled.
    stop_timeout: Duration {
        env: "PT_STOP_TIMEOUT", flag: "stop-timeout", value: "DURATION", default: "2s",
        parse: form!(any_seconds, "a duration such as 2s or 500ms (a bare number means seconds)"),
    }
    /// A trial whose requests still wait at the end, waiting this long (or half a shorter
    /// trial) with none completed meanwhile, fails as `stalled`; `off` turns the rule off.
    stall_timeout: Option<Duration> {
        env: "PT_STALL_TIMEOUT", flag: "stall-timeout", value: "DURATION", default: "10s",
        parse: form!(stall_timeout,
            "a duration such as 10s or 1m (a bare number means seconds), or off"),
    }
    /// Pass/fail criteria separated by `;`, replacing the scenarios' own:
    /// `p95 < 200ms; fail_ratio < 1%`.
    thresholds: Vec<Threshold> {
        env: "PT_THRESHOLDS", flag: "thresholds", value: "EXPRESSIONS",
        default: "the attribute's",
        parse: thresholds,
    }
    /// Open model: iterations started per second, whatever their duration.
    arrival_rate: f64 {
        env: "PT_ARRIVAL_RATE", flag: "arrival-rate", value: "RATE", default: "closed model",
        parse: form!(positive_rate,
            "a number of iterations per second from 0.001 to 1000000, such as 200"),
    }
    /// Open model: the most users serving iterations at once.
    max_users: u32 {
        env: "PT_MAX_USERS", flag: "max-users", value: "N", default: "100",
        parse: form!(user_count, USERS_FORM),
    }
    /// A ramp `DURATION:TARGET,...` such as `30s:10,1m:50,30s:0`: users, or iterations/s in
    /// the open model; the trial lasts the stages' total.
    stages: Stages {
        env: "PT_STAGES", flag: "stages", value: "STAGES", default: "none",
        parse: form!(|v| Stages::parse(v).ok(),
            "stages `DURATION:TARGET,...` with targets from 0 to 1000000, such as 30s:10,1m:50,30s:0"),
    }
    /// A PEM file of extra CA certificates to trust for HTTPS (a staging CA, a self-signed
    /// certificate).
    ca_certs: Vec<CaCert> {
        env: "PT_CA_CERT", flag: "ca-cert", value: "FILE", default: "the platform's roots",
        part: Part::Tls,
        parse: form!(read_certificates, "a readable PEM file holding at least one CA certificate"),
    }
    /// The most one request may take (connect, TLS, redirects, whole body), unless it sets
    /// `.timeout(..)`.
    request_timeout: Duration {
        env: "PT_REQUEST_TIMEOUT", flag: "request-timeout", value: "DURATION", default: "60s",
        parse: form!(duration_above_zero(Seconds, None),
            "a duration above 0 such as 30s or 500ms (a bare number means seconds)"),
    }
    /// Response body bytes kept in memory per response (`8MiB`, `512KiB`, bytes); the rest
    /// is drained and counted.
    max_body: usize {
        env: "PT_MAX_BODY", flag: "max-body", value: "SIZE", default: "8MiB",
        parse: form!(parse_bytes,
            "a size of at least 1 byte and at most 1GiB, such as 8MiB, 512KiB or 1048576"),
    }
    /// Distinct request names, and distinct failure groups, per trial; more fold into one
    /// entry.
    max_names: usize {
        env: "PT_MAX_NAMES", flag: "max-names", value: "N", default: "1000",
        parse: form!(count_to(1_000_000), "a whole number from 1 to 1000000, such as 1000"),
    }
    /// Run only the trials of parametrized scenarios with this parameter.
    only_with_param: String {
        env: "PT_ONLY_WITH_PARAM", flag: "only-with-param", value: "P", default: "all",
        // Any text: one no trial has is refused with the parameters there are.
        parse: form!(|v: &str| Some(v.to_owned()), "a parameter of a scenario's `params`"),
    }
    /// Trials that run at the same time, each with its own load model, thresholds and report:
    /// `mix=browse,api` (groups split by `;`), as the `run = ".."` attribute says.
    run_together: RunGroups {
        env: "PT_RUN_TOGETHER", flag: "run-together", value: "GROUP=TRIAL,..",
        default: "the `run = \"..\"` attributes",
        parse: form!(RunGroups::parse,
            "GROUP=TRIAL,TRIAL (groups split by ;), such as mix=browse,api: each trial once, \
             group names without , = or ;"),
    }
    /// The port of the live web UI, Locust's API and `/metrics`; 0 takes any free port.
    web_port: u16 {
        env: "PT_LOCUST_PORT", flag: "web-port", value: "PORT",
        default: "8089 (a free port when that is taken)",
        part: Part::Web,
        parse: form!(|v: &str| v.parse().ok(),
            "a port number from 0 to 65535 (0 takes any free port), such as 8089"),
    }
    /// `off` turns the web UI off; `on` serves it on a Locust worker too.
    web: bool {
        env: "PT_WEB", flag: "web", value: "on|off",
        default: "on (off on a Locust worker unless `PT_LOCUST_PORT` is set)",
        parse: web_switch,
    }
    /// The address the web UI listens on; beyond loopback it requires `PT_WEB_TOKEN`.
    web_host: std::net::IpAddr {
        env: "PT_WEB_HOST", flag: "web-host", value: "IP", default: "127.0.0.1",
        part: Part::Web,
        parse: form!(listen_address, "an IP address to listen on, such as 127.0.0.1 or 0.0.0.0"),
    }
    /// A token (8+ printable characters) every web request must carry:
    /// `Authorization: Bearer <token>`, or the password of the browser's Basic prompt.
    web_token: String {
        env: "PT_WEB_TOKEN", flag: "web-token", value: "TOKEN", default: "none",
        secret: true,
        part: Part::Web,
        parse: form!(token, "a token of at least 8 printable characters without spaces"),
    }
    /// The most the web UI waits for a client's request head or body, or for it to read a
    /// response.
    web_timeout: Duration {
        env: "PT_WEB_TIMEOUT", flag: "web-timeout", value: "DURATION", default: "10s",
        part: Part::Web,
        parse: form!(duration_above_zero(Seconds, HOUR),
            "a duration above 0 and at most 1h, such as 10s (a bare number means seconds)"),
    }
    /// Connections the web UI serves at once; more are answered 503 and closed.
    web_max_connections: usize {
        env: "PT_WEB_MAX_CONNECTIONS", flag: "web-max-connections", value: "N", default: "256",
        part: Part::Web,
        parse: form!(count_to(65_536), "a whole number from 1 to 65536, such as 256"),
    }
    /// `false`: each trial waits for a start from the page or `POST /swarm`, and the page
    /// stays up after the last trial until Ctrl-C.
    web_autostart: bool {
        env: "PT_WEB_AUTOSTART", flag: "web-autostart", value: "true|false", default: "true",
        part: Part::Web,
        parse: form!(switch, "true or false"),
    }
    /// The users' HTTP client: `lean` (HTTP/1.1, fastest) or `reqwest` (HTTP/2, proxies,
    /// compressed responses).
    http: HttpClient {
        env: "PT_HTTP", flag: "http", value: "lean|reqwest", default: "lean",
        parse: form!(http_client, HTTP_FORM),
    }
    /// What the processes of one run share: `index.html` and `junit.xml` list every report
    /// in the report directory with this id.
    run_id: String {
        env: "PT_RUN_ID", flag: "run-id", value: "ID",
        default: "`NEXTEST_RUN_ID` under cargo-nextest, else new per process",
        parse: form!(crate::run_id::parse, crate::run_id::RUN_ID_FORM),
    }
    /// Run this process's slice `i/n` of every trial, 1-based (`2/4` is the second of four;
    /// docs/src/distribution.md); needs `PT_RUN_ID`.
    shard: ShardId {
        env: "PT_SHARD", flag: "shard", value: "i/n", default: "unset: the whole trial",
        parse: shard,
    }
    /// Start the first trial at this time (RFC 3339 or Unix seconds, at most 24 h ahead), so
    /// shards start together.
    start_at: time::OffsetDateTime {
        env: "PT_START_AT", flag: "start-at", value: "TIME", default: "unset: at once",
        parse: form!(crate::shard::parse_start_at, crate::shard::START_AT_FORM),
    }
    /// Work for this Locust master (`locust --master`): `HOST:PORT` of its worker port
    /// (5557).
    locust_master: String {
        env: "PT_LOCUST_MASTER", flag: "locust-master", value: "HOST:PORT", default: "unset",
        part: Part::Locust,
        parse: form!(parse_master, MASTER_FORM),
    }
    /// How long to wait for an unreachable or silent Locust master, then stop with the
    /// reports written.
    locust_master_timeout: Duration {
        env: "PT_LOCUST_MASTER_TIMEOUT", flag: "locust-master-timeout", value: "DURATION",
        default: "60s",
        part: Part::Locust,
        parse: form!(duration_above_zero(Seconds, HOUR),
            "a duration above 0 and at most 1h, such as 30s (a bare number means seconds)"),
    }
}

/// A variable a script reads, not the harness: listed with the settings, never warned about.
#[cfg_attr(not(test), allow(dead_code))]
pub(super) struct ScriptVariable {
    /// The variable.
    pub env: &'static str,
    /// Who reads it, and what it does.
    pub help: &'static str,
    /// Its default as the docs state it.
    pub default: &'static str,
}

/// The variables of the scripts beside the harness.
pub(super) static SCRIPT_VARIABLES: &[ScriptVariable] = &[ScriptVariable {
    env: "PT_LOCUST_FILE",
    help: "(`run_stress_tests.sh`) the stress test file to run",
    default: "`platform-tests/tests/stress.rs`",
}];

impl Overrides {
    /// Parses every raw setting through its row's parser; the first invalid one is the error.
    pub fn parse(raw: &[RawSetting]) -> Result<Self, ConfigError> {
        let mut overrides = Overrides::default();
        for setting in raw {
            (setting.setting.apply)(&mut overrides, setting)?;
        }
        Ok(overrides)
    }
}

/// The row of a variable.
#[cfg(test)]
pub(crate) fn by_env(env: &str) -> Option<&'static super::Setting> {
    SETTINGS.iter().find(|setting| setting.env == env)
}
