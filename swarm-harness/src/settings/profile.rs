//! The profile a trial runs with: its attribute's load (`AttributeLoad`) layered under the
//! settings (`Overrides`) over the defaults, and how it is shown and serialized (credentials
//! in URLs never are).

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::Overrides;
use super::values::*;
use crate::shape::Stages;
use crate::shard::ShardId;

/// Locust's four wait-time functions, applied after every task.
///
/// Reports show it as written in the attribute, e.g. `"between(1s, 3s)"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaitTime {
    /// A uniformly random wait in `[min, max]`.
    Between(Duration, Duration),
    /// Always the same wait.
    Constant(Duration),
    /// Start a task at most every given interval: wait `interval - task time`.
    ConstantPacing(Duration),
    /// At most this many tasks per second per user (pacing of `1 / n` seconds).
    ConstantThroughput(f64),
}

impl std::fmt::Display for WaitTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitTime::Between(min, max) => write!(f, "between({min:?}, {max:?})"),
            WaitTime::Constant(wait) => write!(f, "constant({wait:?})"),
            WaitTime::ConstantPacing(interval) => write!(f, "constant_pacing({interval:?})"),
            WaitTime::ConstantThroughput(rate) => write!(f, "constant_throughput({rate})"),
        }
    }
}

impl Serialize for WaitTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl WaitTime {
    /// The interval a pacing wait time keeps between task starts, if it is one.
    pub fn pacing(&self) -> Option<Duration> {
        match *self {
            WaitTime::ConstantPacing(interval) => Some(interval),
            WaitTime::ConstantThroughput(rate) => Some(Duration::from_secs_f64(1.0 / rate)),
            WaitTime::Between(..) | WaitTime::Constant(_) => None,
        }
    }
}

/// The resolved settings of one trial.
#[derive(Debug, Clone, Serialize)]
pub struct LoadProfile {
    pub users: u32,
    pub hatch_rate: f64,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// Whether the duration was given (attribute, environment or flag) rather than the
    /// default: a custom load shape runs until it ends unless one was.
    #[serde(skip)]
    pub duration_set: bool,
    /// The base URL; shown (and serialized) with any credentials redacted.
    #[serde(serialize_with = "serialize_host")]
    pub host: Option<String>,
    pub num_requests: Option<u64>,
    pub seed: Option<u64>,
    pub wait: Option<WaitTime>,
    #[serde(serialize_with = "seconds")]
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
    #[serde(serialize_with = "seconds")]
    pub request_timeout: Duration,
    /// Response body bytes kept in memory (`PT_MAX_BODY`).
    pub max_body: usize,
    /// Distinct request names and failure groups kept (`PT_MAX_NAMES`).
    pub max_names: usize,
    /// The users' HTTP client (`PT_HTTP`, or the `http` option).
    pub http: HttpClient,
}

/// Every `scheme://user:pw@rest` in `text` as `scheme://***@rest`: for a value that may not be
/// a valid URL, and for error text that quotes URLs (reqwest's `for url (..)`).
/// Borrowed, with no copy, when there are none (a failure's message, most of the time).
pub(crate) fn redact_userinfo_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        shown.push_str(head);
        // The authority ends where a path, query or fragment starts, or the quoting text does.
        let end = tail
            .find(['/', '?', '#', ' ', ')', '"', '\'', '>', '\n'])
            .unwrap_or(tail.len());
        rest = match tail[..end].rfind('@') {
            Some(userinfo_end) => {
                shown.push_str("***");
                &tail[userinfo_end..]
            }
            None => tail,
        };
    }
    shown.push_str(rest);
    std::borrow::Cow::Owned(shown)
}

/// A base URL as it may be shown: user name and password replaced by `***`, also when it
/// does not parse.
pub(crate) fn redact_host(host: &str) -> String {
    match url::Url::parse(host) {
        Ok(url) => redact(&url),
        Err(_) => redact_userinfo_text(host).into_owned(),
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
    pub http: Option<HttpClient>,
}

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
            (None, false) if custom_shape && self.stages.is_none() && !self.duration_set => {
                format!(
                    "closed model, {shape} (users), until the shape ends (give PT_DURATION to \
                     bound it)"
                )
            }
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
            duration_set: overrides.duration.or(attribute.duration).is_some(),
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
            request_timeout: overrides.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            max_body: overrides.max_body.unwrap_or(DEFAULT_MAX_BODY),
            max_names: overrides.max_names.unwrap_or(DEFAULT_MAX_NAMES),
            http: overrides.http.or(attribute.http).unwrap_or_default(),
        }
    }
}

/// A URL as it may be shown: its user name and password replaced by `***`.
pub(crate) fn redact(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    let _ = shown.set_username("***");
    shown.to_string()
}

/// Durations in reports are seconds as floating-point numbers.
fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}
