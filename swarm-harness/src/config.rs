//! The load profile: defaults < scenario attribute < `PT_*` environment < command-line flag,
//! parsed and validated once, with errors that name the setting, the value and the form.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::entry::WaitTime;
use crate::threshold::{ThresholdError, Thresholds};

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
            ConfigError::Invalid { setting, .. } | ConfigError::Threshold { setting, .. } => {
                setting
            }
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
        ConfigError::Invalid {
            setting: self.setting(),
            value: self.value.clone(),
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
    pub host: Option<reqwest::Url>,
    pub report_dir: Option<PathBuf>,
    pub num_requests: Option<u64>,
    pub seed: Option<u64>,
    pub stop_timeout: Option<Duration>,
    /// Replaces every scenario's own thresholds.
    pub thresholds: Option<Thresholds>,
}

const USERS_FORM: &str = "a whole number of users of at least 1, such as 20";
const RATE_FORM: &str = "a number of users per second greater than 0, such as 5 or 0.5";
const DURATION_FORM: &str = "a duration such as 30s, 500ms, 5m or 1h (a bare number means minutes)";
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
                    overrides.users =
                        Some(setting.parse_with(
                            |v| v.parse::<u32>().ok().filter(|n| *n >= 1),
                            USERS_FORM,
                        )?)
                }
                "PT_HATCH_RATE" => {
                    overrides.hatch_rate = Some(setting.parse_with(
                        |v| v.parse::<f64>().ok().filter(|r| r.is_finite() && *r > 0.0),
                        RATE_FORM,
                    )?)
                }
                "PT_DURATION" => {
                    overrides.duration =
                        Some(setting.parse_with(
                            |v| parse_duration(v, DurationUnit::Minutes),
                            DURATION_FORM,
                        )?)
                }
                "PT_STOP_TIMEOUT" => {
                    overrides.stop_timeout = Some(setting.parse_with(
                        |v| parse_duration(v, DurationUnit::Seconds),
                        "a duration such as 2s or 500ms (a bare number means seconds)",
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
                    overrides.num_requests =
                        Some(setting.parse_with(
                            |v| v.parse::<u64>().ok().filter(|n| *n >= 1),
                            COUNT_FORM,
                        )?)
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
                "PT_SEED" => {
                    overrides.seed = Some(setting.parse_with(|v| v.parse().ok(), SEED_FORM)?)
                }
                other => unreachable!("setting {other} has no parser"),
            }
        }
        Ok(overrides)
    }
}

/// What a bare number means in a duration setting.
#[derive(Debug, Clone, Copy)]
pub enum DurationUnit {
    Seconds,
    /// The seed's `PT_DURATION`: "default: 10 [minutes]".
    Minutes,
}

/// Parses `500ms`, `30s`, `1.5s`, `5m`, `1h`, `2h30m`, or a bare number in `bare` units.
pub fn parse_duration(text: &str, bare: DurationUnit) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(number) = text.parse::<f64>() {
        let scale = match bare {
            DurationUnit::Seconds => 1.0,
            DurationUnit::Minutes => 60.0,
        };
        return seconds(number * scale);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&i| i > 0)?;
        let number: f64 = rest[..split].parse().ok()?;
        let after = &rest[split..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let scale = match &after[..unit_len] {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = &after[unit_len..];
    }
    seconds(total)
}

fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value))
}

fn parse_host(text: &str) -> Option<reqwest::Url> {
    let url = reqwest::Url::parse(text).ok()?;
    let scheme_ok = matches!(url.scheme(), "http" | "https");
    (scheme_ok && url.host_str().is_some()).then_some(url)
}

/// The resolved settings of one trial.
#[derive(Debug, Clone, Serialize)]
pub struct LoadProfile {
    pub users: u32,
    pub hatch_rate: f64,
    #[serde(serialize_with = "crate::report::serde_duration::seconds")]
    pub duration: Duration,
    pub host: Option<String>,
    pub num_requests: Option<u64>,
    pub seed: Option<u64>,
    pub wait: Option<WaitTime>,
    #[serde(serialize_with = "crate::report::serde_duration::seconds")]
    pub stop_timeout: Duration,
}

/// What a scenario's attribute says about load, before the environment is applied.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttributeLoad {
    pub users: Option<u32>,
    pub hatch_rate: Option<f64>,
    pub duration: Option<Duration>,
    pub wait: Option<WaitTime>,
}

/// The seed's defaults.
pub const DEFAULT_USERS: u32 = 2;
pub const DEFAULT_HATCH_RATE: f64 = 1.0;
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10 * 60);
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(2);

impl LoadProfile {
    /// Layers defaults < attribute < overrides.
    pub fn resolve(attribute: &AttributeLoad, overrides: &Overrides, host: Option<&str>) -> Self {
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
        }
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
    fn durations_accept_the_documented_forms() {
        let m = DurationUnit::Minutes;
        assert_eq!(parse_duration("10", m), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("0.5", m), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms", m), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s", m), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.5s", m), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m", m), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h", m), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m", m), Some(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("2", DurationUnit::Seconds),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn durations_reject_garbage() {
        for bad in ["", "10x", "s", "-1", "1.2.3s", "abc", "5 m"] {
            assert_eq!(parse_duration(bad, DurationUnit::Minutes), None, "{bad}");
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
        assert!(Overrides::parse(&[raw("PT_HATCH_RATE", "-1")]).is_err());
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
    fn layers_apply_in_order() {
        let attribute = AttributeLoad {
            users: Some(5),
            hatch_rate: Some(2.0),
            duration: None,
            wait: None,
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
}
