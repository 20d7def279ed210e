//! Settings, the bottom of the crate: they configure the other parts and import none of the
//! parts they configure. Layering: defaults < scenario attribute < `PT_*` environment <
//! command-line flag, parsed and validated once, with errors that name the setting, the
//! value and the form.
//!
//! - `table.rs`: the one table: every setting's variable, flag, help, default and parser.
//! - `define.rs`: what a row is, the raw value and its error, the macro behind the table.
//! - `values.rs`: the parsers, the forms their errors name, the defaults.
//! - `docs.rs`: what else is made from the table (clap's flags, the unknown-variable
//!   warning, the README's table).
//! - `profile.rs`: the profile a trial resolves the settings into.
//! - `parts.rs`: the parts a cargo feature leaves out, and the refusal of a setting that asks
//!   for one.
//! - `run_groups.rs`: `PT_RUN_TOGETHER`, the trials that run at the same time.

mod ca_cert;
mod define;
mod docs;
mod parts;
mod profile;
mod run_groups;
mod table;
#[cfg(test)]
mod tests;
mod values;

pub use ca_cert::CaCert;
pub(crate) use define::{ConfigError, RawSetting, Setting, Source};
#[cfg(test)]
use docs::{TABLE_BEGIN, TABLE_END, markdown_table, with_table};
pub(crate) use docs::{clap_args, raw_settings, unknown_variables};
pub(crate) use parts::Part;
pub(crate) use profile::redact;
pub(crate) use profile::{AttributeLoad, redact_host, redact_userinfo_text};
pub use profile::{LoadProfile, WaitTime};
pub use run_groups::RunGroups;
pub use swarm_harness_syntax::duration::{DurationUnit, parse_duration};
use table::SCRIPT_VARIABLES;
#[cfg(test)]
use table::by_env;
pub(crate) use table::{Overrides, SETTINGS};
#[cfg(test)]
pub(crate) use values::{
    DEFAULT_DURATION, DEFAULT_HATCH_RATE, DEFAULT_MAX_USERS, DEFAULT_STALL_TIMEOUT,
    DEFAULT_STOP_TIMEOUT, DEFAULT_USERS, parse_master,
};
#[cfg_attr(
    not(all(feature = "web", feature = "locust")),
    allow(
        unused_imports,
        reason = "the web UI's and the worker's, which a build may leave out"
    )
)]
pub(crate) use values::{
    DEFAULT_MASTER_TIMEOUT, DEFAULT_WEB_MAX_CONNECTIONS, DEFAULT_WEB_PORT, DEFAULT_WEB_TIMEOUT,
};
pub(crate) use values::{DEFAULT_MAX_BODY, DEFAULT_REQUEST_LOG_MAX, DEFAULT_REQUEST_TIMEOUT};
pub use values::{DEFAULT_MAX_NAMES, HttpClient};
