//! Our statistics in the shape a Locust master adds up (`StatsEntry.serialize`,
//! `StatsError.serialize` in `locust/stats.py`). The worker's sink adds every tick's interval
//! statistics (read from the run events, never from the runner) into the pending figures;
//! every report to the master takes them and starts again, as Locust's
//! `get_stripped_report` does.
//!
//! Response times go over in milliseconds, in Locust's rounded buckets (2 significant
//! digits); our own reports keep the exact HDR histograms.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use rmpv::Value;

use super::protocol::map;
use crate::events::{RunEvent, Sink};
use crate::stats::{Entry, TRANSACTION_KIND};

/// Locust's `bucket_response_time`: 147 → 150, 3432 → 3400, 58760 → 59000 (Python's `round`,
/// ties to even).
pub(crate) fn bucket(ms: f64) -> i64 {
    let round_to = |unit: f64| ((ms / unit).round_ties_even() * unit) as i64;
    if ms < 100.0 {
        ms.round_ties_even() as i64
    } else if ms < 1_000.0 {
        round_to(10.0)
    } else if ms < 10_000.0 {
        round_to(100.0)
    } else {
        round_to(1_000.0)
    }
}

/// One Locust `StatsEntry` being filled.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LocustEntry {
    pub num_requests: u64,
    pub num_failures: u64,
    pub total_response_time: f64,
    pub min_response_time: Option<f64>,
    pub max_response_time: f64,
    pub total_content_length: u64,
    pub response_times: BTreeMap<i64, u64>,
    pub num_reqs_per_sec: BTreeMap<i64, u64>,
    pub num_fail_per_sec: BTreeMap<i64, u64>,
    pub start_time: Option<f64>,
    pub last_request_timestamp: Option<f64>,
}

impl LocustEntry {
    /// Adds one interval's entry, recorded in the second `second` (Unix time) that ended at
    /// `now`.
    pub(crate) fn add(&mut self, entry: &Entry, second: i64, now: f64) {
        if entry.count == 0 {
            return;
        }
        self.num_requests += entry.count;
        self.num_failures += entry.failures;
        self.total_response_time += entry.total_micros as f64 / 1_000.0;
        let min = entry.min() as f64 / 1_000.0;
        self.min_response_time = Some(self.min_response_time.map_or(min, |m| m.min(min)));
        self.max_response_time = self
            .max_response_time
            .max(entry.max_micros as f64 / 1_000.0);
        self.total_content_length += entry.content_bytes;
        for value in entry.histogram.iter_recorded() {
            let micros = entry.histogram.median_equivalent(value.value_iterated_to());
            *self
                .response_times
                .entry(bucket(micros as f64 / 1_000.0))
                .or_default() += value.count_at_value();
        }
        *self.num_reqs_per_sec.entry(second).or_default() += entry.count;
        if entry.failures > 0 {
            *self.num_fail_per_sec.entry(second).or_default() += entry.failures;
        }
        self.start_time.get_or_insert(now - 1.0);
        self.last_request_timestamp = Some(now);
    }

    /// The `StatsEntryDict` Locust's master unserializes.
    pub(crate) fn to_value(&self, name: &str, method: &str) -> Value {
        let ints = |m: &BTreeMap<i64, u64>| {
            Value::Map(
                m.iter()
                    .map(|(k, v)| (Value::from(*k), Value::from(*v)))
                    .collect(),
            )
        };
        map(vec![
            ("name", Value::from(name)),
            ("method", Value::from(method)),
            (
                "last_request_timestamp",
                self.last_request_timestamp.map_or(Value::Nil, Value::from),
            ),
            ("start_time", Value::from(self.start_time.unwrap_or(0.0))),
            ("num_requests", Value::from(self.num_requests)),
            ("num_none_requests", Value::from(0)),
            ("num_failures", Value::from(self.num_failures)),
            ("total_response_time", Value::from(self.total_response_time)),
            ("max_response_time", Value::from(self.max_response_time)),
            (
                "min_response_time",
                self.min_response_time.map_or(Value::Nil, Value::from),
            ),
            (
                "total_content_length",
                Value::from(self.total_content_length),
            ),
            ("response_times", ints(&self.response_times)),
            ("num_reqs_per_sec", ints(&self.num_reqs_per_sec)),
            ("num_fail_per_sec", ints(&self.num_fail_per_sec)),
        ])
    }
}

/// A failure group since the last report.
#[derive(Debug, Clone, PartialEq)]
struct LocustError {
    method: String,
    name: String,
    error: String,
    occurrences: u64,
    first_seen: f64,
    last_seen: f64,
}

/// What the next report to the master holds.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    entries: BTreeMap<(String, String), LocustEntry>,
    total: LocustEntry,
    errors: BTreeMap<String, LocustError>,
}

/// One report's figures, as Locust's `report_to_master` listener fills them.
pub(crate) struct Report {
    pub stats: Value,
    pub stats_total: Value,
    pub errors: Value,
}

impl Pending {
    /// Adds one tick of a trial.
    fn add(&mut self, tick: &crate::events::Tick) {
        let now = tick.point.timestamp as f64;
        let second = tick.point.timestamp - 1;
        for (kind, name, entry) in tick.interval.requests.iter() {
            if kind == TRANSACTION_KIND {
                continue;
            }
            self.entries
                .entry((name.to_owned(), kind.to_owned()))
                .or_default()
                .add(entry, second, now);
            self.total.add(entry, second, now);
        }
        for (key, group) in tick.interval.failures.sorted() {
            if key.kind == "task" || key.kind == TRANSACTION_KIND {
                continue;
            }
            let id = format!("{}.{}.{}", key.kind, key.name, key.error);
            let error = self.errors.entry(id).or_insert_with(|| LocustError {
                method: key.kind.clone(),
                name: key.name.clone(),
                error: key.error.clone(),
                occurrences: 0,
                first_seen: now,
                last_seen: now,
            });
            error.occurrences += group.occurrences;
            error.last_seen = now;
        }
    }

    /// The figures since the last report, which start again from zero.
    pub(crate) fn take(&mut self) -> Report {
        let taken = std::mem::take(self);
        Report {
            stats: Value::Array(
                taken
                    .entries
                    .iter()
                    .map(|((name, method), entry)| entry.to_value(name, method))
                    .collect(),
            ),
            stats_total: taken.total.to_value("Aggregated", ""),
            errors: Value::Map(
                taken
                    .errors
                    .into_iter()
                    .map(|(id, e)| {
                        (
                            Value::from(id),
                            map(vec![
                                ("method", Value::from(e.method)),
                                ("name", Value::from(e.name)),
                                ("error", Value::from(e.error)),
                                ("occurrences", Value::from(e.occurrences)),
                                ("first_seen", Value::from(e.first_seen)),
                                ("last_seen", Value::from(e.last_seen)),
                            ]),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

/// What the worker learns from the run events: the figures to report, and which trials ended.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    pub pending: Pending,
    /// Trials (by index) whose last tick has been added.
    pub ended: Vec<usize>,
}

/// The sink that feeds [`Figures`]; first in the list, so the master hears of a trial's end
/// before its report files are written.
pub(crate) struct LocustSink(pub Arc<Mutex<Figures>>);

impl Sink for LocustSink {
    fn on_event(&mut self, event: &RunEvent) -> Result<(), String> {
        let mut shared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            RunEvent::Tick(tick) => shared.pending.add(tick),
            RunEvent::TrialEnded { index, .. } => shared.ended.push(*index),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_locusts() {
        // From locust/stats.py's docstring and Python's round().
        for (ms, bucket_ms) in [
            (0.4, 0),
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (99.4, 99),
            (147.0, 150),
            (145.0, 140),
            (3432.0, 3400),
            (58760.0, 59000),
        ] {
            assert_eq!(bucket(ms), bucket_ms, "{ms}");
        }
    }

    #[test]
    fn an_entry_counts_every_sample_once() {
        let mut entry = Entry::default();
        for micros in [1_400, 2_600, 147_000, 150_000] {
            entry.record(micros, micros != 2_600, 10);
        }
        let mut locust = LocustEntry::default();
        locust.add(&entry, 100, 101.0);
        assert_eq!(locust.num_requests, 4);
        assert_eq!(locust.num_failures, 1);
        assert_eq!(locust.response_times.values().sum::<u64>(), 4);
        assert_eq!(locust.response_times.get(&150), Some(&2));
        assert_eq!(locust.num_reqs_per_sec.get(&100), Some(&4));
        assert_eq!(locust.total_content_length, 40);
        assert!((locust.total_response_time - 301.0).abs() < 1e-9);
        assert_eq!(locust.min_response_time, Some(1.4));
    }
}
