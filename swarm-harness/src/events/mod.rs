//! Run events: what happens in a run, published once by the harness and the runner and read by
//! every live consumer (sinks): the printer, the report writer, the web UI and `/metrics`.
//! No sink reads runner state; a new consumer (a Locust master, a shard merger) is one more
//! sink. Sinks are called in order, on the publisher's thread, so the printer's lines and the
//! written files are in place before libtest reports the trial.
//!
//! Events are rare (a few per trial, one tick a second), so a lock around the sinks costs
//! nothing on the request path, which records into the sharded [`Recorder`](crate::stats::Recorder).
//!
//! Every request, one by one, is another contract: [`RequestSink`] (`requests.rs`, which
//! says why it is not a `RunEvent`), fed off the hot path through a bounded queue.
//!
//! This folder is the contracts (this file, `requests`) and the built-in sinks: `printer`
//! (the console, with `progress`, its live line), `writer` (the report files) and
//! `request_log` (the request log, a request sink).

pub(crate) mod printer;
mod progress;
pub(crate) mod request_log;
mod requests;
pub(crate) mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

// The data a sink reads: the report of a trial, the statistics of a tick, verdicts.
pub use crate::report::{
    EntryReport, FailureReport, GroupPoint, GroupReport, GroupSecond, GroupTrial, Percentiles,
    Report, Stall, TrialIdentity,
};
pub use crate::shard::ShardSet;
pub use crate::stats::{
    Entry, EntryTable, FailureGroup, FailureKey, FailureSample, Failures, Snapshot, Tally,
    TimelinePoint,
};
pub use crate::stats::{MAX_RECORD_ERROR_LEN, REQUEST_QUEUE_CAPACITY, RequestRecord, Tag};
pub use crate::threshold::{Threshold, Verdict};
pub use requests::RequestSink;
pub(crate) use requests::{Delivery, RequestStream};

/// One thing that happened in a run.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// The run's trials, in the order they will run, before the first starts.
    RunStarted {
        /// The names of the trials that will run (`scenario` or `scenario[param]`), after
        /// libtest's filters and `--ignored`.
        trials: Vec<String>,
        /// The web UI's address, when it is served.
        web: Option<String>,
    },
    /// A trial waits for a start from the web UI or the API (`PT_WEB_AUTOSTART=false`).
    TrialWaiting {
        /// The trial's position in the run, as in [`TrialInfo::index`].
        index: usize,
        /// The trial's name.
        name: String,
    },
    /// A trial started sending load.
    TrialStarted(Arc<TrialInfo>),
    /// The closed model's user target changed (its start, or a steering command).
    UsersChanged {
        /// The trial's position in the run, as in [`TrialInfo::index`].
        trial: usize,
        /// The number of users the trial now aims for.
        target: u32,
        /// How many users are started (or stopped) per second on the way there.
        rate: f64,
    },
    /// One second of the running trial.
    Tick(Arc<Tick>),
    /// An `abort_on_fail` threshold was breached: the trial stops.
    ThresholdBreached {
        /// The trial's position in the run, as in [`TrialInfo::index`].
        trial: usize,
        /// The breached threshold.
        verdict: Verdict,
    },
    /// The trial's statistics were reset (web UI, `/stats/reset`); later ticks start from zero.
    StatsReset {
        /// The trial's position in the run, as in [`TrialInfo::index`].
        trial: usize,
        /// When the reset happened, in seconds since the trial started.
        at_s: f64,
    },
    /// A trial ended with its report (judged).
    TrialEnded {
        /// The trial's position in the run, as in [`TrialInfo::index`].
        index: usize,
        /// The trial's report, judged: `passed` and `verdict` are set.
        report: Arc<Report>,
    },
    /// The trials of a run group (`run = ".."`, `PT_RUN_TOGETHER`) have all ended: its
    /// run-level report, their timelines side by side, after each trial's `TrialEnded`.
    GroupEnded {
        /// The group's report.
        report: Arc<GroupReport>,
    },
    /// The report files of the last trial were written; `path` is its JSON report.
    ReportWritten {
        /// The trial's JSON report file.
        path: PathBuf,
    },
    /// A line of text for the printer (a stress target's `on_finish` output).
    Note(String),
    /// Every trial has ended; the run's files (index, JUnit) are in `report_dir`.
    RunFinished {
        /// The directory of the run's report files; `None` when no trial ran.
        report_dir: Option<PathBuf>,
    },
}

/// A trial as it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialInfo {
    /// The trial's position in the run.
    pub index: usize,
    /// The trial's name: `scenario` or `scenario[param]`.
    pub name: String,
    /// The load in words: "20 users at 5/s for 1m".
    pub description: String,
    /// The target's base URL, its password redacted.
    pub host: Option<String>,
    /// How long the trial is set to run, in seconds.
    pub duration_s: f64,
    /// Whether the user count can be changed while it runs (closed model without a shape).
    pub steerable: bool,
    /// The trial's pass/fail criteria, as written.
    pub thresholds: Vec<String>,
    /// Distinct request names and failure groups kept (`PT_MAX_NAMES`): consumers that add
    /// the ticks up keep the same cap, so their failure groups match the report's.
    pub max_names: usize,
}

/// One second (or the last, shorter interval) of a running trial: the figures of the
/// interval and the run so far, and the interval's statistics with their histograms, which
/// add up exactly into any consumer's totals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tick {
    /// The trial's position in the run, as in [`TrialInfo::index`].
    pub trial: usize,
    /// The live figures: the interval's rate and p95, the totals so far.
    pub snapshot: Snapshot,
    /// The interval's timeline point, as the report's `timeline` keeps it.
    pub point: TimelinePoint,
    /// What was recorded in the interval.
    pub interval: Tally,
    /// The thresholds evaluated over the trial so far (empty when it has none).
    pub thresholds: Vec<Verdict>,
}

/// A consumer of run events.
pub trait Sink: Send {
    /// Handles one event; an error is reported to the publisher (a report that could not be
    /// written fails its trial) and does not keep the event from later sinks.
    ///
    /// # Errors
    /// When the sink could not do its part.
    fn on_event(&mut self, event: &RunEvent) -> Result<(), String>;
}

/// Where events are published: every sink, in order.
#[derive(Default)]
pub(crate) struct EventBus {
    sinks: Mutex<Vec<Box<dyn Sink>>>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus").finish_non_exhaustive()
    }
}

impl EventBus {
    /// A bus that delivers every event to `sinks`, in this order.
    pub(crate) fn new(sinks: Vec<Box<dyn Sink>>) -> Arc<Self> {
        Arc::new(EventBus {
            sinks: Mutex::new(sinks),
        })
    }

    /// Delivers `event` to every sink; returns their errors.
    pub(crate) fn publish(&self, event: RunEvent) -> Vec<String> {
        let mut sinks = self.sinks.lock().unwrap_or_else(PoisonError::into_inner);
        sinks
            .iter_mut()
            .filter_map(|sink| sink.on_event(&event).err())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Log(Arc<Mutex<Vec<String>>>, bool);

    impl Sink for Log {
        fn on_event(&mut self, event: &RunEvent) -> Result<(), String> {
            let RunEvent::Note(text) = event else {
                return Ok(());
            };
            self.0.lock().unwrap().push(text.clone());
            if self.1 {
                Err(format!("failed {text}"))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn every_sink_sees_every_event_in_order_and_errors_come_back() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let bus = EventBus::new(vec![
            Box::new(Log(seen.clone(), true)),
            Box::new(Log(seen.clone(), false)),
        ]);
        assert_eq!(bus.publish(RunEvent::Note("a".into())), ["failed a"]);
        bus.publish(RunEvent::Note("b".into()));
        assert_eq!(*seen.lock().unwrap(), ["a", "a", "b", "b"]);
    }

    #[test]
    fn a_tick_round_trips_through_json_with_its_histograms() {
        let recorder = crate::stats::Recorder::new(1, None);
        for micros in [100, 2_000, 30_000] {
            let sample = crate::stats::Sample {
                kind: "GET",
                name: "/x",
                micros,
                content_bytes: 10,
            };
            recorder.success(0, sample);
        }
        recorder.task(0, "t", 5_000, Some("boom 42".into()));
        let mut collector = crate::stats::Collector::new(
            Arc::new(recorder),
            Arc::default(),
            std::time::Instant::now(),
        );
        let interval = collector.tick();
        let tick = Tick {
            trial: 0,
            snapshot: interval.snapshot,
            point: interval.point,
            interval: interval.stats,
            thresholds: Vec::new(),
        };
        let text = serde_json::to_string(&tick).unwrap();
        let back: Tick = serde_json::from_str(&text).unwrap();
        let entry = back.interval.requests.aggregated();
        assert_eq!((entry.count, entry.content_bytes), (3, 30));
        assert_eq!(entry.percentile(1.0), 30_000);
        // Merging the decoded interval is exact.
        let mut merged = back.interval.clone();
        merged.extend(&back.interval);
        assert_eq!(merged.requests.aggregated().histogram.len(), 6);
        assert_eq!(back.interval.failures.total(), 1);
        assert_eq!(back.snapshot.requests, 3);
    }
}
