//! The collector: once a second it takes what the shards gathered, adds it to the run's totals
//! and appends a timeline point. It is owned by one task, so it needs no lock of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{Entry, LATENCY_KIND, PERCENTILES, Recorder, Tally, round3};

/// One second (or the last, shorter interval) of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimelinePoint {
    /// Seconds since the trial started, at the end of the interval.
    pub t: f64,
    /// Unix time in seconds at the end of the interval.
    pub timestamp: i64,
    /// Users running at the end of the interval.
    pub users: usize,
    /// Requests per second in the interval, failures included (transactions left out).
    pub rps: f64,
    /// Requests failed per second in the interval.
    pub failures_per_s: f64,
    /// Response-time percentiles of the interval's requests, in µs, for [`PERCENTILES`].
    pub percentiles_us: Vec<u64>,
    /// The interval's median response time, in µs; 0 when it had no request.
    pub p50_us: u64,
    /// The interval's 95th percentile response time, in µs; 0 when it had no request.
    pub p95_us: u64,
    /// Task latency from the intended start (open model, pacing wait times) of the interval,
    /// in µs, for [`PERCENTILES`]; empty when the trial has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_percentiles_us: Vec<u64>,
    // The `total_` fields are cumulative: all requests since the start (or the last
    // statistics reset), Locust's `Total …` history columns.
    /// Percentiles of all requests so far, in µs, for [`PERCENTILES`].
    pub total_percentiles_us: Vec<u64>,
    /// Requests completed so far, failures included.
    pub total_requests: u64,
    /// Requests failed so far.
    pub total_failures: u64,
    /// The median response time of all requests so far, in µs.
    pub total_median_us: u64,
    /// The mean response time of all requests so far, in µs.
    pub total_mean_us: f64,
    /// The shortest response time so far, in µs; 0 before the first request.
    pub total_min_us: u64,
    /// The longest response time so far, in µs.
    pub total_max_us: u64,
    /// The mean body size of all requests so far, in bytes.
    pub total_avg_content_bytes: f64,
}

/// The latest figures, for live progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Seconds since the trial started.
    pub elapsed_s: f64,
    /// Users running now.
    pub users: usize,
    /// Requests completed so far, failures included (since the last statistics reset).
    pub requests: u64,
    /// Requests failed so far.
    pub failures: u64,
    /// Tasks (and hooks) that failed so far.
    pub task_failures: u64,
    /// Requests per second in the last interval.
    pub rps: f64,
    /// The last interval's 95th percentile response time, in µs.
    pub p95_us: u64,
    /// Open model: iterations due while no user was free, so far.
    pub dropped_iterations: u64,
}

/// What one tick took: the figures and the interval's statistics.
pub struct Interval {
    /// The live figures.
    pub snapshot: Snapshot,
    /// The interval's timeline point, also appended to the collector's timeline.
    pub point: TimelinePoint,
    /// Everything recorded in the interval.
    pub stats: Tally,
}

/// Takes the recorder's shards once a tick into the trial's totals and timeline.
pub struct Collector {
    recorder: Arc<Recorder>,
    users: Arc<AtomicUsize>,
    started: Instant,
    stats_since: Instant,
    last_tick: Instant,
    totals: Tally,
    aggregated: Entry,
    timeline: Vec<TimelinePoint>,
}

impl Collector {
    /// A collector of `recorder`'s statistics for a trial that started at `started`, with
    /// `users` the count of running users.
    pub fn new(recorder: Arc<Recorder>, users: Arc<AtomicUsize>, started: Instant) -> Self {
        Collector {
            recorder,
            users,
            started,
            stats_since: started,
            last_tick: started,
            totals: Tally::default(),
            aggregated: Entry::default(),
            timeline: Vec::new(),
        }
    }

    /// Takes the interval since the last tick into the totals and the timeline.
    pub fn tick(&mut self) -> Interval {
        let now = Instant::now();
        let seconds = now.duration_since(self.last_tick).as_secs_f64().max(1e-3);
        self.last_tick = now;
        let interval = self.recorder.take();
        let window = interval.request_total();
        self.totals
            .extend_capped(&interval, self.recorder.max_names());
        self.aggregated.extend(&window);
        let total = &self.aggregated;
        let point = TimelinePoint {
            t: round3(now.duration_since(self.started).as_secs_f64()),
            timestamp: unix_now(),
            users: self.users.load(Ordering::Relaxed),
            rps: round3(window.count as f64 / seconds),
            failures_per_s: round3(window.failures as f64 / seconds),
            percentiles_us: PERCENTILES.iter().map(|&q| window.percentile(q)).collect(),
            latency_percentiles_us: {
                let latency = interval.tasks.aggregated_where(|k| k == LATENCY_KIND);
                if latency.count == 0 {
                    Vec::new()
                } else {
                    PERCENTILES.iter().map(|&q| latency.percentile(q)).collect()
                }
            },
            p50_us: window.percentile(0.5),
            p95_us: window.percentile(0.95),
            total_percentiles_us: PERCENTILES.iter().map(|&q| total.percentile(q)).collect(),
            total_requests: total.count,
            total_failures: total.failures,
            total_median_us: total.percentile(0.5),
            total_mean_us: round3(total.mean_micros()),
            total_min_us: total.min(),
            total_max_us: total.max_micros,
            total_avg_content_bytes: if total.count == 0 {
                0.0
            } else {
                round3(total.content_bytes as f64 / total.count as f64)
            },
        };
        let snapshot = Snapshot {
            elapsed_s: point.t,
            users: point.users,
            requests: total.count,
            failures: total.failures,
            // A count needs no merged histogram.
            task_failures: self
                .totals
                .tasks
                .iter()
                .filter(|(kind, _, _)| *kind == "task")
                .map(|(_, _, entry)| entry.failures)
                .sum(),
            rps: point.rps,
            p95_us: point.p95_us,
            dropped_iterations: self.recorder.dropped(),
        };
        self.timeline.push(point.clone());
        Interval {
            snapshot,
            point,
            stats: interval,
        }
    }

    /// Forgets everything taken so far and what the shards hold now: the statistics start
    /// again from zero (`/stats/reset`). Returns when that was, in seconds since the start.
    pub fn reset(&mut self) -> f64 {
        let now = Instant::now();
        drop(self.recorder.take());
        self.last_tick = now;
        self.stats_since = now;
        self.totals = Tally::default();
        self.aggregated = Entry::default();
        self.timeline.clear();
        now.duration_since(self.started).as_secs_f64()
    }

    /// When the statistics began: the start, or the last reset.
    pub fn stats_since(&self) -> Instant {
        self.stats_since
    }

    /// Everything taken so far.
    pub fn totals(&self) -> &Tally {
        &self.totals
    }

    /// The time the statistics cover: since the start, or the last reset.
    pub fn elapsed(&self) -> std::time::Duration {
        self.stats_since.elapsed()
    }

    /// The totals and the timeline; a last [`Collector::tick`] first takes what is left.
    pub fn into_totals(self) -> (Tally, Vec<TimelinePoint>) {
        (self.totals, self.timeline)
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
