//! The parsers of the settings table, the forms their errors name, and the defaults: each
//! default is a constant here, which the parts it configures use and a test holds equal to
//! the default the table documents.

use std::path::PathBuf;
use std::time::Duration;

use swarm_harness_syntax::duration::{DurationUnit, parse_duration};
use swarm_harness_syntax::limits;
use swarm_harness_syntax::threshold::Threshold;

use super::{ConfigError, RawSetting};

/// Simulated users per trial, unless the attribute or a setting says (the seeds' 2).
pub(crate) const DEFAULT_USERS: u32 = 2;
/// Users started per second.
pub(crate) const DEFAULT_HATCH_RATE: f64 = 1.0;
/// How long a trial runs: the seeds' 10 minutes.
pub(crate) const DEFAULT_DURATION: Duration = Duration::from_secs(10 * 60);
/// The grace period of users in flight when a trial stops.
pub(crate) const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// Open model: the pool's size when neither `max_users` nor `PT_MAX_USERS` says.
pub(crate) const DEFAULT_MAX_USERS: u32 = 100;
/// The default of `PT_STALL_TIMEOUT`.
pub(crate) const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The timeout of requests that set none (`PT_REQUEST_TIMEOUT`): a request (connect, TLS,
/// redirects and the whole body) that takes longer fails. k6's and Locust's FastHttpUser's
/// default too.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Response body bytes kept in memory (`PT_MAX_BODY`): 8 MiB.
pub(crate) const DEFAULT_MAX_BODY: usize = 8 * 1024 * 1024;
/// The most a trial's request log file holds (`PT_REQUEST_LOG_MAX`): 1 GiB, far more than a
/// look at a run needs, far less than fills a CI runner's disk.
pub(crate) const DEFAULT_REQUEST_LOG_MAX: u64 = 1 << 30;
/// Distinct request names (and failure groups) per trial (`PT_MAX_NAMES`).
pub const DEFAULT_MAX_NAMES: usize = 1_000;
/// The web UI's port, Locust's (`PT_LOCUST_PORT`).
#[cfg_attr(not(feature = "web"), allow(dead_code, reason = "the web UI's"))]
pub(crate) const DEFAULT_WEB_PORT: u16 = 8089;
/// The most the web UI waits on a client (`PT_WEB_TIMEOUT`): ample for any client on a
/// network, short enough that a socket held by a client that sends nothing is back within
/// seconds.
#[cfg_attr(not(feature = "web"), allow(dead_code, reason = "the web UI's"))]
pub(crate) const DEFAULT_WEB_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections the web UI serves at once (`PT_WEB_MAX_CONNECTIONS`): far above what a few
/// browser tabs and scrapers open (a browser opens at most 6 per origin), far below a default
/// descriptor limit of 1024.
#[cfg_attr(not(feature = "web"), allow(dead_code, reason = "the web UI's"))]
pub(crate) const DEFAULT_WEB_MAX_CONNECTIONS: usize = 256;
/// How long a worker waits for an unreachable or silent master (`PT_LOCUST_MASTER_TIMEOUT`).
#[cfg_attr(
    not(feature = "locust"),
    allow(dead_code, reason = "the Locust worker's")
)]
pub(crate) const DEFAULT_MASTER_TIMEOUT: Duration = Duration::from_secs(60);

/// Which client sends a session's requests (`PT_HTTP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpClient {
    /// The lean HTTP/1.1 client.
    #[default]
    Lean,
    /// reqwest: HTTP/2, proxies, decompression.
    Reqwest,
}

/// Whether this build has a reqwest to run `PT_HTTP=reqwest` on.
const HAS_REQWEST: bool = cfg!(any(feature = "reqwest-0-12", feature = "reqwest-0-13"));

pub(crate) const USERS_FORM: &str = "a whole number of users from 1 to 1000000, such as 20";
pub(crate) const RATE_FORM: &str =
    "a number of users per second from 0.001 to 1000000, such as 5 or 0.5";
pub(crate) const DURATION_FORM: &str = "a duration above 0 and at most a year, such as 30s, 500ms, 5m or 1h (a bare number means minutes)";
pub(crate) const HOST_FORM: &str = "an http:// or https:// base URL, such as http://127.0.0.1:8000";
pub(crate) const COUNT_FORM: &str = "a whole number of at least 1, such as 1000";
pub(crate) const SEED_FORM: &str = "a whole number, such as 42";
/// What `PT_LOCUST_MASTER` accepts.
pub(crate) const MASTER_FORM: &str =
    "HOST:PORT of a Locust master's worker port, such as 127.0.0.1:5557";
pub(crate) const HTTP_FORM: &str = if HAS_REQWEST {
    "lean (the fast HTTP/1.1 client) or reqwest (HTTP/2, proxies, compression)"
} else {
    "lean: this stress target is built without reqwest (the swarm-harness feature \
     reqwest-0-13 or reqwest-0-12 adds it)"
};

/// `on`/`off` and their usual spellings.
pub(crate) fn switch(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A whole number of at least 1.
pub(crate) fn at_least_one<T: std::str::FromStr + PartialOrd + From<u8>>(text: &str) -> Option<T> {
    text.parse::<T>().ok().filter(|n| *n >= T::from(1))
}

/// A whole number from 1 to `max`.
pub(crate) fn count_to(max: usize) -> impl Fn(&str) -> Option<usize> {
    move |text| at_least_one::<usize>(text).filter(|n| *n <= max)
}

/// A user count within [`limits::MAX_USERS`].
pub(crate) fn user_count(text: &str) -> Option<u32> {
    at_least_one::<u32>(text).filter(|n| limits::users_in_range(u64::from(*n)))
}

/// A rate within [`limits::MIN_RATE`] and [`limits::MAX_RATE`].
pub(crate) fn positive_rate(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|r| limits::rate_in_range(*r))
}

/// A duration above 0 (a bare number in `unit`), at most `max` when given.
pub(crate) fn duration_above_zero(
    unit: DurationUnit,
    max: Option<Duration>,
) -> impl Fn(&str) -> Option<Duration> {
    move |text| {
        parse_duration(text, unit).filter(|d| !d.is_zero() && max.is_none_or(|max| *d <= max))
    }
}

/// A duration, 0 included (a bare number means seconds).
pub(crate) fn any_seconds(text: &str) -> Option<Duration> {
    parse_duration(text, DurationUnit::Seconds)
}

/// `PT_STALL_TIMEOUT`: a duration above 0, or `off` (`Some(None)`).
pub(crate) fn stall_timeout(text: &str) -> Option<Option<Duration>> {
    match text {
        "off" => Some(None),
        text => duration_above_zero(DurationUnit::Seconds, None)(text).map(Some),
    }
}

/// `8MiB`, `512KiB`, `1GiB`, `64kB`, `10MB` or a number of bytes; 1 byte to 1 GiB.
pub(crate) fn parse_bytes(text: &str) -> Option<usize> {
    size_to(text, 1 << 30).map(|bytes| bytes as usize)
}

/// The bound of a request log file: a size as [`parse_bytes`] reads it, 1 byte to 1 TiB.
pub(crate) fn log_size(text: &str) -> Option<u64> {
    size_to(text, 1 << 40)
}

/// A size with an optional unit (`KiB` .. `TiB`, `kB` .. `TB`), from 1 byte to `max`.
fn size_to(text: &str, max: u64) -> Option<u64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..split].parse().ok()?;
    let scale: u64 = match text[split..].trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return None,
    };
    let bytes = number.checked_mul(scale)?;
    (1..=max).contains(&bytes).then_some(bytes)
}

/// A base URL: http or https, with a host.
pub(crate) fn parse_host(text: &str) -> Option<url::Url> {
    let url = url::Url::parse(text).ok()?;
    let scheme_ok = matches!(url.scheme(), "http" | "https");
    (scheme_ok && url.host_str().is_some()).then_some(url)
}

/// A directory path, not empty.
pub(crate) fn directory(text: &str) -> Option<PathBuf> {
    (!text.is_empty()).then(|| PathBuf::from(text))
}

/// `lean`, or `reqwest` when this build has one.
pub(crate) fn http_client(text: &str) -> Option<HttpClient> {
    match text.to_ascii_lowercase().as_str() {
        "lean" => Some(HttpClient::Lean),
        "reqwest" if HAS_REQWEST => Some(HttpClient::Reqwest),
        _ => None,
    }
}

/// An address to listen on; `localhost` is 127.0.0.1.
pub(crate) fn listen_address(text: &str) -> Option<std::net::IpAddr> {
    match text {
        "localhost" => Some(std::net::Ipv4Addr::LOCALHOST.into()),
        text => text.parse().ok(),
    }
}

/// A token of at least 8 printable characters, without spaces.
pub(crate) fn token(text: &str) -> Option<String> {
    (text.len() >= 8 && text.bytes().all(|b| b.is_ascii_graphic())).then(|| text.to_owned())
}

/// Parses `host:port` (an IPv6 host in brackets).
pub(crate) fn parse_master(text: &str) -> Option<String> {
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

/// `PT_THRESHOLDS`: expressions separated by `;` or new lines.
pub(crate) fn thresholds(raw: &RawSetting) -> Result<Vec<Threshold>, ConfigError> {
    raw.value
        .split([';', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(Threshold::parse)
        .collect::<Result<_, _>>()
        .map_err(|source| ConfigError::Threshold {
            setting: raw.name(),
            source,
        })
}

/// `PT_SHARD`: `i/n`, with a problem that says what is wrong.
pub(crate) fn shard(raw: &RawSetting) -> Result<crate::shard::ShardId, ConfigError> {
    crate::shard::parse(raw.value.trim()).map_err(|problem| raw.problem(problem))
}
