//! The hot path: users record into one of several shards, each behind its own mutex, so users
//! on different worker threads rarely meet and no lock is shared by all of them.
//!
//! Distinct request names are capped per trial (`PT_MAX_NAMES`, default 1,000): a shard that
//! meets a name it has not seen since the last collection asks the trial-wide name set, once;
//! names beyond the cap are recorded as [`OTHER_NAMES`] and counted, so 100,000 unique URLs
//! cost one entry, not 100,000.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rustc_hash::FxHashSet;

use super::custom::{GaugeReading, Metrics, Named, Ratio, TrendEntry, unix_micros};
use super::{EntryTable, FailureKey, FailureSample, Failures, normalize_error};

/// Why a request, measured operation or task was cut off before it completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutOff {
    /// In flight when the trial's grace period (`PT_STOP_TIMEOUT`) ran out.
    AtStop,
    /// The task dropped it (a `select!` or timeout of its own) before the response.
    ByTask,
}

impl CutOff {
    /// The line its group shows in reports.
    pub fn message(self) -> &'static str {
        match self {
            CutOff::AtStop => {
                "cancelled at stop: in flight when the trial ended (after the PT_STOP_TIMEOUT \
                 grace period)"
            }
            CutOff::ByTask => "cancelled by the task: its future was dropped before the response",
        }
    }
}

/// The default of `PT_MAX_NAMES`.
pub use crate::settings::DEFAULT_MAX_NAMES;

/// The entry that requests with names beyond `PT_MAX_NAMES` are recorded under.
pub const OTHER_NAMES: &str = "(other names over PT_MAX_NAMES)";

/// The check that checks with names beyond `PT_MAX_NAMES` are counted under.
pub const OTHER_CHECKS: &str = "(other checks over PT_MAX_NAMES)";

/// The tag value that values beyond `PT_MAX_NAMES` distinct tags are counted under, beside
/// their key when it has a tag of its own.
pub const OTHER_TAG_VALUES: &str = "(other values over PT_MAX_NAMES)";

/// The tag key that tags beyond `PT_MAX_NAMES` distinct ones are counted under when their key
/// has no tag of its own (ids in keys cost one entry, not one per key).
pub const OTHER_TAG_KEYS: &str = "(other tags over PT_MAX_NAMES)";

/// A request's tag: a key and its value (`kind`, `read`).
pub type Tag = (
    std::borrow::Cow<'static, str>,
    std::borrow::Cow<'static, str>,
);

/// What a request carries besides its timing: its tags, and the checks made on its response,
/// recorded with it under one lock.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marks<'a> {
    /// Its tags.
    pub tags: &'a [Tag],
    /// Its checks, by name, and whether each passed.
    pub checks: &'a [(std::borrow::Cow<'static, str>, bool)],
}

impl Marks<'_> {
    /// Whether there is nothing to record besides the timing.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.checks.is_empty()
    }
}

/// What one shard has gathered since the collector last took it; also the statistics of an
/// interval or of a whole trial. Serializable with its histograms, so it merges exactly
/// wherever it travels (`extend`).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Requests by (kind, name): HTTP methods, `transaction`, kinds given to `User::measure`.
    pub requests: EntryTable,
    /// Tasks and hooks (kind `task`), and task latencies from the intended start (kind
    /// `latency`).
    pub tasks: EntryTable,
    /// Failure groups of requests, transactions and tasks.
    pub failures: Failures,
    /// Requests and tasks cut off before they completed (at the trial's stop, or dropped by
    /// the task), grouped like failures but not counted as failures.
    pub cancelled: Failures,
    /// Requests by tag: kind is the tag's key, name its value (`kind`, `read`); a request with
    /// two tags counts in both.
    #[serde(default)]
    pub tags: EntryTable,
    /// Checks by name: passes and fails.
    #[serde(default)]
    pub checks: Named<Ratio>,
    /// Custom metrics.
    #[serde(default)]
    pub metrics: Metrics,
}

/// The kind of multi-request flows (`User::transaction`); they are reported, but not added into
/// the request total, which would count their requests twice and mix flow times into request
/// percentiles.
pub const TRANSACTION_KIND: &str = "transaction";

/// The kind under which task latencies from the intended start are kept beside the tasks.
pub const LATENCY_KIND: &str = "latency";

impl Tally {
    /// All requests together (Locust's `Aggregated`): HTTP requests and operations timed with
    /// `User::measure`, which are also what `PT_NUM_REQUESTS` counts; transactions left out.
    pub fn request_total(&self) -> super::Entry {
        self.requests
            .aggregated_where(|kind| kind != TRANSACTION_KIND)
    }

    /// Adds `other`'s statistics, every failure group kept.
    pub fn extend(&mut self, other: &Tally) {
        self.extend_capped(other, usize::MAX);
    }

    /// Like [`Tally::extend`], keeping at most `max_groups` failure groups.
    pub fn extend_capped(&mut self, other: &Tally, max_groups: usize) {
        self.requests.extend(&other.requests);
        self.tasks.extend(&other.tasks);
        self.failures.extend_capped(&other.failures, max_groups);
        self.cancelled.extend_capped(&other.cancelled, max_groups);
        self.tags.extend(&other.tags);
        self.checks.extend_with(&other.checks, Ratio::extend);
        self.metrics.extend(&other.metrics);
    }

    /// Every check together.
    pub fn checks_total(&self) -> Ratio {
        let mut total = Ratio::default();
        for (_, ratio) in self.checks.sorted() {
            total.extend(ratio);
        }
        total
    }
}

/// One observation of a request (or of any measured operation).
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The HTTP method, `transaction`, or the kind given to `User::measure`.
    pub kind: &'a str,
    /// The name it is recorded under.
    pub name: &'a str,
    /// How long it took, in µs.
    pub micros: u64,
    /// Response body bytes received (0 for what is not an HTTP request).
    pub content_bytes: u64,
}

/// One shard: what its users recorded since the last collection, marked requests apart.
#[derive(Debug, Default)]
struct Shard {
    tally: Tally,
    marked: marked::MarkedRows,
}

/// The tags admitted in a trial, and their keys.
#[derive(Debug, Default)]
struct TagSet {
    pairs: FxHashSet<(Box<str>, Box<str>)>,
    keys: FxHashSet<Box<str>>,
}

/// Where users record. Cheap to share (`Arc`), cheap to record into.
#[derive(Debug)]
pub struct Recorder {
    shards: Box<[Mutex<Shard>]>,
    /// Requests sent so far, counted only when a request limit is set.
    sent: AtomicU64,
    limit: Option<u64>,
    /// Open model: iterations due when no user was free.
    dropped: AtomicU64,
    /// Every request name admitted in this trial, at most `max_names`.
    names: Mutex<FxHashSet<Box<str>>>,
    max_names: usize,
    /// Requests recorded under [`OTHER_NAMES`].
    folded: AtomicU64,
    /// Every check name and tag (`key=value`) admitted, at most `max_names` each.
    check_names: Mutex<FxHashSet<Box<str>>>,
    tag_pairs: Mutex<TagSet>,
    /// The age, in µs, of the oldest request cut off in flight at the stop.
    oldest_cut_off: AtomicU64,
}

impl Recorder {
    /// A recorder with `shards` shards (at least one), an optional request limit and the
    /// default cap on distinct names.
    pub fn new(shards: usize, limit: Option<u64>) -> Self {
        Recorder {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            sent: AtomicU64::new(0),
            limit,
            dropped: AtomicU64::new(0),
            names: Mutex::default(),
            max_names: DEFAULT_MAX_NAMES,
            folded: AtomicU64::new(0),
            check_names: Mutex::default(),
            tag_pairs: Mutex::default(),
            oldest_cut_off: AtomicU64::new(0),
        }
    }

    /// Caps distinct request names (and failure groups) at `max_names` (`PT_MAX_NAMES`).
    pub fn with_max_names(mut self, max_names: usize) -> Self {
        self.max_names = max_names.max(1);
        self
    }

    /// The cap on distinct request names and failure groups (`PT_MAX_NAMES`).
    pub fn max_names(&self) -> usize {
        self.max_names
    }

    /// Requests recorded under [`OTHER_NAMES`] because the trial had `PT_MAX_NAMES` names.
    pub fn folded(&self) -> u64 {
        self.folded.load(Ordering::Relaxed)
    }

    /// How many shards users record into.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// `name`, if the trial has room for it or already knows it; [`OTHER_NAMES`] otherwise.
    /// Called only when a shard meets a name it has not seen since the last collection.
    fn admit<'n>(&self, name: &'n str) -> &'n str {
        if self.has_room_for(name) {
            return name;
        }
        if self.folded.fetch_add(1, Ordering::Relaxed) == 0 {
            crate::logging::warning!(
                "more than {} distinct request names (PT_MAX_NAMES): further ones are recorded \
                 as {OTHER_NAMES:?}; give requests with ids in their URLs a .name()",
                self.max_names
            );
        }
        OTHER_NAMES
    }

    /// Whether `name` is admitted: known already, or admitted now while there is room.
    fn has_room_for(&self, name: &str) -> bool {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        if names.contains(name) {
            return true;
        }
        if names.len() < self.max_names {
            names.insert(name.into());
            return true;
        }
        false
    }

    /// Whether `name` was admitted already (nothing admitted now).
    fn is_known(&self, name: &str) -> bool {
        self.names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(name)
    }

    /// The name a sample is recorded under in `shard`.
    #[inline]
    fn name_in<'n>(&self, shard: &Tally, name: &'n str) -> &'n str {
        if shard.requests.has_name(name) {
            name
        } else {
            self.admit(name)
        }
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        self.shards[shard % self.shards.len()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves one request under the request limit; `false` once the limit is reached, in
    /// which case the request must not be sent.
    pub fn reserve_request(&self) -> bool {
        match self.limit {
            None => true,
            Some(limit) => self.sent.fetch_add(1, Ordering::Relaxed) < limit,
        }
    }

    /// Records a successful request.
    #[inline]
    pub fn success(&self, shard: usize, sample: Sample<'_>) {
        self.success_in(&mut self.lock(shard).tally, sample);
    }

    #[inline]
    fn success_in(&self, guard: &mut Tally, sample: Sample<'_>) {
        if let Some(entry) = guard.requests.existing(sample.kind, sample.name) {
            entry.record(sample.micros, true, sample.content_bytes);
            return;
        }
        let name = self.name_in(guard, sample.name);
        guard
            .requests
            .entry(sample.kind, name)
            .record(sample.micros, true, sample.content_bytes);
    }

    /// Records a failed request together with its failure group (the error normalised).
    pub fn failure(
        &self,
        shard: usize,
        sample: Sample<'_>,
        error: String,
        response: Option<FailureSample>,
    ) {
        let error = normalize_error(&error);
        self.failure_in(&mut self.lock(shard).tally, sample, error, response);
    }

    fn failure_in(
        &self,
        guard: &mut Tally,
        sample: Sample<'_>,
        error: String,
        response: Option<FailureSample>,
    ) {
        let name = self.name_in(guard, sample.name);
        let key = FailureKey {
            kind: sample.kind.to_owned(),
            name: name.to_owned(),
            error,
        };
        guard
            .requests
            .entry(sample.kind, name)
            .record(sample.micros, false, sample.content_bytes);
        guard.failures.record(key, response);
    }

    /// Records a request or task (`kind` "task") that was cut off before it completed; not a
    /// failure, but never silent.
    pub fn cancelled(&self, shard: usize, kind: &str, name: &str, reason: CutOff) {
        let mut locked = self.lock(shard);
        let guard = &mut locked.tally;
        // A request cut off at the stop keeps its name while the trial has room (a slow
        // endpoint cut off every time is still named): at most one per user, so they cannot
        // fill PT_MAX_NAMES. One its task dropped (a timeout in a loop, with an id in its URL)
        // could, so it is named only when the name is known already. Neither is counted as
        // folded, since neither is a recorded request.
        let known = kind == "task"
            || guard.requests.has_name(name)
            || if reason == CutOff::AtStop {
                self.has_room_for(name)
            } else {
                self.is_known(name)
            };
        let name = if known { name } else { OTHER_NAMES };
        let key = FailureKey {
            kind: kind.to_owned(),
            name: name.to_owned(),
            error: reason.message().to_owned(),
        };
        guard.cancelled.record(key, None);
    }

    /// Notes the age of a request cut off in flight at the stop (only ever at the end).
    pub fn cut_off_at_stop(&self, age: std::time::Duration) {
        let micros = u64::try_from(age.as_micros()).unwrap_or(u64::MAX);
        self.oldest_cut_off.fetch_max(micros, Ordering::Relaxed);
    }

    /// How long the oldest request cut off at the stop had been waiting.
    pub fn oldest_cut_off(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.oldest_cut_off.load(Ordering::Relaxed))
    }

    /// Records one task execution; a failed task also becomes a failure group of kind `task`.
    pub fn task(&self, shard: usize, name: &str, micros: u64, error: Option<String>) {
        let mut locked = self.lock(shard);
        let guard = &mut locked.tally;
        guard
            .tasks
            .entry("task", name)
            .record(micros, error.is_none(), 0);
        if let Some(error) = error {
            let key = FailureKey {
                kind: "task".to_owned(),
                name: name.to_owned(),
                error: normalize_error(&error),
            };
            guard.failures.record(key, None);
        }
    }

    /// Records, for a task whose start was scheduled (open model, pacing wait times), the time
    /// from its intended start to its end: the latency a user would have felt, coordinated
    /// omission included (wrk2's correction).
    pub fn latency(&self, shard: usize, name: &str, micros: u64) {
        self.lock(shard)
            .tally
            .tasks
            .entry(LATENCY_KIND, name)
            .record(micros, true, 0);
    }

    /// Whether the request limit stopped the trial.
    pub fn limit_reached(&self) -> bool {
        self.limit
            .is_some_and(|limit| self.sent.load(Ordering::Relaxed) >= limit)
    }

    /// Counts an iteration that was due while no user was free to start it.
    pub fn drop_iteration(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Open model: iterations due while no user was free, so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Counts one check (`User::check`): a pass or a fail that does not end the task.
    pub fn check(&self, shard: usize, name: &str, pass: bool) {
        self.check_in(&mut self.lock(shard).tally, name, pass);
    }

    #[inline]
    fn check_in(&self, shard: &mut Tally, name: &str, pass: bool) {
        if let Some(ratio) = shard.checks.get_mut(name) {
            ratio.record(pass);
            return;
        }
        let name = self.check_name(name);
        shard.checks.entry(name, Ratio::default).record(pass);
    }

    /// The name a check is counted under: its own, cut to [`MAX_CHECK_NAME`], while the trial
    /// has room for it; [`OTHER_CHECKS`] beyond.
    fn check_name<'n>(&self, name: &'n str) -> &'n str {
        // A check is a label, like a tag: a longer name is cut (a body pasted into it would
        // otherwise be kept, once per distinct name, up to the cap).
        let name = bounded(name);
        if self.admitted(&self.check_names, name) {
            name
        } else {
            OTHER_CHECKS
        }
    }

    /// Whether `name` is in `set`, or was let in now while the set had room.
    fn admitted(&self, set: &Mutex<FxHashSet<Box<str>>>, name: &str) -> bool {
        let mut names = set.lock().unwrap_or_else(PoisonError::into_inner);
        if names.contains(name) {
            return true;
        }
        if names.len() < self.max_names {
            names.insert(name.into());
            return true;
        }
        false
    }

    /// Adds `n` to the counter `name`.
    pub fn counter(&self, shard: usize, name: &str, n: u64) {
        let mut guard = self.lock(shard);
        let counter = guard.tally.metrics.counters.entry(name, || 0);
        *counter = counter.saturating_add(n);
    }

    /// Sets the gauge `name` to `value`.
    pub fn gauge(&self, shard: usize, name: &str, value: f64) {
        let set = GaugeReading::new(value, unix_micros());
        let mut locked = self.lock(shard);
        let guard = &mut locked.tally;
        match guard.metrics.gauges.get_mut(name) {
            // Within a shard the order is known: the value set now is the last, whatever the
            // clock says (two sets in one microsecond, or a clock stepped back).
            Some(gauge) => {
                gauge.extend(&set);
                gauge.value = value;
                gauge.at_unix_us = gauge.at_unix_us.max(set.at_unix_us);
            }
            None => {
                guard.metrics.gauges.entry(name, || set);
            }
        }
    }

    /// Counts one sample of the rate `name`.
    pub fn rate(&self, shard: usize, name: &str, hit: bool) {
        self.lock(shard)
            .tally
            .metrics
            .rates
            .entry(name, Ratio::default)
            .record(hit);
    }

    /// Records `value` (µs when `time`) into the trend `name`.
    pub fn trend(&self, shard: usize, name: &str, time: bool, value: u64) {
        self.lock(shard)
            .tally
            .metrics
            .trends
            .entry(name, || TrendEntry {
                time,
                entry: super::Entry::default(),
            })
            .entry
            .record(value, true, 0);
    }

    /// Takes what every shard gathered since the last call, leaving them empty.
    pub fn take(&self) -> Tally {
        let mut merged = Tally::default();
        for index in 0..self.shards.len() {
            let (taken, marked) = {
                let mut shard = self.lock(index);
                (
                    std::mem::take(&mut shard.tally),
                    std::mem::take(&mut shard.marked),
                )
            };
            merged.extend(&taken);
            marked.fold_into(&mut merged);
        }
        merged
    }
}

mod marked;
#[cfg(test)]
mod tests;

/// The longest check name kept, in bytes (as a tag's key or value); longer ones are cut at a
/// character boundary.
pub const MAX_CHECK_NAME: usize = 128;

fn bounded(name: &str) -> &str {
    if name.len() <= MAX_CHECK_NAME {
        return name;
    }
    let mut end = MAX_CHECK_NAME;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}
