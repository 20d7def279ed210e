//! What the web UI knows of the run, kept up to date by its sink from run events alone: the
//! trials and their outcome, and for the latest trial its totals (the sum of the ticks'
//! intervals, so they equal the report's), timeline, thresholds and a ten-second window for
//! the "current" figures Locust shows.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;

use crate::events::{RunEvent, Sink, TrialInfo};
use crate::report::Outcome;
use crate::report::{BuildInput, Report, TrialIdentity};
use crate::stats::{Entry, Snapshot, TRANSACTION_KIND, Tally, TimelinePoint};
use crate::threshold::Verdict;

/// How many one-second intervals the "current" figures cover (Locust's window is 10 s).
pub(crate) const CURRENT_WINDOW: usize = 10;

/// Where a trial is in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TrialStatus {
    Pending,
    Waiting,
    Running,
    Passed,
    Failed,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct TrialRow {
    pub name: String,
    pub status: TrialStatus,
    /// Why it failed.
    pub verdict: Option<String>,
    #[serde(skip)]
    pub report: Option<Arc<Report>>,
}

/// One interval's counts per (kind, name), for the current rates.
#[derive(Debug, Default, Clone)]
struct Window {
    seconds: f64,
    counts: FxHashMap<(String, String), (u64, u64)>,
    /// All requests of the interval together, for the current percentiles.
    total: Entry,
}

/// The latest trial as the events told it. Cheap to clone: handlers clone it out of the lock
/// and work on their copy, so a slow page or scrape never holds up the ticks.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub info: Arc<TrialInfo>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub snapshot: Snapshot,
    /// Shared with handlers' copies; a tick copies it only while one is in use.
    pub totals: Arc<Tally>,
    pub timeline: Vec<TimelinePoint>,
    pub thresholds: Vec<Verdict>,
    /// The closed model's user target and rate.
    pub target: Option<(u32, f64)>,
    /// Seconds into the trial of the last statistics reset.
    pub reset_at: Option<f64>,
    /// The judged report, once the trial ended.
    pub report: Option<Arc<Report>>,
    windows: VecDeque<Window>,
    /// Seconds into the trial at the end of the last tick (or the reset).
    last_t: f64,
}

impl Current {
    pub(super) fn new(info: Arc<TrialInfo>) -> Self {
        Current {
            info,
            started_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            snapshot: Snapshot::default(),
            totals: Arc::default(),
            timeline: Vec::new(),
            thresholds: Vec::new(),
            target: None,
            reset_at: None,
            report: None,
            windows: VecDeque::new(),
            last_t: 0.0,
        }
    }

    pub(crate) fn running(&self) -> bool {
        self.report.is_none()
    }

    /// Seconds the statistics cover (since the start or the last reset).
    pub(crate) fn stats_seconds(&self) -> f64 {
        match &self.report {
            // Once ended, the report's own duration, so rates match it.
            Some(report) => report.duration_s.max(1e-3),
            None => (self.snapshot.elapsed_s - self.reset_at.unwrap_or(0.0)).max(1e-3),
        }
    }

    /// Requests and failures per second of (kind, name) over the last window; zero once the
    /// trial ended.
    pub(crate) fn current_rates(&self, kind: &str, name: &str) -> (f64, f64) {
        if !self.running() {
            return (0.0, 0.0);
        }
        let seconds: f64 = self.windows.iter().map(|w| w.seconds).sum();
        let key = (kind.to_owned(), name.to_owned());
        let (count, failures) = self
            .windows
            .iter()
            .filter_map(|w| w.counts.get(&key))
            .fold((0, 0), |(c, f), (wc, wf)| (c + wc, f + wf));
        per_second(count, failures, seconds)
    }

    /// All requests' rates over the last window; zero once the trial ended.
    pub(crate) fn current_total_rates(&self) -> (f64, f64) {
        if !self.running() {
            return (0.0, 0.0);
        }
        let seconds: f64 = self.windows.iter().map(|w| w.seconds).sum();
        let (count, failures) = self.windows.iter().fold((0, 0), |(c, f), w| {
            (c + w.total.count, f + w.total.failures)
        });
        per_second(count, failures, seconds)
    }

    /// All requests of the last window together.
    pub(crate) fn current_total(&self) -> Entry {
        let mut total = Entry::default();
        for window in &self.windows {
            total.extend(&window.total);
        }
        total
    }

    /// The trial's report so far: the final one once it ended, else one built from the
    /// live totals (not judged).
    pub(crate) fn report(&self) -> Report {
        if let Some(report) = &self.report {
            return Report::clone(report);
        }
        let mut report = Report::build(BuildInput {
            identity: TrialIdentity {
                trial: self.info.name.clone(),
                scenario: self.info.name.clone(),
                param: None,
            },
            config: serde_json::json!({ "description": self.info.description }),
            started_at: self.started_at.clone(),
            elapsed_s: self.stats_seconds(),
            outcome: Outcome::Completed,
            dropped_iterations: self.snapshot.dropped_iterations,
            folded_requests: 0,
            max_names: usize::MAX,
            errors: Vec::new(),
            totals: &self.totals,
            timeline: self.timeline.clone(),
        });
        report.thresholds = self.thresholds.clone();
        report
            .warnings
            .push("the trial is still running: these are the figures so far".to_owned());
        report
    }

    fn add(&mut self, point: &TimelinePoint, interval: &Tally) {
        let seconds = point.t - self.last_t;
        self.last_t = point.t;
        Arc::make_mut(&mut self.totals).extend_capped(interval, self.info.max_names);
        self.timeline.push(point.clone());
        let mut window = Window {
            seconds: seconds.max(1e-3),
            total: interval.request_total(),
            ..Window::default()
        };
        for (kind, name, entry) in interval.requests.iter() {
            if kind != TRANSACTION_KIND {
                window.counts.insert(
                    (kind.to_owned(), name.to_owned()),
                    (entry.count, entry.failures),
                );
            }
        }
        self.windows.push_back(window);
        while self.windows.len() > CURRENT_WINDOW {
            self.windows.pop_front();
        }
    }
}

fn per_second(count: u64, failures: u64, seconds: f64) -> (f64, f64) {
    if seconds <= 0.0 {
        return (0.0, 0.0);
    }
    (count as f64 / seconds, failures as f64 / seconds)
}

/// Everything the web UI shows; a clone is cheap (its large parts are shared).
#[derive(Debug, Default, Clone)]
pub(crate) struct Live {
    pub trials: Vec<TrialRow>,
    /// The trial the page and Locust's API show: the latest to start, or, in a run group,
    /// the group's first still running.
    pub current: Option<Arc<Current>>,
    /// The other trials of a run group running beside `current`, by position in the run:
    /// each keeps its own figures (the ticks name their trial), for `/metrics` and steering.
    pub beside: std::collections::BTreeMap<usize, Arc<Current>>,
    /// Every trial has ended.
    pub finished: bool,
    /// The trials waiting for a start, by position in the run (several in a run group).
    pub waiting: std::collections::BTreeMap<usize, String>,
    /// Figures of every ended trial, for `/metrics`: (trial, totals, dropped iterations).
    pub ended: Vec<(String, Arc<Tally>, u64)>,
}

impl Live {
    fn trial_mut(&mut self, name: &str) -> Option<&mut TrialRow> {
        self.trials.iter_mut().find(|t| t.name == name)
    }

    /// The live figures of the `index`th trial, if it is `current` or beside it.
    fn running_mut(&mut self, index: usize) -> Option<&mut Current> {
        match self.current.as_mut() {
            Some(current) if current.info.index == index => Some(Arc::make_mut(current)),
            _ => self.beside.get_mut(&index).map(Arc::make_mut),
        }
    }

    /// The trial named `name` a command can be for: one waiting for a start, `current` or
    /// one beside it; its position in the run, or an answer naming the trials there are.
    pub(crate) fn running_named(&self, name: &str) -> Result<usize, String> {
        if let Some((index, _)) = self.waiting.iter().find(|(_, waiting)| *waiting == name) {
            return Ok(*index);
        }
        let running = || {
            self.current
                .iter()
                .chain(self.beside.values())
                .filter(|c| c.running())
        };
        if let Some(found) = running().find(|c| c.info.name == name) {
            return Ok(found.info.index);
        }
        let names: Vec<&str> = self
            .waiting
            .values()
            .map(String::as_str)
            .chain(running().map(|c| c.info.name.as_str()))
            .collect();
        Err(format!(
            "trial={name:?} is not running; running: {}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ))
    }

    /// The trial a command from the page is for: the one waiting, or the one running.
    pub(crate) fn target_trial(&self) -> Option<usize> {
        self.waiting.keys().next().copied().or_else(|| {
            self.current
                .as_ref()
                .filter(|c| c.running())
                .map(|c| c.info.index)
        })
    }

    /// Locust's state names: `ready`, `spawning`, `running`, `stopped`.
    pub(crate) fn state(&self) -> &'static str {
        match &self.current {
            _ if !self.waiting.is_empty() => "ready",
            None => "ready",
            Some(current) if !current.running() => "stopped",
            Some(current) => match current.target {
                Some((users, _)) if (current.snapshot.users as u64) < u64::from(users) => {
                    "spawning"
                }
                _ => "running",
            },
        }
    }
}

/// The sink that keeps [`Live`] up to date.
pub(crate) struct LiveSink(pub Arc<Mutex<Live>>);

impl Sink for LiveSink {
    fn on_event(&mut self, event: &RunEvent) -> Result<(), String> {
        let mut live = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            RunEvent::RunStarted { trials, .. } => {
                live.trials = trials
                    .iter()
                    .map(|name| TrialRow {
                        name: name.clone(),
                        status: TrialStatus::Pending,
                        verdict: None,
                        report: None,
                    })
                    .collect();
            }
            RunEvent::TrialWaiting { name, index } => {
                live.waiting.insert(*index, name.clone());
                if let Some(row) = live.trial_mut(name) {
                    row.status = TrialStatus::Waiting;
                }
            }
            RunEvent::TrialStarted(info) => {
                live.waiting.remove(&info.index);
                if let Some(row) = live.trial_mut(&info.name) {
                    row.status = TrialStatus::Running;
                }
                let started = Arc::new(Current::new(info.clone()));
                // A trial of a run group starting while another runs goes beside it.
                match live.current.as_ref().filter(|c| c.running()) {
                    Some(_) => {
                        live.beside.insert(info.index, started);
                    }
                    None => live.current = Some(started),
                }
            }
            RunEvent::UsersChanged {
                trial,
                target,
                rate,
            } => {
                if let Some(current) = live.running_mut(*trial) {
                    current.target = Some((*target, *rate));
                }
            }
            RunEvent::Tick(tick) => {
                if let Some(current) = live.running_mut(tick.trial) {
                    current.snapshot = tick.snapshot.clone();
                    current.thresholds.clone_from(&tick.thresholds);
                    current.add(&tick.point, &tick.interval);
                }
            }
            RunEvent::StatsReset { trial, at_s } => {
                if let Some(current) = live.running_mut(*trial) {
                    current.totals = Arc::default();
                    current.timeline.clear();
                    current.windows.clear();
                    current.reset_at = Some(*at_s);
                    current.last_t = *at_s;
                }
            }
            RunEvent::TrialEnded { report, index } => {
                let name = report.identity.trial.clone();
                live.waiting.remove(index);
                if let Some(row) = live.trial_mut(&name) {
                    row.status = if report.passed {
                        TrialStatus::Passed
                    } else {
                        TrialStatus::Failed
                    };
                    row.verdict.clone_from(&report.verdict);
                    row.report = Some(report.clone());
                }
                // A trial that ended before it started (interrupted while waiting) has no
                // live figures; the previous trial's stay as they were.
                if let Some(current) = live.running_mut(*index) {
                    current.report = Some(report.clone());
                    current.thresholds.clone_from(&report.thresholds);
                    let ended = (name, current.totals.clone(), report.dropped_iterations);
                    live.ended.push(ended);
                }
                // The page goes on with the group's next trial still running.
                if live.current.as_ref().is_some_and(|c| !c.running())
                    && let Some((_, next)) = live.beside.pop_first()
                {
                    live.current = Some(next);
                }
                live.beside.retain(|_, c| c.running());
            }
            RunEvent::GroupEnded { .. } => {}
            RunEvent::RunFinished { .. } => live.finished = true,
            RunEvent::ThresholdBreached { .. }
            | RunEvent::ReportWritten { .. }
            | RunEvent::Note(_) => {}
        }
        Ok(())
    }
}
