//! The load profile: defaults < scenario attribute < `PT_*` environment < command-line flag,
//! parsed and validated once, with errors that name the setting, the value and the form.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::entry::WaitTime;
use rustls::pki_types::CertificateDer;

use crate::shape::Stages;
use crate::shard::ShardId;
use crate::threshold::{ThresholdError, Thresholds};
pub use swarm_harness_syntax::duration::{DurationUnit, parse_duration};
use swarm_harness_syntax::limits;

/// Where a raw setting came from; used to word errors the way the user wrote the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Env,
    Flag,
}

/// A setting that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("invalid {setting}={value:?}: expected {expected}")]
    Invalid {
        /// `PT_NUM_CLIENTS` or `--num-clients`, as the user wrote it.
        setting: String,
        value: String,
        expected: &'static str,
    },
    /// A value whose problem needs more words than the expected form (`PT_SHARD=4/3`).
    #[error("invalid {setting}={value:?}: {problem}")]
    Problem {
        setting: String,
        value: String,
        problem: String,
    },
    #[error("invalid {setting}: {source}")]
    Threshold {
        setting: String,
        #[source]
        source: ThresholdError,
    },
}

impl ConfigError {
    /// The setting as the user wrote it.
    pub fn setting(&self) -> &str {
        match self {
            ConfigError::Invalid { setting, .. }
            | ConfigError::Problem { setting, .. }
            | ConfigError::Threshold { setting, .. } => setting,
        }
    }
}

/// One raw setting as given on the command line or in the environment.
#[derive(Debug, Clone)]
pub struct RawSetting {
    pub env: &'static str,
    pub flag: &'static str,
    pub value: String,
    pub source: Source,
}

impl RawSetting {
    fn setting(&self) -> String {
        match self.source {
            Source::Env => self.env.to_owned(),
            Source::Flag => self.flag.to_owned(),
        }
    }

    fn error(&self, expected: &'static str) -> ConfigError {
        // A URL that does not parse may still hold a password: it is not echoed.
        let value = match self.env {
            "PT_HOST" => redact_host(&self.value),
            // A secret is never echoed, not even a malformed one.
            "PT_WEB_TOKEN" => "(hidden)".to_owned(),
            _ => self.value.clone(),
        };
        ConfigError::Invalid {
            setting: self.setting(),
            value,
            expected,
        }
    }

    fn parse_with<T>(
        &self,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &'static str,
    ) -> Result<T, ConfigError> {
        parse(self.value.trim()).ok_or_else(|| self.error(expected))
    }
}

/// Settings given by environment or flag, parsed; each overrides the scenario attribute.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub users: Option<u32>,
    pub hatch_rate: Option<f64>,
    pub duration: Option<Duration>,
    pub host: Option<url::Url>,
    pub report_dir: Option<PathBuf>,
    pub num_requests: Option<u64>,
    pub seed: Option<u64>,
    pub stop_timeout: Option<Duration>,
    /// The stall rule's window; `Some(None)` turns it off (`PT_STALL_TIMEOUT=off`).
    pub stall_timeout: Option<Option<Duration>>,
    /// Replaces every scenario's own thresholds.
    pub thresholds: Option<Thresholds>,
    pub arrival_rate: Option<f64>,
    pub max_users: Option<u32>,
    pub stages: Option<Stages>,
    /// Extra trusted root certificates for HTTPS targets.
    pub ca_certs: Option<Vec<CertificateDer<'static>>>,
    /// The timeout of requests that set none.
    pub request_timeout: Option<Duration>,
    /// Response body bytes kept in memory.
    pub max_body: Option<usize>,
    /// Distinct request names (and failure groups) per trial.
    pub max_names: Option<usize>,
    /// Whether the live web UI is served (`PT_WEB`).
    pub web: Option<bool>,
    /// The web UI's port (`PT_LOCUST_PORT`); 0 takes any free one.
    pub web_port: Option<u16>,
    /// The address the web UI listens on.
    pub web_host: Option<std::net::IpAddr>,
    /// The token every web request must carry.
    pub web_token: Option<String>,
    /// Whether trials start by themselves (`PT_WEB_AUTOSTART`).
    pub web_autostart: Option<bool>,
    /// The most the web UI waits on a client (`PT_WEB_TIMEOUT`).
    pub web_timeout: Option<Duration>,
    /// Connections the web UI serves at once (`PT_WEB_MAX_CONNECTIONS`).
    pub web_max_connections: Option<usize>,
    /// The HTTP client of every user (`PT_HTTP`).
    pub http: Option<crate::http::transport::HttpClient>,
    /// The id the processes of one run share (`PT_RUN_ID`).
    pub run_id: Option<String>,
    /// This process's slice of every trial (`PT_SHARD`).
    pub shard: Option<crate::shard::ShardId>,
    /// When the first trial starts (`PT_START_AT`), so shards on several machines start
    /// together.
    pub start_at: Option<time::OffsetDateTime>,
    /// The Locust master this process works for (`PT_LOCUST_MASTER`), `host:port`.
    pub locust_master: Option<String>,
    /// How long to wait for an unreachable or silent master (`PT_LOCUST_MASTER_TIMEOUT`).
    pub locust_master_timeout: Option<Duration>,
}

const USERS_FORM: &str = "a whole number of users from 1 to 1000000, such as 20";
const RATE_FORM: &str = "a number of users per second from 0.001 to 1000000, such as 5 or 0.5";
const DURATION_FORM: &str = "a duration above 0 and at most a year, such as 30s, 500ms, 5m or 1h (a bare number means minutes)";
const HOST_FORM: &str = "an http:// or https:// base URL, such as http://127.0.0.1:8000";
const COUNT_FORM: &str = "a whole number of at least 1, such as 1000";
const SEED_FORM: &str = "a whole number, such as 42";

impl Overrides {
    /// Parses every raw setting; the first invalid one is the error.
    pub fn parse(raw: &[RawSetting]) -> Result<Self, ConfigError> {
        let mut overrides = Overrides::default();
        for setting in raw {
            match setting.env {
                "PT_NUM_CLIENTS" => {
                    overrides.users = Some(setting.parse_with(user_count, USERS_FORM)?)
                }
                "PT_HATCH_RATE" => {
                    overrides.hatch_rate = Some(setting.parse_with(positive_rate, RATE_FORM)?)
                }
                "PT_DURATION" => {
                    overrides.duration = Some(setting.parse_with(
                        |v| parse_duration(v, DurationUnit::Minutes).filter(|d| !d.is_zero()),
                        DURATION_FORM,
                    )?)
                }
                "PT_REQUEST_TIMEOUT" => {
                    overrides.request_timeout = Some(setting.parse_with(
                        |v| parse_duration(v, DurationUnit::Seconds).filter(|d| !d.is_zero()),
                        "a duration above 0 such as 30s or 500ms (a bare number means seconds)",
                    )?)
                }
                "PT_MAX_BODY" => {
                    overrides.max_body = Some(setting.parse_with(
                        parse_bytes,
                        "a size of at least 1 byte and at most 1GiB, such as 8MiB, 512KiB or 1048576",
                    )?)
                }
                "PT_MAX_NAMES" => {
                    overrides.max_names = Some(setting.parse_with(
                        |v| at_least_one::<usize>(v).filter(|n| *n <= 1_000_000),
                        "a whole number from 1 to 1000000, such as 1000",
                    )?)
                }
                "PT_STOP_TIMEOUT" => {
                    overrides.stop_timeout = Some(setting.parse_with(
                        |v| parse_duration(v, DurationUnit::Seconds),
                        "a duration such as 2s or 500ms (a bare number means seconds)",
                    )?)
                }
                "PT_STALL_TIMEOUT" => {
                    overrides.stall_timeout = Some(setting.parse_with(
                        |v| match v {
                            "off" => Some(None),
                            v => parse_duration(v, DurationUnit::Seconds)
                                .filter(|d| !d.is_zero())
                                .map(Some),
                        },
                        "a duration such as 10s or 1m (a bare number means seconds), or off",
                    )?)
                }
                "PT_HOST" => overrides.host = Some(setting.parse_with(parse_host, HOST_FORM)?),
                "PT_REPORT_DIR" => {
                    overrides.report_dir = Some(setting.parse_with(
                        |v| (!v.is_empty()).then(|| PathBuf::from(v)),
                        "a directory path",
                    )?)
                }
                "PT_NUM_REQUESTS" => {
                    overrides.num_requests = Some(setting.parse_with(at_least_one, COUNT_FORM)?)
                }
                "PT_THRESHOLDS" => {
                    let parsed = Thresholds::parse_list(&setting.value).map_err(|source| {
                        ConfigError::Threshold {
                            setting: setting.setting(),
                            source,
                        }
                    })?;
                    overrides.thresholds = Some(parsed);
                }
                "PT_ARRIVAL_RATE" => {
                    overrides.arrival_rate = Some(setting.parse_with(
                        positive_rate,
                        "a number of iterations per second from 0.001 to 1000000, such as 200",
                    )?)
                }
                "PT_MAX_USERS" => {
                    overrides.max_users = Some(setting.parse_with(user_count, USERS_FORM)?)
                }
                "PT_STAGES" => {
                    overrides.stages = Some(setting.parse_with(
                        |v| Stages::parse(v).ok(),
                        "stages `DURATION:TARGET,...` with targets from 0 to 1000000, such as 30s:10,1m:50,30s:0",
                    )?)
                }
                "PT_CA_CERT" => {
                    overrides.ca_certs = Some(setting.parse_with(
                        read_certificates,
                        "a readable PEM file holding at least one CA certificate",
                    )?)
                }
                "PT_SEED" => {
                    overrides.seed = Some(setting.parse_with(|v| v.parse().ok(), SEED_FORM)?)
                }
                "PT_WEB" => overrides.web = Some(setting.parse_with(switch, "on or off")?),
                "PT_HTTP" => {
                    overrides.http = Some(setting.parse_with(
                        |v| match v.to_ascii_lowercase().as_str() {
                            "lean" => Some(crate::http::transport::HttpClient::Lean),
                            "reqwest" if crate::http::reqwest_versions::HAS_REQWEST => {
                                Some(crate::http::transport::HttpClient::Reqwest)
                            }
                            _ => None,
                        },
                        if crate::http::reqwest_versions::HAS_REQWEST {
                            "lean (the fast HTTP/1.1 client) or reqwest (HTTP/2, proxies, \
                             compression)"
                        } else {
                            "lean: this stress target is built without reqwest (the \
                             swarm-harness feature reqwest-0-13 or reqwest-0-12 adds it)"
                        },
                    )?)
                }
                "PT_WEB_AUTOSTART" => {
                    overrides.web_autostart = Some(setting.parse_with(switch, "true or false")?)
                }
                "PT_LOCUST_PORT" => {
                    overrides.web_port = Some(setting.parse_with(
                        |v| v.parse().ok(),
                        "a port number from 0 to 65535 (0 takes any free port), such as 8089",
                    )?)
                }
                "PT_WEB_HOST" => {
                    overrides.web_host = Some(setting.parse_with(
                        |v| match v {
                            "localhost" => Some(std::net::Ipv4Addr::LOCALHOST.into()),
                            _ => v.parse().ok(),
                        },
                        "an IP address to listen on, such as 127.0.0.1 or 0.0.0.0",
                    )?)
                }
                "PT_WEB_TIMEOUT" => {
                    overrides.web_timeout = Some(setting.parse_with(
                        |v| {
                            parse_duration(v, DurationUnit::Seconds)
                                .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
                        },
                        "a duration above 0 and at most 1h, such as 10s (a bare number means seconds)",
                    )?)
                }
                "PT_WEB_MAX_CONNECTIONS" => {
                    overrides.web_max_connections = Some(setting.parse_with(
                        |v| at_least_one::<usize>(v).filter(|n| *n <= 65_536),
                        "a whole number from 1 to 65536, such as 256",
                    )?)
                }
                "PT_WEB_TOKEN" => {
                    overrides.web_token = Some(setting.parse_with(
                        |v| {
                            (v.len() >= 8 && v.bytes().all(|b| b.is_ascii_graphic()))
                                .then(|| v.to_owned())
                        },
                        "a token of at least 8 printable characters without spaces",
                    )?)
                }
                "PT_RUN_ID" => {
                    overrides.run_id =
                        Some(setting.parse_with(crate::run_id::parse, crate::run_id::RUN_ID_FORM)?)
                }
                "PT_SHARD" => {
                    let shard = crate::shard::parse(setting.value.trim()).map_err(|problem| {
                        ConfigError::Problem {
                            setting: setting.setting(),
                            value: setting.value.clone(),
                            problem,
                        }
                    })?;
                    overrides.shard = Some(shard);
                }
                "PT_START_AT" => {
                    overrides.start_at = Some(setting.parse_with(
                        crate::shard::parse_start_at,
                        crate::shard::START_AT_FORM,
                    )?)
                }
                "PT_LOCUST_MASTER" => {
                    overrides.locust_master = Some(setting.parse_with(
                        parse_master,
                        MASTER_FORM,
                    )?)
                }
                "PT_LOCUST_MASTER_TIMEOUT" => {
                    overrides.locust_master_timeout = Some(setting.parse_with(
                        |v| {
                            parse_duration(v, DurationUnit::Seconds)
                                .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
                        },
                        "a duration above 0 and at most 1h, such as 30s (a bare number means seconds)",
                    )?)
                }
                other => unreachable!("setting {other} has no parser"),
            }
        }
        Ok(overrides)
    }
}

/// `on`/`off` and their usual spellings.
fn switch(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A whole number of at least 1.
fn at_least_one<T: std::str::FromStr + PartialOrd + From<u8>>(text: &str) -> Option<T> {
    text.parse::<T>().ok().filter(|n| *n >= T::from(1))
}

/// A user count within [`limits::MAX_USERS`].
fn user_count(text: &str) -> Option<u32> {
    at_least_one::<u32>(text).filter(|n| limits::users_in_range(u64::from(*n)))
}

/// A rate within [`limits::MIN_RATE`] and [`limits::MAX_RATE`].
fn positive_rate(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|r| limits::rate_in_range(*r))
}

/// `8MiB`, `512KiB`, `1GiB`, `64kB`, `10MB` or a number of bytes; 1 byte to 1 GiB.
fn parse_bytes(text: &str) -> Option<usize> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..split].parse().ok()?;
    let scale: u64 = match text[split..].trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    let bytes = number.checked_mul(scale)?;
    (1..=1 << 30).contains(&bytes).then_some(bytes as usize)
}

/// Every `PT_*` variable the harness and its scripts read.
pub const KNOWN_VARIABLES: &[&str] = &[
    "PT_NUM_CLIENTS",
    "PT_HATCH_RATE",
    "PT_DURATION",
    "PT_HOST",
    "PT_REPORT_DIR",
    "PT_NUM_REQUESTS",
    "PT_SEED",
    "PT_STOP_TIMEOUT",
    "PT_STALL_TIMEOUT",
    "PT_THRESHOLDS",
    "PT_ARRIVAL_RATE",
    "PT_MAX_USERS",
    "PT_STAGES",
    "PT_CA_CERT",
    "PT_REQUEST_TIMEOUT",
    "PT_MAX_BODY",
    "PT_MAX_NAMES",
    "PT_ONLY_WITH_PARAM",
    "PT_LOCUST_PORT",
    "PT_WEB",
    "PT_WEB_HOST",
    "PT_WEB_TOKEN",
    "PT_WEB_AUTOSTART",
    "PT_WEB_TIMEOUT",
    "PT_WEB_MAX_CONNECTIONS",
    "PT_HTTP",
    "PT_RUN_ID",
    "PT_SHARD",
    "PT_START_AT",
    "PT_LOCUST_MASTER",
    "PT_LOCUST_MASTER_TIMEOUT",
    // Read by run_stress_tests.sh (the seeds' name).
    "PT_LOCUST_FILE",
];

/// A warning for every `PT_*` variable in `names` that the harness does not read, naming the
/// closest known one: a typo must not silently fall back to a default.
pub fn unknown_variables<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut warnings: Vec<String> = names
        .filter(|name| name.starts_with("PT_") && !KNOWN_VARIABLES.contains(name))
        .map(|name| {
            let closest = KNOWN_VARIABLES
                .iter()
                .map(|known| (strsim::levenshtein(name, known), *known))
                .min()
                .filter(|(distance, _)| *distance <= 4);
            match closest {
                Some((_, known)) => {
                    format!("unknown variable {name} is ignored; did you mean {known}?")
                }
                None => format!(
                    "unknown variable {name} is ignored; the PT_* variables are listed by --help"
                ),
            }
        })
        .collect();
    warnings.sort();
    warnings
}

/// Every certificate in the PEM file at `path`; `None` when it cannot be read or holds none.
fn read_certificates(path: &str) -> Option<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).ok()?;
    let certificates: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .ok()?;
    (!certificates.is_empty()).then_some(certificates)
}

fn parse_host(text: &str) -> Option<url::Url> {
    let url = url::Url::parse(text).ok()?;
    let scheme_ok = matches!(url.scheme(), "http" | "https");
    (scheme_ok && url.host_str().is_some()).then_some(url)
}

/// The resolved settings of one trial.
#[derive(Debug, Clone, Serialize)]
pub struct LoadProfile {
    pub users: u32,
    pub hatch_rate: f64,
    #[serde(serialize_with = "crate::config::serde_duration::seconds")]
    pub duration: Duration,
    /// The base URL; shown (and serialized) with any credentials redacted.
    #[serde(serialize_with = "serialize_host")]
    pub host: Option<String>,
    pub num_requests: Option<u64>,
    pub seed: Option<u64>,
    pub wait: Option<WaitTime>,
    #[serde(serialize_with = "crate::config::serde_duration::seconds")]
    pub stop_timeout: Duration,
    /// How long no request may complete while requests wait before the trial counts as
    /// stalled (`PT_STALL_TIMEOUT`); `None`: never.
    #[serde(serialize_with = "serialize_optional_seconds")]
    pub stall_timeout: Option<Duration>,
    /// Open model: iterations per second (the start rate when there are stages).
    pub arrival_rate: Option<f64>,
    /// Open model: the most users at once.
    pub max_users: u32,
    /// A ramp; its targets are users, or iterations per second in the open model.
    #[serde(serialize_with = "serialize_stages")]
    pub stages: Option<Stages>,
    /// The timeout of requests that set none (`PT_REQUEST_TIMEOUT`).
    #[serde(serialize_with = "crate::config::serde_duration::seconds")]
    pub request_timeout: Duration,
    /// Response body bytes kept in memory (`PT_MAX_BODY`).
    pub max_body: usize,
    /// Distinct request names and failure groups kept (`PT_MAX_NAMES`).
    pub max_names: usize,
    /// The users' HTTP client (`PT_HTTP`, or the `http` option).
    pub http: crate::http::transport::HttpClient,
}

/// `scheme://user:pw@rest` as `scheme://***@rest`, for text that may not be a valid URL.
fn redact_userinfo_text(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => text.to_owned(),
    }
}

/// A base URL as it may be shown: user name and password replaced by `***`, also when it
/// does not parse.
pub fn redact_host(host: &str) -> String {
    match url::Url::parse(host) {
        Ok(url) => crate::user::request::redact(&url),
        Err(_) => redact_userinfo_text(host),
    }
}

/// Seconds, or `null` when off.
fn serialize_optional_seconds<S: serde::Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_some(&duration.as_secs_f64()),
        None => serializer.serialize_none(),
    }
}

fn serialize_host<S: serde::Serializer>(
    host: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match host {
        None => serializer.serialize_none(),
        Some(host) => serializer.serialize_str(&redact_host(host)),
    }
}

fn serialize_stages<S: serde::Serializer>(
    stages: &Option<Stages>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match stages {
        None => serializer.serialize_none(),
        Some(stages) => serializer.collect_str(&format_args!(
            "{}",
            stages
                .0
                .iter()
                .map(|s| format!("{:?}:{}", s.duration, s.target))
                .collect::<Vec<_>>()
                .join(",")
        )),
    }
}

/// What a scenario's attribute says about load, before the environment is applied.
#[derive(Debug, Clone, Default)]
pub struct AttributeLoad {
    pub users: Option<u32>,
    pub hatch_rate: Option<f64>,
    pub duration: Option<Duration>,
    pub wait: Option<WaitTime>,
    pub arrival_rate: Option<f64>,
    pub max_users: Option<u32>,
    pub stages: Option<Stages>,
    pub http: Option<crate::http::transport::HttpClient>,
}

/// The seed's defaults.
pub const DEFAULT_USERS: u32 = 2;
pub const DEFAULT_HATCH_RATE: f64 = 1.0;
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10 * 60);
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// Open model: the pool's size when neither `max_users` nor `PT_MAX_USERS` says.
pub const DEFAULT_MAX_USERS: u32 = 100;

impl LoadProfile {
    /// The part of a whole trial's profile this shard runs: its users, hatch rate, request limit,
    /// arrival rate and most users. Stages and custom shapes are sliced as they tick
    /// (`shard::Sliced`).
    pub fn slice(&self, shard: ShardId) -> LoadProfile {
        let whole = self;
        let mut profile = whole.clone();
        profile.users = shard.part(u64::from(whole.users)) as u32;
        profile.hatch_rate = shard.part_of_rate(whole.hatch_rate);
        profile.num_requests = whole.num_requests.map(|n| shard.part(n));
        profile.arrival_rate = whole.arrival_rate.map(|r| shard.part_of_rate(r));
        // The open model needs a user to serve its share of the rate, however small.
        profile.max_users = (shard.part(u64::from(whole.max_users)) as u32).max(1);
        profile
    }

    /// Why a shard has nothing to run of a trial, if it has nothing: fewer users or requests than
    /// shards leave some shards out.
    pub fn idle_reason(
        &self,
        sliced: &LoadProfile,
        shard: ShardId,
        shaped: bool,
    ) -> Option<String> {
        let whole = self;
        if sliced.num_requests == Some(0) {
            return Some(format!(
                "shard {shard} has no part of the request limit of {} (PT_NUM_REQUESTS): nothing ran here",
                whole.num_requests.unwrap_or(0)
            ));
        }
        let closed_fixed = whole.arrival_rate.is_none() && whole.stages.is_none() && !shaped;
        (closed_fixed && sliced.users == 0).then(|| {
            format!(
                "shard {shard} has no part of {} users: nothing ran here",
                whole.users
            )
        })
    }

    /// Layers defaults < attribute < overrides. Stages set the duration: their total.
    pub fn resolve(attribute: &AttributeLoad, overrides: &Overrides, host: Option<&str>) -> Self {
        let mut profile = Self::layer(attribute, overrides, host);
        if let Some(stages) = &profile.stages {
            profile.duration = stages.total();
        }
        profile
    }

    /// One line saying what the trial will do.
    pub fn describe(&self, custom_shape: bool) -> String {
        let shape = match (&self.stages, custom_shape) {
            (Some(stages), _) => format!(
                "stages {}",
                stages
                    .0
                    .iter()
                    .map(|s| format!("{:?}:{}", s.duration, s.target))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            (None, true) => "a custom load shape".to_owned(),
            (None, false) => String::new(),
        };
        match (self.arrival_rate, shape.is_empty()) {
            (Some(rate), true) => format!(
                "open model, {rate} iterations/s, at most {} users, for {:?}",
                self.max_users, self.duration
            ),
            (Some(_), false) => format!(
                "open model, {shape} (iterations/s), at most {} users",
                self.max_users
            ),
            (None, false) => format!(
                "closed model, {shape} (users), for at most {:?}",
                self.duration
            ),
            (None, true) => format!(
                "{} users at {}/s for {:?}",
                self.users, self.hatch_rate, self.duration
            ),
        }
    }

    fn layer(attribute: &AttributeLoad, overrides: &Overrides, host: Option<&str>) -> Self {
        LoadProfile {
            users: overrides.users.or(attribute.users).unwrap_or(DEFAULT_USERS),
            hatch_rate: overrides
                .hatch_rate
                .or(attribute.hatch_rate)
                .unwrap_or(DEFAULT_HATCH_RATE),
            duration: overrides
                .duration
                .or(attribute.duration)
                .unwrap_or(DEFAULT_DURATION),
            host: host.map(str::to_owned),
            num_requests: overrides.num_requests,
            seed: overrides.seed,
            wait: attribute.wait,
            stop_timeout: overrides.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
            stall_timeout: overrides
                .stall_timeout
                .unwrap_or(Some(DEFAULT_STALL_TIMEOUT)),
            arrival_rate: overrides.arrival_rate.or(attribute.arrival_rate),
            max_users: overrides
                .max_users
                .or(attribute.max_users)
                .unwrap_or(DEFAULT_MAX_USERS),
            stages: overrides
                .stages
                .clone()
                .or_else(|| attribute.stages.clone()),
            request_timeout: overrides
                .request_timeout
                .unwrap_or(crate::http::session::DEFAULT_REQUEST_TIMEOUT),
            max_body: overrides
                .max_body
                .unwrap_or(crate::http::http1::DEFAULT_MAX_BODY),
            max_names: overrides
                .max_names
                .unwrap_or(crate::stats::DEFAULT_MAX_NAMES),
            http: overrides.http.or(attribute.http).unwrap_or_default(),
        }
    }
}

/// What `PT_LOCUST_MASTER` accepts.
pub const MASTER_FORM: &str = "HOST:PORT of a Locust master's worker port, such as 127.0.0.1:5557";

/// How long a worker waits for an unreachable or silent master by default.
pub const DEFAULT_MASTER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Parses `host:port` (an IPv6 host in brackets).
pub fn parse_master(text: &str) -> Option<String> {
    let (host, port) = text.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let host = host.trim();
    let valid_host = !host.is_empty()
        && host.len() <= 253
        && (host.parse::<std::net::Ipv4Addr>().is_ok()
            || host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    valid_host.then(|| format!("{host}:{port}"))
}

/// The default of `PT_STALL_TIMEOUT`.
pub const DEFAULT_STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Durations in reports are seconds as floating-point numbers.
pub(crate) mod serde_duration {
    use std::time::Duration;

    use serde::Serializer;

    /// `duration` as seconds.
    pub fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(env: &'static str, value: &str) -> RawSetting {
        RawSetting {
            env,
            flag: "--flag",
            value: value.to_owned(),
            source: Source::Env,
        }
    }

    #[test]
    fn invalid_values_name_the_variable_value_and_form() {
        let error = Overrides::parse(&[raw("PT_NUM_CLIENTS", "abc")]).unwrap_err();
        assert_eq!(error.setting(), "PT_NUM_CLIENTS");
        assert_eq!(
            error.to_string(),
            format!("invalid PT_NUM_CLIENTS=\"abc\": expected {USERS_FORM}")
        );
        assert!(Overrides::parse(&[raw("PT_NUM_CLIENTS", "0")]).is_err());
        assert!(Overrides::parse(&[raw("PT_DURATION", "10x")]).is_err());
        assert!(Overrides::parse(&[raw("PT_HOST", "not-a-url")]).is_err());
        assert!(Overrides::parse(&[raw("PT_HOST", "ftp://x")]).is_err());
        let secret = Overrides::parse(&[raw("PT_HOST", "https://admin:s3cret@host:99999/x")])
            .unwrap_err()
            .to_string();
        assert!(secret.contains("\"https://***@host:99999/x\""), "{secret}");
        assert!(Overrides::parse(&[raw("PT_HATCH_RATE", "-1")]).is_err());
        for (key, bad) in [
            ("PT_DURATION", "0s"),
            ("PT_DURATION", "1e30"),
            ("PT_NUM_CLIENTS", "1000001"),
            ("PT_HATCH_RATE", "1e-300"),
            ("PT_HATCH_RATE", "inf"),
            ("PT_ARRIVAL_RATE", "0.0000001"),
            ("PT_STAGES", "1s:1e12"),
            ("PT_REQUEST_TIMEOUT", "0"),
            ("PT_STALL_TIMEOUT", "0"),
            ("PT_STALL_TIMEOUT", "never"),
            ("PT_MAX_BODY", "2GiB"),
            ("PT_MAX_BODY", "-1"),
            ("PT_MAX_NAMES", "0"),
            ("PT_LOCUST_PORT", "65536"),
            ("PT_LOCUST_PORT", "-1"),
            ("PT_LOCUST_PORT", "80a"),
            ("PT_WEB", "maybe"),
            ("PT_WEB_AUTOSTART", "2"),
            ("PT_WEB_HOST", "example.com"),
            ("PT_WEB_HOST", "127.0.0.1:80"),
            ("PT_WEB_TOKEN", "short"),
            ("PT_WEB_TOKEN", "has a space in it"),
            ("PT_WEB_TIMEOUT", "0"),
            ("PT_WEB_TIMEOUT", "2h"),
            ("PT_WEB_MAX_CONNECTIONS", "0"),
            ("PT_WEB_MAX_CONNECTIONS", "100000"),
            ("PT_HTTP", "curl"),
        ] {
            let error = Overrides::parse(&[raw(key, bad)]).unwrap_err();
            assert_eq!(error.setting(), key, "{key}={bad}");
        }
        // A token is a secret: never echoed, even when malformed.
        let token = Overrides::parse(&[raw("PT_WEB_TOKEN", "s3cr t")]).unwrap_err();
        assert!(!token.to_string().contains("s3cr"), "{token}");
        let web = Overrides::parse(&[
            raw("PT_WEB", "off"),
            raw("PT_LOCUST_PORT", "0"),
            raw("PT_WEB_HOST", "::"),
            raw("PT_WEB_AUTOSTART", "false"),
        ])
        .unwrap();
        assert_eq!(
            (web.web, web.web_port, web.web_autostart),
            (Some(false), Some(0), Some(false))
        );
        assert!(web.web_host.is_some_and(|ip| ip.is_unspecified()));
        let parsed =
            Overrides::parse(&[raw("PT_MAX_BODY", "8MiB"), raw("PT_MAX_NAMES", "50")]).unwrap();
        assert_eq!(
            (parsed.max_body, parsed.max_names),
            (Some(8 << 20), Some(50))
        );
        let flag = RawSetting {
            source: Source::Flag,
            flag: "--num-clients",
            ..raw("PT_NUM_CLIENTS", "x")
        };
        assert_eq!(
            Overrides::parse(&[flag]).unwrap_err().setting(),
            "--num-clients"
        );
        let thresholds = Overrides::parse(&[raw("PT_THRESHOLDS", "p95 < 2parsecs")]).unwrap_err();
        assert!(
            thresholds
                .to_string()
                .starts_with("invalid PT_THRESHOLDS: invalid threshold")
        );
    }

    #[test]
    fn unknown_variables_name_the_closest_known_one() {
        let warnings =
            unknown_variables(["PT_NUM_CLIENT", "PT_HOST", "PATH", "PT_ZZZZZZZZZZZZZ"].into_iter());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("PT_NUM_CLIENT is ignored; did you mean PT_NUM_CLIENTS?"))
        );
    }

    #[test]
    fn load_model_settings_parse() {
        let overrides = Overrides::parse(&[
            raw("PT_ARRIVAL_RATE", "200"),
            raw("PT_MAX_USERS", "50"),
            raw("PT_STAGES", "30s:10,1m:50,30s:0"),
        ])
        .unwrap();
        assert_eq!(
            (overrides.arrival_rate, overrides.max_users),
            (Some(200.0), Some(50))
        );
        let profile = LoadProfile::resolve(&AttributeLoad::default(), &overrides, None);
        assert_eq!(
            profile.duration,
            Duration::from_secs(120),
            "stages set the duration"
        );
        assert!(profile.describe(false).starts_with("open model"));
        for (key, bad) in [
            ("PT_ARRIVAL_RATE", "0"),
            ("PT_MAX_USERS", "-1"),
            ("PT_STAGES", "30s"),
        ] {
            let error = Overrides::parse(&[raw(key, bad)]).unwrap_err();
            assert_eq!(error.setting(), key);
        }
    }

    #[test]
    fn layers_apply_in_order() {
        let attribute = AttributeLoad {
            users: Some(5),
            hatch_rate: Some(2.0),
            ..AttributeLoad::default()
        };
        let none = LoadProfile::resolve(&attribute, &Overrides::default(), None);
        assert_eq!((none.users, none.hatch_rate), (5, 2.0));
        assert_eq!(none.duration, DEFAULT_DURATION);
        let overrides = Overrides::parse(&[raw("PT_NUM_CLIENTS", "9")]).unwrap();
        let env = LoadProfile::resolve(&attribute, &overrides, None);
        assert_eq!((env.users, env.hatch_rate), (9, 2.0));
        let defaults = LoadProfile::resolve(&AttributeLoad::default(), &Overrides::default(), None);
        assert_eq!((defaults.users, defaults.hatch_rate), (2, 1.0));
    }

    #[test]
    fn the_http_client_layers_like_the_load() {
        use crate::http::transport::HttpClient;
        let attribute = AttributeLoad {
            http: Some(HttpClient::Reqwest),
            ..AttributeLoad::default()
        };
        let none = Overrides::default();
        assert_eq!(
            LoadProfile::resolve(&AttributeLoad::default(), &none, None).http,
            HttpClient::Lean
        );
        assert_eq!(
            LoadProfile::resolve(&attribute, &none, None).http,
            HttpClient::Reqwest
        );
        let lean = Overrides::parse(&[raw("PT_HTTP", "lean")]).unwrap();
        assert_eq!(
            LoadProfile::resolve(&attribute, &lean, None).http,
            HttpClient::Lean
        );
    }
}
