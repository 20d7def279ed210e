//! Statistics: per-(kind, name) request entries and per-task entries with HDR histograms,
//! grouped failures and a per-second timeline.
//!
//! Users record into one of several sharded recorders (never a lock shared by all users);
//! a collector merges the shards once a second (HDR `add` is exact) into the run's totals.

mod collector;
mod custom;
mod entry;
mod failures;
pub mod histogram;
mod recorder;
mod tap;

pub use collector::{Collector, Interval, Snapshot, TimelinePoint};
pub use custom::{GaugeReading, Metrics, Named, Ratio, TrendEntry};
pub use entry::{Entry, EntryTable, Overflow, PERCENTILES, quantile_of_percent};
pub use failures::{
    FailureGroup, FailureKey, FailureSample, Failures, OTHER_ERRORS, normalize_error, panic_message,
};
pub use recorder::{
    CutOff, DEFAULT_MAX_NAMES, LATENCY_KIND, MAX_CHECK_NAME, Marks, OTHER_CHECKS, OTHER_NAMES,
    OTHER_TAG_KEYS, OTHER_TAG_VALUES, Recorder, Sample, TRANSACTION_KIND, Tag, Tally,
};
pub use tap::{
    MAX_RECORD_ERROR_LEN, Origin, REQUEST_QUEUE_CAPACITY, RequestRecord, RequestTap, TapMessage,
    Tapped,
};

/// `850µs`, `12.3ms`, `1.20s`: a time as reports and thresholds print it, by the one rule of
/// `crate::figure` (three significant digits).
pub fn format_micros(micros: u64) -> String {
    crate::figure::micros(micros)
}

/// Rounds to three decimals: report figures carry no false precision.
pub(crate) fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
