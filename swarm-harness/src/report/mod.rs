//! The report of one trial: the canonical JSON document and its renderings: the stdout
//! summary, Locust-compatible CSV, a self-contained HTML page with charts, and JUnit XML.

pub mod check;
pub mod csv;
mod custom;
mod figures;
mod files;
#[cfg(test)]
mod fixtures;
pub(crate) mod html;
mod json;
mod junit;
mod merge;
mod model;
mod run_group;
mod summary;
mod verdict;

pub use crate::stats::format_micros;
pub use custom::{
    CounterReport, GaugeReport, MetricsReport, RatioReport, TIME_TREND, TooLarge, VALUE_TREND,
};
pub use files::{
    GROUP_DIR, read_dir_reports, write_group_files, write_run_files, write_trial_files,
};
pub use html::{index_page, trial_page};
pub use json::{ReportError, file_stem, read_report, write_atomically, write_report};
pub use junit::junit_xml;
pub use merge::{HistogramProblem, MergeError, merge_run};
pub use model::{
    BuildInput, EntryReport, FORMAT_VERSION, FailureReport, Outcome, Percentiles, Report, Stall,
    TrialIdentity, percent_of,
};
pub use run_group::{GroupPoint, GroupReport, GroupSecond, GroupTrial};
pub use summary::{failure_message, summary_table};
pub use verdict::{breach_table, judge};
