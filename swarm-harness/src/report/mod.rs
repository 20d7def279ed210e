//! The report of one trial: the canonical JSON document and its renderings (stdout summary;
//! CSV, HTML and JUnit come from the same `Report`).

mod histogram;
mod json;
mod model;
pub mod serde_duration;
mod summary;

pub use json::{ReportError, read_report, write_report};
pub use model::{
    BuildInput, EntryReport, FORMAT_VERSION, FailureReport, Percentiles, Report, TrialIdentity,
};
pub use summary::{failure_message, format_micros, summary_table};
