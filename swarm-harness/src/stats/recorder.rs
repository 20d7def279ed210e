//! The hot path: users record into one of several shards, each behind its own mutex, so users
//! on different worker threads rarely meet and no lock is shared by all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{EntryTable, FailureKey, FailureSample, Failures};

/// What one shard has gathered since the collector last took it.
#[derive(Debug, Default, Clone)]
pub struct Shard {
    pub requests: EntryTable,
    pub tasks: EntryTable,
    pub failures: Failures,
}

/// The kind of multi-request flows (`User::transaction`); they are reported, but not added into
/// the request total, which would count their requests twice and mix flow times into request
/// percentiles.
pub const TRANSACTION_KIND: &str = "transaction";

/// The kind under which task latencies from the intended start are kept beside the tasks.
pub const LATENCY_KIND: &str = "latency";

impl Shard {
    /// All requests together (Locust's `Aggregated`), transactions left out.
    pub fn request_total(&self) -> super::Entry {
        self.requests
            .aggregated_where(|kind| kind != TRANSACTION_KIND)
    }

    pub fn extend(&mut self, other: &Shard) {
        self.requests.extend(&other.requests);
        self.tasks.extend(&other.tasks);
        self.failures.extend(&other.failures);
    }
}

/// One observation of a request (or of any measured operation).
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub micros: u64,
    pub content_bytes: u64,
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
}

impl Recorder {
    /// A recorder with `shards` shards (at least one) and an optional request limit.
    pub fn new(shards: usize, limit: Option<u64>) -> Self {
        Recorder {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            sent: AtomicU64::new(0),
            limit,
            dropped: AtomicU64::new(0),
        }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
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
        self.lock(shard)
            .requests
            .entry(sample.kind, sample.name)
            .record(sample.micros, true, sample.content_bytes);
    }

    /// Records a failed request together with its failure group.
    pub fn failure(
        &self,
        shard: usize,
        sample: Sample<'_>,
        error: String,
        response: Option<FailureSample>,
    ) {
        let key = FailureKey {
            kind: sample.kind.to_owned(),
            name: sample.name.to_owned(),
            error,
        };
        let mut guard = self.lock(shard);
        guard.requests.entry(sample.kind, sample.name).record(
            sample.micros,
            false,
            sample.content_bytes,
        );
        guard.failures.record(key, response);
    }

    /// Records one task execution; a failed task also becomes a failure group of kind `task`.
    pub fn task(&self, shard: usize, name: &str, micros: u64, error: Option<String>) {
        let mut guard = self.lock(shard);
        guard
            .tasks
            .entry("task", name)
            .record(micros, error.is_none(), 0);
        if let Some(error) = error {
            let key = FailureKey {
                kind: "task".to_owned(),
                name: name.to_owned(),
                error,
            };
            guard.failures.record(key, None);
        }
    }

    /// Records, for a task whose start was scheduled (open model, pacing wait times), the time
    /// from its intended start to its end: the latency a user would have felt, coordinated
    /// omission included (wrk2's correction).
    pub fn latency(&self, shard: usize, name: &str, micros: u64) {
        self.lock(shard)
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

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Takes what every shard gathered since the last call, leaving them empty.
    pub fn take(&self) -> Shard {
        let mut merged = Shard::default();
        for index in 0..self.shards.len() {
            let taken = std::mem::take(&mut *self.lock(index));
            merged.extend(&taken);
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_merges_shards_and_empties_them() {
        let recorder = Recorder::new(4, None);
        for shard in 0..8 {
            let sample = Sample {
                kind: "GET",
                name: "/x",
                micros: 100 + shard as u64,
                content_bytes: 3,
            };
            recorder.success(shard, sample);
        }
        let sample = Sample {
            kind: "GET",
            name: "/x",
            micros: 7,
            content_bytes: 0,
        };
        recorder.failure(1, sample, "HTTP 500".into(), None);
        recorder.task(2, "browse", 900, None);
        let taken = recorder.take();
        let entry = taken.requests.aggregated();
        assert_eq!(
            (entry.count, entry.failures, entry.content_bytes),
            (9, 1, 24)
        );
        assert_eq!(taken.tasks.aggregated().count, 1);
        assert_eq!(taken.failures.sorted()[0].1.occurrences, 1);
        assert!(recorder.take().requests.is_empty());
    }

    #[test]
    fn request_limit_is_exact() {
        let recorder = Recorder::new(1, Some(3));
        let granted = (0..10).filter(|_| recorder.reserve_request()).count();
        assert_eq!(granted, 3);
    }
}
