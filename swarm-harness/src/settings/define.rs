//! What a row of the settings table is (`Setting`), a value as the user gave it
//! (`RawSetting`), the error a bad one is (`ConfigError`), and the `settings!` macro that turns
//! the table into all of them at once.

/// Where a raw setting came from; used to word errors the way the user wrote the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A `PT_*` environment variable.
    Env,
    /// A command-line flag.
    Flag,
}

/// A setting that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A value not of the setting's form.
    #[error("invalid {setting}={value:?}: expected {expected}")]
    Invalid {
        /// `PT_NUM_CLIENTS` or `--num-clients`, as the user wrote it.
        setting: String,
        /// The value, with any credentials or secret hidden.
        value: String,
        /// The form the setting accepts.
        expected: &'static str,
    },
    /// A value whose problem needs more words than the expected form (`PT_SHARD=4/3`).
    #[error("invalid {setting}={value:?}: {problem}")]
    Problem {
        /// The setting as the user wrote it.
        setting: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A setting that asks for a part this build leaves out (`PT_WEB=on` without `web`).
    #[error("{setting}={value:?} {}", part.missing())]
    LeftOut {
        /// The setting as the user wrote it.
        setting: String,
        /// The value, with any credentials or secret hidden.
        value: String,
        /// The part it asks for.
        part: super::Part,
    },
    /// Threshold expressions that do not parse.
    #[error("invalid {setting}: {source}")]
    Threshold {
        /// The setting as the user wrote it.
        setting: String,
        /// Which expression, and why.
        #[source]
        source: swarm_harness_syntax::threshold::ThresholdError,
    },
}

impl ConfigError {
    /// The setting as the user wrote it.
    pub fn setting(&self) -> &str {
        match self {
            ConfigError::Invalid { setting, .. }
            | ConfigError::Problem { setting, .. }
            | ConfigError::LeftOut { setting, .. }
            | ConfigError::Threshold { setting, .. } => setting,
        }
    }
}

/// One row of the settings table: everything about a setting, declared once. The flags,
/// `--help`, the unknown-variable warning and the README's table are all made from these.
pub struct Setting {
    /// The field of `Overrides` it sets, and clap's id for its flag.
    pub id: &'static str,
    /// Its environment variable.
    pub env: &'static str,
    /// Its flag, without the leading `--`.
    pub flag: &'static str,
    /// The placeholder of its value in `--help`.
    pub value_name: &'static str,
    /// What it does: the doc lines of its row.
    pub help: &'static [&'static str],
    /// Its default as the docs state it.
    pub default: &'static str,
    /// A secret: never echoed, not even in `--help` or an error.
    pub secret: bool,
    /// The part of the harness every value asks for, if it is one a build may leave out.
    pub(crate) part: Option<super::Part>,
    /// Parses a raw value into its field of `Overrides`.
    pub(crate) apply: fn(&mut super::Overrides, &RawSetting) -> Result<(), ConfigError>,
}

impl Setting {
    /// Its help as one line.
    pub fn help_text(&self) -> String {
        self.help
            .iter()
            .map(|line| line.trim())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `--flag`.
    pub fn long_flag(&self) -> String {
        format!("--{}", self.flag)
    }
}

impl std::fmt::Debug for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setting").field("env", &self.env).finish()
    }
}

/// One raw setting as given on the command line or in the environment.
#[derive(Debug, Clone)]
pub struct RawSetting {
    /// Its row of the table.
    pub setting: &'static Setting,
    /// The text given.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

impl RawSetting {
    /// The setting as the user wrote it: its variable or its flag.
    pub(crate) fn name(&self) -> String {
        match self.source {
            Source::Env => self.setting.env.to_owned(),
            Source::Flag => self.setting.long_flag(),
        }
    }

    /// The value as an error may show it: a secret hidden, a URL's credentials masked.
    pub(super) fn shown(&self) -> String {
        if self.setting.secret {
            "(hidden)".to_owned()
        } else {
            // As typed, but for a URL's credentials: not normalized by a URL parser.
            super::profile::redact_userinfo_text(&self.value).into_owned()
        }
    }

    /// The value is not of the form `expected`.
    pub(crate) fn error(&self, expected: &'static str) -> ConfigError {
        ConfigError::Invalid {
            setting: self.name(),
            value: self.shown(),
            expected,
        }
    }

    /// The value has a problem that needs its own words.
    pub(crate) fn problem(&self, problem: String) -> ConfigError {
        ConfigError::Problem {
            setting: self.name(),
            value: self.shown(),
            problem,
        }
    }

    /// The trimmed value through `parse`, or the error naming `expected`.
    pub(crate) fn parse_with<T>(
        &self,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &'static str,
    ) -> Result<T, ConfigError> {
        parse(self.value.trim()).ok_or_else(|| self.error(expected))
    }
}

/// A parser of the table from a `fn(&str) -> Option<T>` and the form it accepts.
macro_rules! form {
    ($parse:expr, $expected:expr) => {
        |raw: &$crate::settings::RawSetting| raw.parse_with($parse, $expected)
    };
}
pub(crate) use form;

/// The settings table: each row declares a setting's field and type, variable, flag, value
/// name, default, help (its doc lines) and parser, and the macro makes `Overrides` (one
/// `Option` field a row) and `SETTINGS` (the rows). A row without a parser does not match
/// the macro: a compile error, never a setting that fails at run time.
macro_rules! settings {
    (@part) => { None };
    (@part $part:expr) => { Some($part) };
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty {
            env: $env:literal,
            flag: $flag:literal,
            value: $value:literal,
            default: $default:literal,
            $(secret: $secret:literal,)?
            $(part: $part:expr,)?
            parse: $parse:expr $(,)?
        }
    )+) => {
        /// Settings given by environment or flag, parsed; each overrides the scenario
        /// attribute. One field a row of the settings table.
        #[derive(Debug, Clone, Default)]
        pub struct Overrides {
            $( $(#[doc = $doc])+ pub $field: Option<$ty>, )+
        }

        /// Every setting, in the order `--help` and the README list them.
        pub(crate) static SETTINGS: &[$crate::settings::Setting] = &[$(
            $crate::settings::Setting {
                id: stringify!($field),
                env: $env,
                flag: $flag,
                value_name: $value,
                help: &[$($doc),+],
                default: $default,
                secret: false $(|| $secret)?,
                part: settings!(@part $($part)?),
                apply: |overrides, raw| {
                    // Every value of a setting of a left-out part is refused: it asks for
                    // the part.
                    $(if !$part.built() {
                        return Err(raw.left_out($part));
                    })?
                    overrides.$field = Some(($parse)(raw)?);
                    Ok(())
                },
            },
        )+];
    };
}
pub(crate) use settings;
